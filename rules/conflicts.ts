import { parseHostPattern, patternBucket, patternsOverlap } from './host-pattern.js';
import type { HostPattern } from './host-pattern.js';
import { parseCidr } from './cidr.js';

/**
 * OpenShell's endpoint ambiguity check (openshell-policy ambiguity.rs): endpoints that can match
 * the same host and port must agree on how the connection is made (raw TCP or not, tls: skip or
 * not, allowed_ips), and those that both shape the request pipeline (an L7 protocol, allowed_ips,
 * tls or a credential binding) and whose paths overlap at the same specificity must agree on how
 * requests are parsed and enforced. Otherwise the outcome would depend on which endpoint the
 * proxy happened to pick. Enforcement compares with OpenShell's default (unset = audit), so
 * exactly the policies OpenShell refuses are refused. Runs inside schema validation, so it must
 * tolerate values that failed other checks.
 */
export interface EndpointConflict {
  /** Path below `network_policies`. */
  path: (string | number)[];
  message: string;
}

interface Seen {
  where: string;
  path: (string | number)[];
  pattern: HostPattern | undefined;
  ports: number[];
  connection: Record<string, string>;
  pipeline: Record<string, string> | undefined;
  urlPath: string;
}

type Raw = Record<string, unknown>;

const str = (v: unknown) => (typeof v === 'string' ? v : '');

function describe(ep: Raw): Pick<Seen, 'connection' | 'pipeline'> | undefined {
  let ips: string[];
  try {
    ips = Array.isArray(ep.allowed_ips) ? ep.allowed_ips.map((c) => parseCidr(String(c))).sort() : [];
  } catch {
    return undefined;
  }
  const protocol = str(ep.protocol).toLowerCase();
  const connection = {
    'transparent tcp (protocol: tcp)': String(protocol === 'tcp'),
    tls: ep.tls === 'skip' ? 'skip' : 'auto',
    allowed_ips: `[${ips.join(', ')}]`,
  };
  const contributes = (protocol !== '' && protocol !== 'tcp') || ips.length > 0 || ep.tls !== undefined || ep.credential_binding !== undefined;
  if (!contributes) return { connection, pipeline: undefined };
  const mcp = (ep.mcp ?? {}) as Raw;
  const jsonRpc = (ep.json_rpc ?? {}) as Raw;
  const pipeline: Record<string, string> = {
    protocol: protocol === 'tcp' ? '' : protocol,
    enforcement: ep.enforcement === 'enforce' ? 'enforce' : 'audit',
    allow_encoded_slash: String(ep.allow_encoded_slash === true),
    websocket_credential_rewrite: String(ep.websocket_credential_rewrite === true),
    request_body_credential_rewrite: String(ep.request_body_credential_rewrite === true),
    credential_signing: str(ep.credential_signing),
    signing_service: str(ep.signing_service),
    signing_region: str(ep.signing_region),
    'credential_binding.provider': str((ep.credential_binding as Raw | undefined)?.provider),
  };
  if (protocol === 'graphql') pipeline.graphql_max_body_bytes = String(ep.graphql_max_body_bytes ?? 65536);
  if (protocol === 'json-rpc' || protocol === 'mcp') pipeline[`${protocol} max_body_bytes`] = String((protocol === 'mcp' ? mcp.max_body_bytes : jsonRpc.max_body_bytes) ?? 65536);
  if (protocol === 'mcp') pipeline['mcp.strict_tool_names'] = String(mcp.strict_tool_names ?? true);
  return { connection, pipeline };
}

function specificity(path: string): number {
  return path === '' ? 0 : [...path].filter((c) => c !== '*').length;
}

/** Conservative: two path selectors overlap unless their literal heads or tails cannot agree. */
function pathsOverlap(a: string, b: string): boolean {
  const any = (p: string) => p === '' || p === '**' || p === '/**';
  if (any(a) || any(b)) return true;
  const head = (p: string) => p.slice(0, p.search(/[*?[{]|$/));
  const tail = (p: string) => p.slice(Math.max(...['*', '?', ']', '}'].map((c) => p.lastIndexOf(c))) + 1);
  const [ha, hb, ta, tb] = [head(a), head(b), tail(a), tail(b)];
  if (!ha.startsWith(hb) && !hb.startsWith(ha)) return false;
  if (!ta.endsWith(tb) && !tb.endsWith(ta)) return false;
  return true;
}

function differences(a: Record<string, string>, b: Record<string, string>): string[] {
  return Object.keys(a)
    .filter((k) => k in b && a[k] !== b[k])
    .map((k) => `${k}=${a[k] || '""'} vs ${b[k] || '""'}`);
}

export function findEndpointConflicts(networkPolicies: unknown): EndpointConflict[] {
  const conflicts: EndpointConflict[] = [];
  if (typeof networkPolicies !== 'object' || networkPolicies === null) return conflicts;
  // Only patterns in the same bucket (address, or last two labels) can overlap; hostless
  // endpoints overlap every host. Keeps the check near-linear for large policies.
  const byBucket = new Map<string, Seen[]>();
  const hostless: Seen[] = [];
  const all: Seen[] = [];
  for (const [key, policy] of Object.entries(networkPolicies)) {
    const endpoints: unknown = (policy as { endpoints?: unknown } | null)?.endpoints;
    if (!Array.isArray(endpoints)) continue;
    endpoints.forEach((ep: unknown, index) => {
      if (typeof ep !== 'object' || ep === null) return;
      const e = ep as Raw;
      let pattern: HostPattern | undefined;
      try {
        pattern = str(e.host).trim() === '' ? undefined : parseHostPattern(String(e.host));
      } catch {
        return;
      }
      const info = describe(e);
      if (!info) return;
      const ports = Array.isArray(e.ports) ? e.ports.filter((p) => typeof p === 'number') : typeof e.port === 'number' ? [e.port] : [];
      const seen: Seen = { where: `${key}.endpoints[${index}] (${pattern?.host ?? '<any host>'})`, path: [key, 'endpoints', index], pattern, ports, ...info, urlPath: str(e.path) };
      const bucket = pattern ? patternBucket(pattern) : '';
      const candidates = pattern ? [...(byBucket.get(bucket) ?? []), ...hostless] : all;
      for (const other of candidates) {
        const shared = other.ports.filter((p) => ports.includes(p));
        if (shared.length === 0) continue;
        if (other.pattern && pattern && !patternsOverlap(other.pattern, pattern)) continue;
        const found = differences(other.connection, seen.connection);
        if (other.pipeline && seen.pipeline && pathsOverlap(other.urlPath, seen.urlPath) && specificity(other.urlPath) === specificity(seen.urlPath)) {
          found.push(...differences(other.pipeline, seen.pipeline));
        }
        if (found.length > 0) {
          conflicts.push({ path: seen.path, message: `endpoint overlaps ${other.where} on port(s) ${shared.join(',')} with conflicting settings: ${found.join('; ')}; overlapping endpoints must agree (OpenShell refuses this too)` });
        }
      }
      all.push(seen);
      if (pattern) {
        const list = byBucket.get(bucket);
        if (list) list.push(seen);
        else byBucket.set(bucket, [seen]);
      } else {
        hostless.push(seen);
      }
    });
  }
  return conflicts;
}
