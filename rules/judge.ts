import { allow, deny, isSluiceError } from '../core/index.js';
import type { Decision, Destination } from '../core/index.js';
import type { CompiledEndpoint } from './endpoint.js';
import { canonicalPath } from './path.js';
import { parseQuery } from './query.js';
import type { QueryParams } from './query.js';
import type { RequestFacts } from './request-matcher.js';
import { classifyGraphqlHttp } from './graphql.js';
import type { GraphqlInfo } from './graphql.js';
import { isReceiveStream, parseJsonRpcBody } from './jsonrpc.js';
import type { JsonRpcInfo } from './jsonrpc.js';
import type { MiddlewareSelector } from './middleware.js';
import type { ClientIdentity } from './binaries.js';
import { denyRuleRemedy, encodedSlashRemedy, endpointPathRemedy, middlewareRemedy, ruleRemedy } from './remedy.js';
import { bodyRemedy } from './body-remedy.js';

/**
 * One request against the endpoints that matched its host and port, in OpenShell's order
 * (sandbox-policy.rego allow_request/deny_request and l7/relay.rs): canonical path; the L7
 * endpoint whose `path` selects it (most specific wins) decides how the request is parsed; then
 * every endpoint whose `path` admits the request contributes its rules. A deny from any of them
 * wins, else an allow from any of them allows. The selected endpoint's enforcement decides
 * whether a refusal is enforced or only audited.
 */
export interface RequestExtras {
  identity?: ClientIdentity;
  hasBody?: boolean;
  accept?: string;
  contentType?: string;
  contentEncoding?: string;
}

export interface PendingBody {
  maxBytes: number;
  /** What the body is judged as, for messages. */
  kind: 'graphql' | 'json-rpc' | 'mcp';
  finish(body: Buffer): Decision;
}

export type RequestDecision = Decision & {
  path?: string;
  /** Set when the verdict depends on the request body: buffer at most maxBytes and finish. */
  body?: PendingBody;
  /** Set on an allowed request to a WebSocket endpoint: the upgrade's path and query, which frame rules use. */
  websocket?: { path: string; query: QueryParams };
};

interface Inspection {
  graphql?: GraphqlInfo;
  jsonRpc?: JsonRpcInfo;
}

function audited(decision: RequestDecision, audit: boolean): RequestDecision {
  return audit && decision.action === 'deny' ? { ...decision, action: 'allow', audited: true } : decision;
}

function withRemedy(remedy: ReturnType<typeof bodyRemedy>): { remedy?: NonNullable<ReturnType<typeof bodyRemedy>> } {
  return remedy ? { remedy } : {};
}

function verdict(eps: readonly CompiledEndpoint[], selected: CompiledEndpoint, facts: RequestFacts, seen: Inspection, dest: Destination): RequestDecision {
  const target = `${facts.method} ${facts.path} on ${dest.authority}`;
  const extra = { policy: selected.policy, path: facts.path };
  for (const ep of eps) {
    const hit = ep.jsonRpc ? undefined : ep.denies.find((d) => d.matches(facts));
    if (hit) return deny('l7_denied', `deny rule ${hit.label} of network policy ${ep.policy} forbids ${target}`, { ...extra, policy: ep.policy, rule: `${ep.label} deny ${hit.label}`, remedy: denyRuleRemedy(ep, hit.label) });
    if (seen.graphql && ep.graphql?.active) {
      const v = ep.graphql.judge(seen.graphql);
      if (v.denied) return deny('l7_denied', `${v.reason}: ${target}`, { ...extra, policy: ep.policy, rule: ep.label, ...withRemedy(bodyRemedy(ep, { graphql: seen.graphql }, v.reason)) });
    }
    if (seen.jsonRpc && ep.jsonRpc && facts.method.toUpperCase() === 'POST') {
      const v = ep.jsonRpc.judge(seen.jsonRpc);
      if (v.denied) return deny('l7_denied', `${v.reason}: ${target}`, { ...extra, policy: ep.policy, rule: ep.label, ...withRemedy(bodyRemedy(ep, { jsonRpc: seen.jsonRpc }, v.reason)) });
    }
  }
  for (const ep of eps) {
    const hit = ep.jsonRpc ? undefined : ep.allows.find((a) => a.matches(facts));
    if (hit) {
      // A rule that names this exact method and path is what lets a non-model request out on an LLM host.
      const named = namingRule(eps, facts);
      const by = named ?? { ep, rule: hit };
      return allow(`network policy ${by.ep.policy} allows ${target} (rule ${by.rule.label})`, { ...extra, policy: by.ep.policy, rule: `${by.ep.label} ${by.rule.label}`, ...(named ? { exact: true } : {}) });
    }
    if (seen.graphql && ep.graphql?.active) {
      const v = ep.graphql.judge(seen.graphql);
      if (v.allowed) return allow(`network policy ${ep.policy} allows ${target} (${v.reason})`, { ...extra, policy: ep.policy, rule: ep.label });
    }
    const rpc = seen.jsonRpc && ep.jsonRpc && (facts.method.toUpperCase() === 'POST' || seen.jsonRpc.receiveStream) ? ep.jsonRpc.judge(seen.jsonRpc) : undefined;
    if (rpc?.allowed) return allow(`network policy ${ep.policy} allows ${target} (${rpc.reason})`, { ...extra, policy: ep.policy, rule: ep.label });
  }
  const why = seen.graphql && selected.graphql ? selected.graphql.judge(seen.graphql).reason : seen.jsonRpc && selected.jsonRpc ? selected.jsonRpc.judge(seen.jsonRpc).reason : undefined;
  const allowed = eps.flatMap((ep) => ep.allows.map((a) => a.label));
  if (why) return deny('l7_denied', `${why}: ${target}`, { ...extra, rule: selected.label, ...withRemedy(bodyRemedy(selected, seen, why)) });
  return deny('l7_denied', `no rule of network policy ${selected.policy} allows ${target} (allowed: ${allowed.join('; ') || 'nothing'})`, { ...extra, rule: selected.label, remedy: ruleRemedy(selected, facts.method, facts.path) });
}

/** The first allow rule that names this exact method and path, without a list of them all per request. */
function namingRule(eps: readonly CompiledEndpoint[], facts: RequestFacts): { ep: CompiledEndpoint; rule: CompiledEndpoint['allows'][number] } | undefined {
  for (const ep of eps) {
    if (ep.jsonRpc) continue;
    for (const rule of ep.allows) if (rule.names(facts)) return { ep, rule };
  }
  return undefined;
}

export function judgeRequest(eps: readonly CompiledEndpoint[], dest: Destination, method: string, rawPath: string, query: string, extras: RequestExtras, middlewares: readonly MiddlewareSelector[]): RequestDecision {
  const inspected = eps.filter((ep) => ep.inspect);
  const first = inspected[0] ?? eps[0]!;
  let path: string;
  let params: QueryParams;
  try {
    path = canonicalPath(rawPath, { allowEncodedSlash: eps.some((ep) => ep.allowEncodedSlash) });
    params = parseQuery(query);
  } catch (err) {
    if (!isSluiceError(err)) throw err;
    // Never audited: a request we cannot read safely is not a policy question.
    return deny('path_invalid', err.message, { policy: first.policy, rule: first.label });
  }
  const afterMiddleware = (decision: RequestDecision): RequestDecision => {
    if (decision.action !== 'allow') return decision;
    const blocking = middlewares.find((m) => m.kind === 'unsupported' && m.failClosed);
    if (!blocking) return decision;
    return deny('middleware_unavailable', `network_middlewares.${blocking.name} (${blocking.middleware}) selects ${dest.host} with on_error: fail_closed, and Sluice cannot run that middleware`, { policy: decision.policy, rule: `middleware ${blocking.name}`, path, remedy: middlewareRemedy(blocking.name, dest.host) });
  };
  if (inspected.length === 0) {
    return afterMiddleware(allow(`network policy ${first.policy} allows ${method} ${path} on ${dest.authority} (endpoint ${first.label} does not inspect requests)`, { policy: first.policy, rule: first.label, path }));
  }
  let selected: CompiledEndpoint | undefined;
  for (const ep of inspected) {
    if (ep.selector.selects(path) && (!selected || ep.selector.specificity > selected.selector.specificity)) selected = ep;
  }
  if (!selected) {
    return audited(deny('l7_denied', `no L7 endpoint path matched ${method} ${path} on ${dest.authority} (endpoint paths: ${inspected.map((ep) => ep.selector.text || '**').join(', ')})`, { policy: first.policy, rule: first.label, path, remedy: endpointPathRemedy(first, dest, method, path) }), first.audit);
  }
  if (!selected.allowEncodedSlash && path.includes('%2F')) {
    return deny('path_invalid', `invalid request path "${path.slice(0, 200)}": encoded slash %2F is not allowed on endpoint ${selected.label} (allow_encoded_slash is off)`, { policy: selected.policy, rule: selected.label, remedy: encodedSlashRemedy(selected) });
  }
  const relevant = eps.filter((ep) => ep.selector.admits(path));
  const facts: RequestFacts = { method, path, query: params };
  const finishWith = (seen: Inspection): Decision => {
    const decision = audited(verdict(relevant, selected!, facts, seen, dest), selected!.audit);
    return afterMiddleware(selected!.protocol === 'websocket' && decision.action === 'allow' ? { ...decision, websocket: { path, query: params } } as RequestDecision : decision);
  };
  const upper = method.toUpperCase();
  const encoding = (extras.contentEncoding ?? '').trim().toLowerCase();
  if (selected.graphql && selected.protocol === 'graphql') {
    if (encoding !== '' && encoding !== 'identity') return finishWith({ graphql: { operations: [], error: `GraphQL request content-encoding ${JSON.stringify(encoding)} is not supported` } });
    if ((extras.contentType ?? '').toLowerCase().startsWith('multipart/')) return finishWith({ graphql: { operations: [], error: 'GraphQL multipart requests are not supported' } });
    if (upper === 'POST') {
      return pending(path, selected.graphql.maxBody, 'graphql', (body) => finishWith({ graphql: classifyGraphqlHttp(method, params, body) }));
    }
    return finishWith({ graphql: classifyGraphqlHttp(method, params, undefined) });
  }
  if (selected.jsonRpc) {
    if (isReceiveStream(method, extras.hasBody ?? false, extras.accept)) return finishWith({ jsonRpc: { calls: [], batch: false, hasResponse: false, receiveStream: true } });
    if (upper === 'POST') {
      if (encoding !== '' && encoding !== 'identity') return finishWith({ jsonRpc: { calls: [], batch: false, hasResponse: false, receiveStream: false, error: `content-encoding ${JSON.stringify(encoding)} is not supported` } });
      const rules = selected.jsonRpc;
      return pending(path, rules.maxBody, rules.mcp ? 'mcp' : 'json-rpc', (body) => finishWith({ jsonRpc: parseJsonRpcBody(body, rules.mcp, rules.strictToolNames) }));
    }
    return finishWith({});
  }
  return finishWith({});
}

function pending(path: string, maxBytes: number, kind: PendingBody['kind'], finish: (body: Buffer) => Decision): RequestDecision {
  return { action: 'allow', code: 'allowed', reason: `the ${kind} request body decides`, path, body: { maxBytes, kind, finish } };
}
