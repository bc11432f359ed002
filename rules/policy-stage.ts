import { SluiceError, decisionError } from '../core/index.js';
import type { Decision, Stage } from '../core/index.js';
import type { CompiledPolicy } from './compile.js';

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

const ROUTER_DECISION = (host: string): Decision => ({ action: 'allow', code: 'allowed', reason: `${host} is an LLM host; the privacy router decides each call`, rule: 'privacy router', endpoint: { tlsSkip: false, allowedIps: [], inspect: true, allowEncodedSlash: false } });

export function createPolicyStage(opts: PolicyStageOptions): Stage {
  return {
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
      if (decision.action === 'deny') throw decisionError(decision);
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
          throw decisionError(connect);
        }
      }
      const decision = policy.decideRequest(ctx.dest, ctx.method, ctx.path, ctx.query);
      ctx.decision = { ...decision, endpoint: decision.endpoint ?? connect.endpoint };
      if (decision.action === 'deny') throw decisionError(decision);
    },
  };
}
