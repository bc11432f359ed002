import net from 'node:net';
import { makeDestination } from '../core/index.js';
import type { Destination } from '../core/index.js';
import { compilePolicy } from './compile.js';
import type { CompiledEndpoint } from './endpoint.js';
import { generalisePaths } from './generalise.js';
import { parsePolicy, formatPolicyError } from './load.js';
import { policyNameFor } from './remedy.js';
import { applyPlan } from './advisor-apply.js';

/**
 * The policy advisor: refusals (or, in learning mode, would-be refusals) in, the smallest change
 * to the policy file that admits them out. It plans against the policy as it is now (a refusal
 * the file has since fixed is skipped), never undoes a deny rule, and checks its own result: the
 * new file must validate and admit every request it was planned for, or nothing is proposed.
 */
export interface Observed {
  code: string;
  host: string;
  port: number;
  /** Known for refused requests; absent for a refused CONNECT. */
  method?: string;
  path?: string;
  /** For ssrf_denied: the address the host resolved to. */
  address?: string;
}

/** What to change in the file. Endpoints are located by their policy key and index. */
export interface Plan {
  newEndpoints: Array<{ key: string; host: string; port: number; rules: Array<{ method: string; path: string }>; encodedSlash: boolean }>;
  addRules: Array<{ key: string; index: number; label: string; policy: string; rules: Array<{ method: string; path: string }> }>;
  addAllowedIps: Array<{ key: string; index: number; label: string; policy: string; cidrs: string[] }>;
  encodedSlash: Array<{ key: string; index: number; label: string; policy: string }>;
  /** Refusals the advisor will not turn into policy, each with the reason. */
  notes: string[];
}

export interface Advice {
  before: string;
  after: string;
  /** One line per change, for the user. */
  changes: string[];
  notes: string[];
}

const ADVISED = new Set(['policy_denied', 'l7_denied', 'ssrf_denied', 'path_invalid']);
const NEVER = ['127.0.0.0/8', '169.254.0.0/16', '0.0.0.0/8', '224.0.0.0/4', '::1/128', 'fe80::/10', '::/128', 'ff00::/8'];

function covers(cidrs: readonly string[], address: string): boolean {
  const list = new net.BlockList();
  for (const cidr of cidrs) {
    const [base = '', bits] = cidr.split('/');
    const type = net.isIPv6(base) ? 'ipv6' : 'ipv4';
    if (net.isIP(base)) list.addSubnet(base, Number(bits ?? (type === 'ipv6' ? 128 : 32)), type);
  }
  return list.check(address, net.isIPv6(address) ? 'ipv6' : 'ipv4');
}

function locate(endpoints: readonly CompiledEndpoint[], dest: Destination): CompiledEndpoint[] {
  return endpoints.filter((ep) => ep.hostMatches(dest) && ep.portMatches(dest.port));
}

export function planChanges(text: string, file: string, observed: readonly Observed[]): Plan {
  const parsed = parsePolicy(text, file);
  if (!parsed.policy) throw new Error(`the current policy is invalid; fix it first:\n${parsed.errors.map(formatPolicyError).join('\n')}`);
  const compiled = compilePolicy(parsed.policy);
  const plan: Plan = { newEndpoints: [], addRules: [], addAllowedIps: [], encodedSlash: [], notes: [] };
  const hosts = new Map<string, { host: string; port: number; requests: Array<{ method: string; path: string }> }>();
  const rules = new Map<string, { ep: CompiledEndpoint; requests: Array<{ method: string; path: string }> }>();
  const ips = new Map<string, { ep: CompiledEndpoint; cidrs: Set<string> }>();
  const slash = new Map<string, CompiledEndpoint>();
  const note = (text: string) => {
    if (!plan.notes.includes(text)) plan.notes.push(text);
  };

  for (const o of observed) {
    if (!ADVISED.has(o.code)) continue;
    let dest: Destination;
    try {
      dest = makeDestination(o.host, o.port);
    } catch {
      continue;
    }
    const request = o.method !== undefined && o.path !== undefined ? { method: o.method, path: o.path } : undefined;
    if (o.code === 'ssrf_denied') {
      if (!o.address || !net.isIP(o.address)) continue;
      if (covers(NEVER, o.address)) {
        note(`${o.host} resolved to ${o.address}, which Sluice never dials whatever the policy says; if it is a service you run, start Sluice with --resolve ${o.host}=${o.address}`);
        continue;
      }
      const cidr = `${o.address}/${net.isIPv6(o.address) ? 128 : 32}`;
      // Endpoints that overlap must agree on allowed_ips, so every one that matches gets it.
      for (const ep of locate(compiled.endpoints, dest)) {
        if (covers(ep.allowedIps, o.address)) continue;
        const key = `${ep.key}#${ep.index}`;
        const entry = ips.get(key) ?? { ep, cidrs: new Set<string>() };
        entry.cidrs.add(cidr);
        ips.set(key, entry);
      }
      continue;
    }
    if (compiled.decideConnect(dest).action === 'deny') {
      const key = dest.authority;
      const entry = hosts.get(key) ?? { host: dest.host, port: dest.port, requests: [] };
      if (request) entry.requests.push(request);
      hosts.set(key, entry);
      continue;
    }
    if (!request) continue; // the host is allowed now
    const decision = compiled.decideRequest(dest, request.method, request.path, '');
    if (decision.body) {
      // The body decided (GraphQL, JSON-RPC, MCP), and the log keeps no bodies: say so, never guess.
      note(`${request.method} ${o.host}${request.path} was refused for its ${decision.body.kind} body; the advisor cannot see bodies, so it proposes no rule: the fix under the refusal in \`sluice logs --denied\` names the rule to add`);
      continue;
    }
    if (decision.action === 'allow' && !decision.audited) continue;
    const candidates = locate(compiled.endpoints, dest).filter((ep) => ep.inspect);
    const first = candidates[0];
    if (!first) continue;
    if (decision.code === 'path_invalid') {
      if (/allow_encoded_slash/.test(decision.reason)) slash.set(`${first.key}#${first.index}`, first);
      else note(`${request.method} ${o.host}${request.path}: ${decision.reason} (not a policy question)`);
      continue;
    }
    if (decision.code !== 'l7_denied') continue;
    if (decision.rule?.includes(' deny ')) {
      note(`${request.method} ${o.host}${request.path} is refused by the deny rule ${decision.rule} of network policy ${decision.policy}; the advisor never undoes a deny rule`);
      continue;
    }
    const key = `${first.key}#${first.index}`;
    const entry = rules.get(key) ?? { ep: first, requests: [] };
    entry.requests.push({ method: request.method, path: decision.path ?? request.path });
    rules.set(key, entry);
  }

  for (const { host, port, requests } of hosts.values()) {
    plan.newEndpoints.push({ key: policyNameFor(host), host, port, rules: generaliseRequests(requests), encodedSlash: requests.some((r) => /%2F/i.test(r.path)) });
  }
  for (const { ep, requests } of rules.values()) {
    plan.addRules.push({ key: ep.key, index: ep.index, label: ep.label, policy: ep.policy, rules: generaliseRequests(requests) });
  }
  for (const { ep, cidrs } of ips.values()) plan.addAllowedIps.push({ key: ep.key, index: ep.index, label: ep.label, policy: ep.policy, cidrs: [...cidrs].sort() });
  for (const ep of slash.values()) plan.encodedSlash.push({ key: ep.key, index: ep.index, label: ep.label, policy: ep.policy });
  return plan;
}

/** Rules per method; a GET rule admits HEAD, so HEAD paths a GET rule covers need none. */
export function generaliseRequests(requests: ReadonlyArray<{ method: string; path: string }>): Array<{ method: string; path: string }> {
  const byMethod = new Map<string, string[]>();
  for (const r of requests) byMethod.set(r.method, [...(byMethod.get(r.method) ?? []), r.path]);
  const get = byMethod.get('GET');
  const head = byMethod.get('HEAD');
  if (get && head) {
    byMethod.set('GET', [...get, ...head]);
    byMethod.delete('HEAD');
  }
  const out: Array<{ method: string; path: string }> = [];
  for (const method of [...byMethod.keys()].sort()) for (const path of generalisePaths(byMethod.get(method)!)) out.push({ method, path });
  return out;
}

/** Plans, applies and checks: the advice for one policy file and a set of refusals. */
export function advise(text: string, file: string, observed: readonly Observed[]): Advice {
  const plan = planChanges(text, file, observed);
  const { after, changes } = applyPlan(text, plan);
  if (after === text) return { before: text, after, changes: [], notes: plan.notes };
  const checked = parsePolicy(after, file);
  if (!checked.policy) throw new Error(`the advisor produced an invalid policy (a bug; nothing was written):\n${checked.errors.map(formatPolicyError).join('\n')}`);
  // The change must admit what it was planned for; a gap is a bug, and nothing is proposed.
  const replan = planChanges(after, file, observed);
  const left = replan.newEndpoints.length + replan.addRules.length + replan.addAllowedIps.length + replan.encodedSlash.length;
  if (left > 0) throw new Error(`the advisor's change would not admit every request it was planned for (a bug; nothing was written): ${JSON.stringify(replan)}`);
  return { before: text, after, changes, notes: plan.notes };
}
