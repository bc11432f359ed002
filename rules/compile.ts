import { allow, deny, isSluiceError } from '../core/index.js';
import type { Decision, Destination, EndpointOptions } from '../core/index.js';
import { compileEndpoint } from './endpoint.js';
import { literalTail } from './host-pattern.js';
import type { CompiledEndpoint } from './endpoint.js';
import { canonicalPath } from './path.js';
import type { RequestFacts, RequestMatcher } from './request-matcher.js';
import type { Policy } from './schema.js';
import { explainUrl } from './explain.js';
import { denyRuleRemedy, encodedSlashRemedy, newEndpointRemedy, ruleRemedy } from './remedy.js';

export type RequestDecision = Decision & { path?: string };

export interface CompiledPolicy {
  readonly policy: Policy;
  /** Every compiled endpoint, in file order (for `sluice explain` and listings). */
  readonly endpoints: readonly CompiledEndpoint[];
  /** Host and port only, at CONNECT time (or before a plain-HTTP request). */
  decideConnect(dest: Destination): Decision;
  /**
   * One request: canonicalises `rawPath` (the origin-form path without its query) per
   * endpoint, then applies deny_rules (which win) and allow rules. `path` is the canonical path
   * that was judged; forward that, not the raw one, so the upstream sees what was checked.
   */
  decideRequest(dest: Destination, method: string, rawPath: string, query: string): RequestDecision;
  /** The decision for METHOD URL, the rule that decided and the rules that nearly matched. */
  explain(method: string, url: string): { decision: Decision; lines: string[] };
}

export interface CompileOptions {
  /**
   * `audit` is learning mode (`--enforcement audit`): every refusal of the network policy, hosts
   * no endpoint names included, becomes an allow that is logged, so that `sluice policy suggest`
   * can turn what an agent did into policy. Paths that cannot be read safely are still refused.
   */
  enforcement?: 'enforce' | 'audit';
}

/** Turns a deny into an allow that is logged, for endpoints with `enforcement: audit`. */
function audited(decision: RequestDecision, audit: boolean): RequestDecision {
  return audit ? { ...decision, action: 'allow', audited: true } : decision;
}

/** What a host no endpoint names gets in learning mode: intercepted, so its requests are seen. */
const LEARNING_ENDPOINT: EndpointOptions = { tlsSkip: false, allowedIps: [], inspect: true, allowEncodedSlash: false };

const DLP_ORDER = ['off', 'redact', 'block'] as const;

function strictestDlp(settings: ReadonlyArray<'block' | 'redact' | 'off' | undefined>): { dlp?: 'block' | 'redact' | 'off' } {
  const set = settings.filter((d): d is 'block' | 'redact' | 'off' => d !== undefined);
  if (set.length === 0) return {};
  return { dlp: set.reduce((a, b) => (DLP_ORDER.indexOf(b) > DLP_ORDER.indexOf(a) ? b : a)) };
}

/** Method and path for a remedy, when the path reads cleanly; an unreadable one gets a host-level remedy. */
function requestFacts(method: string, rawPath: string): { method: string; path: string } | undefined {
  try {
    return { method, path: canonicalPath(rawPath, { allowEncodedSlash: false }) };
  } catch {
    return undefined;
  }
}

export function compilePolicy(policy: Policy, opts: CompileOptions = {}): CompiledPolicy {
  const learning = opts.enforcement === 'audit';
  const endpoints: CompiledEndpoint[] = [];
  for (const [key, np] of Object.entries(policy.network_policies)) {
    np.endpoints.forEach((ep, index) => endpoints.push(compileEndpoint(np.name ?? key, ep, { key, index })));
  }
  // Exact names and addresses are looked up directly, wildcards by their literal tail (probed with
  // each suffix of the destination), so a decision costs about the same with ten endpoints or ten thousand.
  const exact = new Map<string, CompiledEndpoint[]>();
  const wildcards = new Map<string, CompiledEndpoint[]>();
  const add = (map: Map<string, CompiledEndpoint[]>, key: string, ep: CompiledEndpoint) => {
    const list = map.get(key);
    if (list) list.push(ep);
    else map.set(key, [ep]);
  };
  for (const ep of endpoints) {
    if (ep.pattern.kind === 'name' && ep.pattern.wildcard) add(wildcards, literalTail(ep.pattern), ep);
    else add(exact, ep.pattern.host, ep);
  }

  const matching = (dest: Destination): CompiledEndpoint[] => {
    const found: CompiledEndpoint[] = [];
    for (const ep of exact.get(dest.host) ?? []) if (ep.portMatches(dest.port) && ep.hostMatches(dest)) found.push(ep);
    if (dest.ipVersion !== 0 || wildcards.size === 0) return found;
    for (let dot = dest.host.indexOf('.'); dot >= 0; dot = dest.host.indexOf('.', dot + 1)) {
      for (const ep of wildcards.get(dest.host.slice(dot + 1)) ?? []) {
        if (ep.portMatches(dest.port) && ep.hostMatches(dest)) found.push(ep);
      }
    }
    return found;
  };

  const noPolicy = (dest: Destination, request?: { method: string; path: string }): Decision => {
    const decision = deny('policy_denied', `no network policy allows ${dest.authority}`, { remedy: newEndpointRemedy(dest, request), ...(request ? { path: request.path } : {}) });
    return learning ? { ...decision, action: 'allow', audited: true, endpoint: LEARNING_ENDPOINT } : decision;
  };

  const decideConnect = (dest: Destination): Decision => {
    const eps = matching(dest);
    if (eps.length === 0) return noPolicy(dest);
    const first = eps[0]!;
    const endpoint: EndpointOptions = {
      // Intercept as soon as one matching endpoint wants to see requests.
      tlsSkip: eps.every((ep) => ep.raw),
      allowedIps: [...new Set(eps.flatMap((ep) => ep.allowedIps))],
      inspect: eps.some((ep) => ep.inspect),
      allowEncodedSlash: eps.some((ep) => ep.allowEncodedSlash),
      // Several endpoints may match: the strictest DLP setting among them applies.
      ...strictestDlp(eps.map((ep) => ep.dlp)),
    };
    return allow(`network policy ${first.policy} allows ${dest.authority} (endpoint ${first.label})`, {
      policy: first.policy,
      rule: first.label,
      endpoint,
    });
  };

  const decideRequest = (dest: Destination, method: string, rawPath: string, query: string): RequestDecision => {
    const eps = matching(dest);
    if (eps.length === 0) return noPolicy(dest, requestFacts(method, rawPath));
    // An endpoint without protocol adds no request access where another one inspects (OpenShell).
    const candidates = eps.some((ep) => ep.inspect) ? eps.filter((ep) => ep.inspect) : eps;
    const judged: Array<{ ep: CompiledEndpoint; req: RequestFacts }> = [];
    let pathError: Error | undefined;
    const params = new URLSearchParams(query);
    for (const ep of candidates) {
      try {
        const path = canonicalPath(rawPath, { allowEncodedSlash: ep.allowEncodedSlash });
        judged.push({ ep, req: { method, path, query: params } });
      } catch (err) {
        if (!isSluiceError(err)) throw err;
        pathError = err;
      }
    }
    if (judged.length === 0) {
      // Never audited: a path we cannot read safely is not a policy question.
      const first = candidates[0]!;
      const slash = /allow_encoded_slash/.test(pathError?.message ?? '');
      return deny('path_invalid', pathError?.message ?? 'invalid request path', { policy: first.policy, rule: first.label, ...(slash ? { remedy: encodedSlashRemedy(first) } : {}) });
    }
    const { ep: firstEp, req: firstReq } = judged[0]!;
    const path = firstReq.path;
    const target = `${method} ${path} on ${dest.authority}`;
    if (!firstEp.inspect) {
      return allow(`network policy ${firstEp.policy} allows ${target} (endpoint ${firstEp.label} does not inspect requests)`, {
        policy: firstEp.policy,
        rule: firstEp.label,
        path,
      });
    }
    for (const { ep, req } of judged) {
      const hit = ep.denies.find((d) => d.matches(req));
      if (hit) {
        const decision = deny('l7_denied', `deny rule ${hit.label} of network policy ${ep.policy} forbids ${target}`, {
          policy: ep.policy,
          rule: `${ep.label} deny ${hit.label}`,
          path: req.path,
          remedy: denyRuleRemedy(ep, hit.label),
        });
        return audited(decision, ep.audit || learning);
      }
    }
    for (const { ep, req } of judged) {
      const hit: RequestMatcher | undefined = ep.allows.find((a) => a.matches(req));
      if (hit) {
        const named = judged.flatMap((j) => j.ep.allows.filter((a) => a.names(j.req)).map((a) => ({ ep: j.ep, rule: a })))[0];
        const by = named ?? { ep, rule: hit };
        return allow(`network policy ${by.ep.policy} allows ${target} (rule ${by.rule.label})`, {
          policy: by.ep.policy,
          rule: `${by.ep.label} ${by.rule.label}`,
          path: req.path,
          ...(named ? { exact: true } : {}),
        });
      }
    }
    const allowed = judged.flatMap(({ ep }) => ep.allows.map((a) => a.label));
    const decision = deny('l7_denied', `no rule of network policy ${firstEp.policy} allows ${target} (allowed: ${allowed.join('; ')})`, {
      policy: firstEp.policy,
      rule: firstEp.label,
      path,
      remedy: ruleRemedy(firstEp, method, path),
    });
    return audited(decision, learning || judged.every(({ ep }) => ep.audit));
  };

  const compiled: CompiledPolicy = {
    policy,
    endpoints,
    decideConnect,
    decideRequest,
    explain: (method, url) => explainUrl(compiled, method, url),
  };
  return compiled;
}
