import { SluiceError, allow, decisionError, deny } from '../core/index.js';
import type { ConnectContext, Decision, Destination, HostClass, RequestContext, Stage } from '../core/index.js';
import { UNATTRIBUTED } from './binaries.js';
import type { ClientIdentity } from './binaries.js';
import { WITHOUT_REMEDY } from './compile.js';
import type { CompiledPolicy } from './compile.js';
import { denialGuidance } from './guidance.js';
import type { PendingBody, RequestDecision, RequestExtras } from './judge.js';
import type { QueryParams } from './query.js';

/**
 * The network policy as a stage: host/port at CONNECT, then L7 on every request — also on
 * keep-alive connections opened under an older policy, since the current policy is read on each
 * call. It reads the request's classification (made at ingress) and never re-reads the path.
 *
 * On other hosts its verdict is final. On LLM hosts it decides only whether the host and port may
 * be reached at all and what the network policy says about sending this request to the provider
 * (`ctx.network`); the privacy router, next, decides the call. An exact L7 rule (method and path
 * named, no wildcard) is the one network rule that lets an unrecognised request out there.
 */
export interface PolicyStageOptions {
  current(): CompiledPolicy;
}

const ROUTER_RULE = 'privacy router';

function routerDecision(dest: Destination): Decision {
  return allow(`${dest.host} is an LLM host; the privacy router decides each call`, { rule: ROUTER_RULE, endpoint: { tlsSkip: false, allowedIps: [], inspect: true, allowEncodedSlash: false } });
}

/**
 * May a connection to `dest` open? An LLM provider host needs no network policy on port 443
 * (the router decides every call), and any other port only with one, as for any host: plain
 * HTTP to api.openai.com:8080 is refused exactly like CONNECT to it. inference.local is
 * reachable on any port, since nothing is ever sent to it. LLM hosts are always intercepted.
 */
export function decideConnectFor(policy: CompiledPolicy, dest: Destination, hostClass: HostClass, identity?: ClientIdentity): Decision {
  // a refusal the router's decision replaces needs no remedy: writing one cost two YAML renderings per routed call
  const routed = hostClass !== 'other' && (hostClass === 'virtual' || dest.port === 443);
  const decision = policy.decideConnect(dest, identity, routed ? WITHOUT_REMEDY : undefined);
  if (hostClass === 'other') return decision;
  if (decision.action === 'deny') return routed ? routerDecision(dest) : decision;
  return decision.endpoint?.tlsSkip ? { ...decision, endpoint: { ...decision.endpoint, tlsSkip: false } } : decision;
}

/** A policy refusal, with OpenShell's denial fields (rule_missing, next_steps, agent_guidance). */
function refusal(decision: Decision, target: Parameters<typeof denialGuidance>[1]): SluiceError {
  const err = decisionError(decision);
  if (decision.code === 'policy_denied' || decision.code === 'l7_denied') Object.assign(err.context, denialGuidance(decision, target));
  return err;
}

/**
 * The program behind the connection, when it matters: the client is a sandbox Sluice runs and some
 * policy names `binaries`. A connection Sluice cannot attribute is matched as no program at all
 * (only policies without `binaries` admit it), and its refusal says why.
 */
async function clientIdentity(policy: CompiledPolicy, ctx: Pick<ConnectContext, 'clientProcess'>): Promise<{ identity: ClientIdentity; unknown?: string }> {
  if (!policy.scopesByBinary || !ctx.clientProcess) return { identity: undefined };
  const who = await ctx.clientProcess();
  return 'identity' in who ? { identity: who.identity } : { identity: UNATTRIBUTED, unknown: who.error };
}

function explained(decision: Decision, unknown: string | undefined): Decision {
  return decision.action === 'deny' && unknown ? { ...decision, reason: `${decision.reason}; Sluice could not tell which program opened this connection: ${unknown}` } : decision;
}

/** What the request's verdict may depend on besides its method and path; only the fields it has (one object, no spread per field). */
function requestExtras(hasBody: boolean, identity: ClientIdentity, accept: string | undefined, contentType: string | undefined, contentEncoding: string | undefined): RequestExtras {
  const extras: RequestExtras = { hasBody };
  if (identity !== undefined) extras.identity = identity;
  if (accept !== undefined) extras.accept = accept;
  if (contentType !== undefined) extras.contentType = contentType;
  if (contentEncoding !== undefined) extras.contentEncoding = contentEncoding;
  return extras;
}

const PENDING = Symbol('policy: body-dependent verdict');
const WEBSOCKET = Symbol('policy: the allowed WebSocket upgrade');

/** The relay's per-message hook (core/stage.ts WebSocketMessage once the relay lands). */
interface ClientMessage {
  direction: 'out' | 'in';
  binary: boolean;
  data: Buffer;
}

/**
 * The request's verdict with its connection's endpoint options: the decision the request is
 * audited by. Of a verdict and a connect decision the policy kept (both frozen), made once and
 * kept with them, so that requests alike share one decision object.
 */
const networkDecisions = new WeakMap<RequestDecision, WeakMap<Decision, Decision>>();
function networkDecision(verdict: RequestDecision, connect: Decision): Decision {
  const kept = Object.isFrozen(verdict) && Object.isFrozen(connect);
  const byConnect = kept ? networkDecisions.get(verdict) : undefined;
  const known = byConnect?.get(connect);
  if (known) return known;
  const { body: _body, ...rest } = verdict;
  const network: Decision = { ...rest, endpoint: verdict.endpoint ?? connect.endpoint };
  if (!kept) return network;
  Object.freeze(network);
  if (byConnect) byConnect.set(connect, network);
  else networkDecisions.set(verdict, new WeakMap([[connect, network]]));
  return network;
}

/** No program to attribute: the policy scopes nothing by program, or the client is not a sandbox. */
const UNSCOPED: { identity: ClientIdentity; unknown?: string } = { identity: undefined };

/** The request's verdict on its headers, once the program behind it is known (or does not matter). */
function judgeHeaders(ctx: RequestContext, policy: CompiledPolicy, { identity, unknown }: { identity: ClientIdentity; unknown?: string }): void {
  const c = ctx.classification;
  const connect = explained(decideConnectFor(policy, ctx.dest, c.hostClass, identity), unknown);
  if (connect.action === 'deny') {
    ctx.network = ctx.decision = connect;
    throw refusal(connect, { host: ctx.dest.host, port: ctx.dest.port, method: 'CONNECT' });
  }
  if (c.pathError) {
    // Never audited: a path Sluice cannot read safely is not a policy question.
    ctx.network = ctx.decision = deny('path_invalid', c.pathError.message, { ...(connect.policy ? { policy: connect.policy } : {}), ...(connect.rule ? { rule: connect.rule } : {}) });
    throw decisionError(ctx.decision);
  }
  if (c.hostClass === 'virtual') {
    ctx.network = deny('policy_denied', `${ctx.dest.host} is answered by the privacy router alone; nothing is ever sent to it`, { rule: ROUTER_RULE });
    return;
  }
  const named = connect.rule !== ROUTER_RULE;
  const header = (name: string) => {
    const v = ctx.headers[name];
    return Array.isArray(v) ? v.join(', ') : v;
  };
  const verdict: RequestDecision = named
    ? policy.decideRequest(ctx.dest, ctx.method, c.path, ctx.query, requestExtras(ctx.hasBody, identity, header('accept'), header('content-type'), header('content-encoding')))
    : allow(`no network policy names ${ctx.dest.authority}; only an inference route lets a call out to it`, { rule: ROUTER_RULE });
  const body = verdict.body;
  if (verdict.path !== undefined && verdict.path !== c.path) {
    // The policy re-canonicalises what it is given: a different answer means the two readings disagree.
    throw new SluiceError('SLUICE_INTERNAL', `the policy judged ${verdict.path} but the request is for ${c.path}`, { reason: 'two canonical forms of one path disagree; Sluice refuses rather than guess' });
  }
  const network = networkDecision(verdict, connect);
  ctx.network = network;
  if (c.hostClass === 'other') {
    ctx.decision = network;
    if (network.action === 'deny') throw refusal(network, { host: ctx.dest.host, port: ctx.dest.port, method: ctx.method, path: c.path, scheme: ctx.scheme });
  } else if (c.api === undefined && network.action === 'allow' && network.exact === true) {
    // An unrecognised request on an LLM host goes out as it is only when a rule names it exactly.
    ctx.decision = network;
  }
  if (network.action !== 'allow') return;
  if (verdict.websocket) ctx.state.set(WEBSOCKET, { ...verdict.websocket, identity });
  if (body) {
    // The operations, methods or tools in the body decide: read it (capped) before anything leaves.
    ctx.state.set(PENDING, body);
    ctx.bufferRequestBody = Math.min(ctx.bufferRequestBody ?? Infinity, body.maxBytes);
  }
}

export function createPolicyStage(opts: PolicyStageOptions): Stage {
  const stage: Stage & { onWebSocketMessage(ctx: Parameters<NonNullable<Stage['onRequestHeaders']>>[0], message: ClientMessage): void } = {
    name: 'policy',
    async onConnect(ctx) {
      const policy = opts.current();
      const { identity, unknown } = await clientIdentity(policy, ctx);
      const decision = explained(decideConnectFor(policy, ctx.dest, ctx.hostClass, identity), unknown);
      ctx.decision = decision;
      if (decision.action === 'deny') throw refusal(decision, { host: ctx.dest.host, port: ctx.dest.port, method: 'CONNECT' });
    },
    // Not async unless the program behind the connection must be looked up: the exchange awaits only a promise.
    onRequestHeaders(ctx) {
      const policy = opts.current();
      if (!policy.scopesByBinary || !ctx.clientProcess) return judgeHeaders(ctx, policy, UNSCOPED);
      return clientIdentity(policy, ctx).then((who) => judgeHeaders(ctx, policy, who));
    },
    onRequestBody(ctx, buffered) {
      const pending = ctx.state.get(PENDING) as PendingBody | undefined;
      if (!pending) return;
      const decision = pending.finish(buffered);
      const network: Decision = { ...decision, endpoint: ctx.network?.endpoint };
      // The body's verdict replaces the one made on the headers wherever that one decided.
      if (ctx.decision === ctx.network) ctx.decision = network;
      ctx.network = network;
      if (decision.action === 'deny') throw refusal(decision, { host: ctx.dest.host, port: ctx.dest.port, method: ctx.method, path: decision.path ?? ctx.classification.path, scheme: ctx.scheme });
    },
    // Each client text message of an allowed upgrade to a WebSocket endpoint, judged by the current
    // policy (OpenShell's WEBSOCKET_TEXT rules and GraphQL-over-WebSocket operations); a refusal
    // makes the relay close the connection. Binary messages are relayed unjudged, as in OpenShell.
    onWebSocketMessage(ctx, message) {
      const upgrade = ctx.state.get(WEBSOCKET) as { path: string; query: QueryParams; identity: ClientIdentity } | undefined;
      if (!upgrade || message.direction !== 'out' || message.binary) return;
      const conn = { dest: ctx.dest, path: upgrade.path, query: upgrade.query, ...(upgrade.identity !== undefined ? { identity: upgrade.identity } : {}) };
      const decision = opts.current().websocket.decideMessage(conn, message.data.toString('utf8'));
      if (decision.action === 'deny') throw decisionError(decision);
    },
  };
  return stage;
}
