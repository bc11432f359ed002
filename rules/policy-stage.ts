import { SluiceError, decisionError } from '../core/index.js';
import type { Decision, Stage } from '../core/index.js';
import type { CompiledPolicy } from './compile.js';
import { denialGuidance } from './guidance.js';
import type { PendingBody } from './judge.js';
import type { QueryParams } from './query.js';

/**
 * The network policy as a stage: host/port at CONNECT (and for each plain request), then L7
 * on every request — also on keep-alive connections opened under an older policy, since the
 * current policy is read on each call. LLM calls on LLM hosts are left to the privacy router.
 */
export interface PolicyStageOptions {
  current(): CompiledPolicy;
  /** Hosts the privacy router answers for (api.openai.com, inference.local …). */
  isLlmHost(host: string): boolean;
  /** True when this method+path on an LLM host is an LLM call the router decides. */
  isLlmCall(host: string, method: string, path: string): boolean;
  /** Virtual hosts need no network policy entry at all. */
  isVirtualHost(host: string): boolean;
}

/** A policy refusal, with OpenShell's denial fields (rule_missing, next_steps, agent_guidance). */
function refusal(decision: Decision, target: Parameters<typeof denialGuidance>[1]): SluiceError {
  const err = decisionError(decision);
  if (decision.code === 'policy_denied' || decision.code === 'l7_denied') Object.assign(err.context, denialGuidance(decision, target));
  return err;
}

const PENDING = Symbol('policy: body-dependent verdict');
const WEBSOCKET = Symbol('policy: the allowed WebSocket upgrade');

/** The relay's per-message hook (core/stage.ts WebSocketMessage once the relay lands). */
interface ClientMessage {
  direction: 'out' | 'in';
  binary: boolean;
  data: Buffer;
}

const ROUTER_DECISION = (host: string): Decision => ({ action: 'allow', code: 'allowed', reason: `${host} is an LLM host; the privacy router decides each call`, rule: 'privacy router', endpoint: { tlsSkip: false, allowedIps: [], inspect: true, allowEncodedSlash: false } });

export function createPolicyStage(opts: PolicyStageOptions): Stage {
  const stage: Stage & { onWebSocketMessage(ctx: Parameters<NonNullable<Stage['onRequestHeaders']>>[0], message: ClientMessage): void } = {
    name: 'policy',
    onConnect(ctx) {
      const policy = opts.current();
      let decision = policy.decideConnect(ctx.dest);
      if (decision.action === 'deny' && (opts.isVirtualHost(ctx.dest.host) || (opts.isLlmHost(ctx.dest.host) && ctx.dest.port === 443))) {
        decision = ROUTER_DECISION(ctx.dest.host);
      }
      // An LLM host is always intercepted, even if a policy says tls: skip, so the router sees the calls.
      if (decision.action === 'allow' && opts.isLlmHost(ctx.dest.host) && decision.endpoint?.tlsSkip) {
        decision = { ...decision, endpoint: { ...decision.endpoint, tlsSkip: false } };
      }
      ctx.decision = decision;
      if (decision.action === 'deny') throw refusal(decision, { host: ctx.dest.host, port: ctx.dest.port, method: 'CONNECT' });
    },
    onRequestHeaders(ctx) {
      if (opts.isLlmHost(ctx.dest.host) && opts.isLlmCall(ctx.dest.host, ctx.method, ctx.path)) {
        ctx.decision = ROUTER_DECISION(ctx.dest.host);
        return;
      }
      const policy = opts.current();
      const connect = policy.decideConnect(ctx.dest);
      if (connect.action === 'deny') {
        if (opts.isVirtualHost(ctx.dest.host)) {
          throw new SluiceError('SLUICE_L7_DENIED', `${ctx.method} ${ctx.path} is not an LLM API call Sluice answers on ${ctx.dest.host}`, { reason: 'only LLM API paths are served on this virtual host' });
        }
        if (!opts.isLlmHost(ctx.dest.host)) {
          ctx.decision = connect;
          throw refusal(connect, { host: ctx.dest.host, port: ctx.dest.port, method: 'CONNECT' });
        }
      }
      const header = (name: string) => {
        const v = ctx.headers[name];
        return Array.isArray(v) ? v.join(', ') : v;
      };
      const { body, ...decision } = policy.decideRequest(ctx.dest, ctx.method, ctx.path, ctx.query, {
        hasBody: ctx.hasBody,
        ...(header('accept') !== undefined ? { accept: header('accept')! } : {}),
        ...(header('content-type') !== undefined ? { contentType: header('content-type')! } : {}),
        ...(header('content-encoding') !== undefined ? { contentEncoding: header('content-encoding')! } : {}),
      });
      ctx.decision = { ...decision, endpoint: decision.endpoint ?? connect.endpoint };
      const target = { host: ctx.dest.host, port: ctx.dest.port, method: ctx.method, path: decision.path ?? ctx.path, scheme: ctx.scheme };
      if (decision.action === 'deny') throw refusal(decision, target);
      if (decision.websocket) ctx.state.set(WEBSOCKET, decision.websocket);
      if (body) {
        // The operations, methods or tools in the body decide: read it (capped) before anything leaves.
        ctx.state.set(PENDING, body);
        ctx.bufferRequestBody = Math.min(ctx.bufferRequestBody ?? Infinity, body.maxBytes);
      }
    },
    onRequestBody(ctx, buffered) {
      const pending = ctx.state.get(PENDING) as PendingBody | undefined;
      if (!pending) return;
      const decision = pending.finish(buffered);
      ctx.decision = { ...decision, endpoint: ctx.decision?.endpoint };
      if (decision.action === 'deny') throw refusal(decision, { host: ctx.dest.host, port: ctx.dest.port, method: ctx.method, path: decision.path ?? ctx.path, scheme: ctx.scheme });
    },
    // Each client text message of an allowed upgrade to a WebSocket endpoint, judged by the current
    // policy (OpenShell's WEBSOCKET_TEXT rules and GraphQL-over-WebSocket operations); a refusal
    // makes the relay close the connection. Binary messages are relayed unjudged, as in OpenShell.
    onWebSocketMessage(ctx, message) {
      const upgrade = ctx.state.get(WEBSOCKET) as { path: string; query: QueryParams } | undefined;
      if (!upgrade || message.direction !== 'out' || message.binary) return;
      const decision = opts.current().websocket.decideMessage({ dest: ctx.dest, path: upgrade.path, query: upgrade.query }, message.data.toString('utf8'));
      if (decision.action === 'deny') throw decisionError(decision);
    },
  };
  return stage;
}
