import { LRUCache } from 'lru-cache';
import { allow, deny } from '../core/index.js';
import type { Decision, Destination, EndpointOptions } from '../core/index.js';
import { compileEndpoint } from './endpoint.js';
import type { CompiledEndpoint } from './endpoint.js';
import { literalTail, parseHostPattern, patternsOverlap } from './host-pattern.js';
import { compileMiddlewares } from './middleware.js';
import { UNATTRIBUTED, compileBinaries, describeIdentity } from './binaries.js';
import type { ClientIdentity } from './binaries.js';
import type { Policy } from './schema.js';
import { explainUrl } from './explain.js';
import { binariesRemedy, newEndpointRemedy } from './remedy.js';
import { canonicalPath } from './path.js';
import { judgeRequest } from './judge.js';
import type { RequestDecision, RequestExtras } from './judge.js';
import { createWebSocketPolicy } from './websocket.js';
import type { WebSocketPolicy } from './websocket.js';

export type { RequestDecision, RequestExtras } from './judge.js';

export interface CompiledPolicy {
  readonly policy: Policy;
  /** Every compiled endpoint, in file order (for `sluice explain` and listings). */
  readonly endpoints: readonly CompiledEndpoint[];
  /** True when some network policy names `binaries`: then a sandboxed client must be attributed. */
  readonly scopesByBinary: boolean;
  /**
   * Host and port only, at CONNECT time (or before a plain-HTTP request). `identity` is the
   * program behind the connection when the client is a sandbox Sluice runs.
   */
  decideConnect(dest: Destination, identity?: ClientIdentity, options?: ConnectOptions): Decision;
  /**
   * One request: canonicalises `rawPath` (the origin-form path without its query), selects the
   * L7 endpoint by its `path`, then applies deny rules (which win) and allow rules. `path` is the
   * canonical path that was judged; forward that, not the raw one. When the verdict depends on
   * the body (GraphQL POST, JSON-RPC, MCP), the decision carries `body` to finish it with.
   */
  decideRequest(dest: Destination, method: string, rawPath: string, query: string, extras?: RequestExtras): RequestDecision;
  /** Frame rules for a WebSocket connection whose upgrade this policy allowed. */
  readonly websocket: WebSocketPolicy;
  /** The decision for METHOD URL, the rule that decided and the rules that nearly matched. */
  explain(method: string, url: string): { decision: Decision; lines: string[] };
}

export interface ConnectOptions {
  /**
   * false: a refusal need not say how to fix it (the caller replaces or ignores it: the router's
   * hosts, a lookup of the endpoint's options), so no remedy is written for it. Learning mode's
   * allows keep theirs.
   */
  remedy?: boolean;
}

/** For callers that ask on every request: one object, not one allocated per call. */
export const WITHOUT_REMEDY: ConnectOptions = Object.freeze({ remedy: false });

export interface CompileOptions {
  /**
   * `audit` is learning mode (`--enforcement audit`): every refusal of the network policy, hosts
   * no endpoint names included, becomes an allow that is logged, so that `sluice policy suggest`
   * can turn what an agent did into policy. Paths that cannot be read safely are still refused.
   */
  enforcement?: 'enforce' | 'audit';
}

const DLP_ORDER = ['off', 'redact', 'block'] as const;
type Dlp = (typeof DLP_ORDER)[number];

function strictest(settings: ReadonlyArray<Dlp | undefined>): Dlp | undefined {
  const set = settings.filter((d): d is Dlp => d !== undefined);
  return set.length === 0 ? undefined : set.reduce((a, b) => (DLP_ORDER.indexOf(b) > DLP_ORDER.indexOf(a) ? b : a));
}

/** Destinations whose connect decision a compiled policy keeps (the least recently asked go first). */
const MAX_CONNECT_ANSWERS = 4096;

/** Requests whose verdict a compiled policy keeps (the least recently asked go first). */
const MAX_REQUEST_ANSWERS = 4096;

/** A header a verdict reads, in a request's memo key: absent and empty are not the same. */
function headerKey(value: string | undefined): string {
  return value === undefined ? '\u0000' : `=${value}`;
}

/** A decision and what it holds, frozen (nested objects included: endpoint, remedy, allowedIps). */
function frozen<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value;
  for (const member of Object.values(value)) frozen(member);
  return Object.freeze(value);
}

/** What a host no endpoint names gets in learning mode: intercepted, so its requests are seen. */
const LEARNING_ENDPOINT: EndpointOptions = { tlsSkip: false, allowedIps: [], inspect: true, allowEncodedSlash: false };

/** Method and path for a remedy, when the path reads cleanly; an unreadable one gets a host-level remedy. */
function requestFacts(method: string, rawPath: string): { method: string; path: string } | undefined {
  try {
    return { method, path: canonicalPath(rawPath, { allowEncodedSlash: false }) };
  } catch {
    return undefined;
  }
}

/**
 * Effective enforcement: explicit, else `audit` for SQL (OpenShell can only audit it) or where an
 * overlapping inspected endpoint says `audit` (OpenShell's default there, and what the file meant),
 * else Sluice's default `enforce`.
 */
function enforcements(policy: Policy): Map<object, boolean> {
  const all = Object.values(policy.network_policies).flatMap((np) => np.endpoints);
  const audits = all.filter((ep) => ep.enforcement === 'audit' && ep.protocol !== undefined);
  const ports = (ep: (typeof all)[number]) => ep.ports ?? (ep.port !== undefined ? [ep.port] : []);
  const out = new Map<object, boolean>();
  for (const ep of all) {
    if (ep.enforcement !== undefined) out.set(ep, ep.enforcement === 'audit');
    else if (ep.protocol === 'sql') out.set(ep, true);
    else {
      const overlaps = audits.some((o) => ports(o).some((p) => ports(ep).includes(p)) && (!o.host || !ep.host || patternsOverlap(parseHostPattern(o.host), parseHostPattern(ep.host))));
      out.set(ep, overlaps);
    }
  }
  return out;
}

export function compilePolicy(policy: Policy, opts: CompileOptions = {}): CompiledPolicy {
  const learning = opts.enforcement === 'audit';
  const audit = enforcements(policy);
  const endpoints: CompiledEndpoint[] = [];
  const binariesOf = new Map<CompiledEndpoint, ReturnType<typeof compileBinaries>>();
  for (const [key, np] of Object.entries(policy.network_policies)) {
    const binaries = compileBinaries(np.binaries);
    np.endpoints.forEach((ep, index) => {
      // Learning mode audits every endpoint's refusals, whatever the file says.
      const compiled = compileEndpoint(np.name || key, ep, learning || (audit.get(ep) ?? false), { key, index });
      endpoints.push(compiled);
      binariesOf.set(compiled, binaries);
    });
  }
  const middlewares = compileMiddlewares(policy.network_middlewares);
  // Exact names and addresses are looked up directly, wildcards by their literal tail (probed with
  // each suffix of the destination), so a decision costs about the same with ten endpoints or ten thousand.
  const exact = new Map<string, CompiledEndpoint[]>();
  const wildcards = new Map<string, CompiledEndpoint[]>();
  const hostless: CompiledEndpoint[] = [];
  const add = (map: Map<string, CompiledEndpoint[]>, key: string, ep: CompiledEndpoint) => {
    const list = map.get(key);
    if (list) list.push(ep);
    else map.set(key, [ep]);
  };
  for (const ep of endpoints) {
    if (!ep.pattern) hostless.push(ep);
    else if (ep.pattern.kind === 'name' && ep.pattern.wildcard) add(wildcards, literalTail(ep.pattern), ep);
    else add(exact, ep.pattern.host, ep);
  }

  const matching = (dest: Destination, identity: ClientIdentity, anyBinary = false): CompiledEndpoint[] => {
    const found: CompiledEndpoint[] = [];
    const take = (ep: CompiledEndpoint) => {
      if (ep.portMatches(dest.port) && ep.hostMatches(dest) && (anyBinary || binariesOf.get(ep)!.admits(identity))) found.push(ep);
    };
    for (const ep of exact.get(dest.host) ?? []) take(ep);
    if (dest.ipVersion === 0 && wildcards.size > 0) {
      for (let dot = dest.host.indexOf('.'); dot >= 0; dot = dest.host.indexOf('.', dot + 1)) {
        for (const ep of wildcards.get(dest.host.slice(dot + 1)) ?? []) take(ep);
      }
    }
    for (const ep of hostless) take(ep);
    return found;
  };

  // When policies do name the destination, but for other programs, the refusal says which ones;
  // learning mode learns hosts and requests, never which programs may use them, so that stays refused.
  const noPolicy = (dest: Destination, identity: ClientIdentity, request?: { method: string; path: string }, remedy = true): Decision => {
    const withRemedy = remedy || learning;
    const unnamed = (reason: string) => {
      const decision = deny('policy_denied', reason, { ...(withRemedy ? { remedy: newEndpointRemedy(dest, request) } : {}), ...(request ? { path: request.path } : {}) });
      return learning ? { ...decision, action: 'allow' as const, audited: true, endpoint: LEARNING_ENDPOINT } : decision;
    };
    if (identity === undefined) return unnamed(`no network policy allows ${dest.authority}`);
    const scoped = matching(dest, identity, true);
    const who = identity === UNATTRIBUTED ? 'a program Sluice could not identify' : describeIdentity(identity);
    if (scoped.length === 0) return unnamed(`no network policy allows ${dest.authority} (the connection is from ${who})`);
    const names = [...new Set(scoped.map((ep) => `${ep.policy} (binaries: ${binariesOf.get(ep)!.paths.join(', ')})`))];
    const first = scoped[0]!;
    return deny('policy_denied', `no network policy allows ${dest.authority} for ${who}: ${names.join('; ')} allow${names.length === 1 ? 's' : ''} it only for other programs`, {
      policy: first.policy,
      ...(withRemedy ? { remedy: binariesRemedy({ key: first.key, policy: first.policy }, identity === UNATTRIBUTED ? undefined : identity.exe) } : {}),
      ...(request ? { path: request.path } : {}),
    });
  };
  const selectedMiddlewares = (dest: Destination) => middlewares.filter((m) => m.matches(dest.host));

  // A request asks twice (its classification and the policy stage) what its connection was
  // allowed by: for a client no policy scopes by program, the answer depends on the destination
  // alone, so it is worked out once per destination for as long as this policy is in force.
  // Shared, so frozen: a caller that tried to change one would fail loudly, not change the next.
  // A tunnel's requests share its Destination object: looked up by it first, then by its fields.
  const connectAnswers = new LRUCache<string, Decision>({ max: MAX_CONNECT_ANSWERS });
  const byDestination = [new WeakMap<Destination, Decision>(), new WeakMap<Destination, Decision>()] as const;
  const decideConnect = (dest: Destination, identity?: ClientIdentity, options?: ConnectOptions): Decision => {
    if (identity !== undefined) return decideConnectNow(dest, identity, options);
    const remedy = options?.remedy === false ? 0 : 1;
    const seen = byDestination[remedy].get(dest);
    if (seen) return seen;
    // The authority names host and port (and so the IP version) at once.
    const key = `${remedy}${dest.authority}`;
    let decision = connectAnswers.get(key);
    if (!decision) {
      decision = frozen(decideConnectNow(dest, undefined, options));
      connectAnswers.set(key, decision);
    }
    byDestination[remedy].set(dest, decision);
    return decision;
  };
  const decideConnectNow = (dest: Destination, identity: ClientIdentity, options?: ConnectOptions): Decision => {
    const eps = matching(dest, identity);
    if (eps.length === 0) return noPolicy(dest, identity, undefined, options?.remedy ?? true);
    const first = eps[0]!;
    const redact = selectedMiddlewares(dest).some((m) => m.kind === 'redact');
    const dlp = strictest(eps.map((ep) => ep.dlp));
    const endpoint: EndpointOptions = {
      // Intercept as soon as one matching endpoint wants to see requests.
      tlsSkip: eps.every((ep) => ep.raw),
      allowedIps: [...new Set(eps.flatMap((ep) => ep.allowedIps))],
      inspect: eps.some((ep) => ep.inspect),
      allowEncodedSlash: eps.some((ep) => ep.allowEncodedSlash),
      exactHost: eps.some((ep) => ep.exactHost),
      // Several endpoints may match: the strictest DLP setting among them applies; an
      // openshell/regex middleware on the host asks for redaction at least.
      ...(dlp !== undefined || redact ? { dlp: redact ? (strictest([dlp, 'redact']) as Dlp) : dlp! } : {}),
    };
    return allow(`network policy ${first.policy} allows ${dest.authority} (endpoint ${first.label})`, { policy: first.policy, rule: first.label, endpoint });
  };

  // The same request (destination, method, path, query and the headers a verdict reads) gets the
  // same verdict while this policy is in force: kept, like the connect decisions, for clients no
  // policy scopes by program, unless the verdict waits for the body.
  const requestAnswers = new LRUCache<string, RequestDecision>({ max: MAX_REQUEST_ANSWERS });
  const decideRequest = (dest: Destination, method: string, rawPath: string, query: string, extras: RequestExtras = {}): RequestDecision => {
    if (extras.identity !== undefined) return decideRequestNow(dest, method, rawPath, query, extras);
    const key = `${dest.authority}\n${method}\n${rawPath}\n${query}\n${extras.hasBody === true ? 1 : extras.hasBody === false ? 0 : ''}\n${headerKey(extras.accept)}\n${headerKey(extras.contentType)}\n${headerKey(extras.contentEncoding)}`;
    const known = requestAnswers.get(key);
    if (known) return known;
    const decision = decideRequestNow(dest, method, rawPath, query, extras);
    if (decision.body) return decision;
    requestAnswers.set(key, frozen(decision));
    return decision;
  };
  const decideRequestNow = (dest: Destination, method: string, rawPath: string, query: string, extras: RequestExtras): RequestDecision => {
    const eps = matching(dest, extras.identity);
    if (eps.length === 0) return noPolicy(dest, extras.identity, requestFacts(method, rawPath));
    return judgeRequest(eps, dest, method, rawPath, query, extras, selectedMiddlewares(dest));
  };

  const compiled: CompiledPolicy = {
    policy,
    endpoints,
    scopesByBinary: [...binariesOf.values()].some((b) => b.paths.length > 0),
    decideConnect,
    decideRequest,
    websocket: createWebSocketPolicy((dest, identity) => matching(dest, identity)),
    explain: (method, url) => explainUrl(compiled, method, url),
  };
  return compiled;
}
