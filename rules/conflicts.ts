import { parseHostPattern, patternBucket, patternsOverlap } from './host-pattern.js';
import type { HostPattern } from './host-pattern.js';
import { parseCidr } from './cidr.js';

/**
 * Endpoints that can match the same host and port must agree on how the connection is handled
 * (raw tunnel or interception, allowed_ips), and inspected ones on enforcement, as OpenShell
 * requires: otherwise the outcome would depend on which endpoint the proxy happened to pick.
 * Runs inside schema validation, so it must tolerate values that failed other checks.
 */
export interface EndpointConflict {
  /** Path below `network_policies`. */
  path: (string | number)[];
  message: string;
}

interface Seen {
  where: string;
  pattern: HostPattern;
  ports: number[];
  raw: boolean;
  allowedIps: string;
  inspected: boolean;
  enforcement: string;
}

function describe(ep: Record<string, unknown>): { raw: boolean; allowedIps: string; inspected: boolean; enforcement: string } | undefined {
  try {
    const ips = Array.isArray(ep.allowed_ips) ? ep.allowed_ips.map((c) => parseCidr(String(c))).sort() : [];
    return {
      raw: ep.tls === 'skip' || ep.tls === 'passthrough' || ep.protocol === 'tcp',
      allowedIps: ips.join(', '),
      inspected: ep.protocol === 'rest',
      enforcement: String(ep.enforcement ?? 'enforce'),
    };
  } catch {
    return undefined;
  }
}

export function findEndpointConflicts(networkPolicies: unknown): EndpointConflict[] {
  const conflicts: EndpointConflict[] = [];
  if (typeof networkPolicies !== 'object' || networkPolicies === null) return conflicts;
  // Only patterns in the same bucket (address, or last two labels) can overlap, and two exact
  // names only when they are equal: keep the check near-linear for large policies.
  const wildByBucket = new Map<string, Seen[]>();
  const exactByBucket = new Map<string, Seen[]>();
  const exactByHost = new Map<string, Seen[]>();
  const list = (map: Map<string, Seen[]>, key: string): Seen[] => {
    let found = map.get(key);
    if (!found) map.set(key, (found = []));
    return found;
  };
  for (const [key, policy] of Object.entries(networkPolicies)) {
    const endpoints: unknown = (policy as { endpoints?: unknown } | null)?.endpoints;
    if (!Array.isArray(endpoints)) continue;
    endpoints.forEach((ep: unknown, index) => {
      if (typeof ep !== 'object' || ep === null) return;
      const e = ep as Record<string, unknown>;
      let pattern: HostPattern;
      try {
        pattern = parseHostPattern(String(e.host));
      } catch {
        return;
      }
      const ports = Array.isArray(e.ports) ? e.ports.filter((p) => typeof p === 'number') : typeof e.port === 'number' ? [e.port] : [];
      const info = describe(e);
      if (!info) return;
      const where = `${key}.endpoints[${index}] (${pattern.host})`;
      const bucket = patternBucket(pattern);
      const wild = pattern.kind === 'name' && pattern.wildcard;
      const exact = wild ? list(exactByBucket, bucket) : list(exactByHost, pattern.host);
      for (const other of [...exact, ...list(wildByBucket, bucket)]) {
        if (!other.ports.some((p) => ports.includes(p)) || !patternsOverlap(other.pattern, pattern)) continue;
        const path = [key, 'endpoints', index];
        if (other.raw !== info.raw) {
          conflicts.push({ path: [...path, 'tls'], message: `endpoint overlaps ${other.where} on the same port but one tunnels raw (tls: skip or protocol: tcp) and the other is intercepted; they must agree` });
        } else if (other.allowedIps !== info.allowedIps) {
          conflicts.push({ path: [...path, 'allowed_ips'], message: `endpoint overlaps ${other.where} on the same port with different allowed_ips ([${info.allowedIps}] vs [${other.allowedIps}]); they must agree` });
        } else if (other.inspected && info.inspected && other.enforcement !== info.enforcement) {
          conflicts.push({ path: [...path, 'enforcement'], message: `endpoint overlaps ${other.where} on the same port with enforcement ${info.enforcement} vs ${other.enforcement}; they must agree` });
        }
      }
      const seen: Seen = { where, pattern, ports, ...info };
      if (wild) {
        list(wildByBucket, bucket).push(seen);
      } else {
        list(exactByHost, pattern.host).push(seen);
        list(exactByBucket, bucket).push(seen);
      }
    });
  }
  return conflicts;
}
