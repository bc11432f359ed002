import type { Destination } from '../core/index.js';
import { explainHost, hostMatches, parseHostPattern } from './host-pattern.js';
import type { HostPattern } from './host-pattern.js';
import { parseCidr } from './cidr.js';
import { presetMatcher, restMatcher } from './request-matcher.js';
import type { RequestMatcher } from './request-matcher.js';
import type { Endpoint } from './schema.js';

/** One endpoint of one network policy, compiled once at load. */
export interface CompiledEndpoint {
  /** Display name of the network policy (its `name`, else its key). */
  readonly policy: string;
  /** Where it is in the file: the policy's key in network_policies and the endpoint's index. */
  readonly key: string;
  readonly index: number;
  /** The endpoint as written (after defaults), for remedies and the policy advisor. */
  readonly source: Endpoint;
  /** `host:port` or `host:{80,443}`, with the canonical host. */
  readonly label: string;
  readonly pattern: HostPattern;
  readonly ports: readonly number[];
  /** Tunnel raw, never intercept: `tls: skip`/`passthrough` or `protocol: tcp`. */
  readonly raw: boolean;
  /** Normalised `addr/prefix` CIDRs. */
  readonly allowedIps: readonly string[];
  /** `protocol: rest`: every request is checked against `allows`/`denies`. */
  readonly inspect: boolean;
  readonly audit: boolean;
  readonly allowEncodedSlash: boolean;
  readonly dlp: 'block' | 'redact' | 'off' | undefined;
  readonly allows: readonly RequestMatcher[];
  readonly denies: readonly RequestMatcher[];
  hostMatches(dest: Destination): boolean;
  portMatches(port: number): boolean;
  explainHost(dest: Destination): string;
  explainPort(port: number): string;
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export function compileEndpoint(policy: string, ep: Endpoint, at: { key: string; index: number } = { key: policy, index: 0 }): CompiledEndpoint {
  const pattern = parseHostPattern(ep.host);
  const ports = ep.ports ?? (ep.port !== undefined ? [ep.port] : []);
  const portText = ports.length === 1 ? String(ports[0]) : `{${ports.join(',')}}`;
  const inspect = ep.protocol === 'rest';
  const allows = !inspect ? [] : ep.access !== undefined ? [presetMatcher(ep.access)] : (ep.rules ?? []).map((r) => restMatcher(r.allow, 'allow'));
  const portSet = new Set(ports);
  return {
    policy,
    key: at.key,
    index: at.index,
    source: ep,
    label: `${formatHost(pattern.host)}:${portText}`,
    pattern,
    ports,
    raw: ep.tls === 'skip' || ep.tls === 'passthrough' || ep.protocol === 'tcp',
    allowedIps: (ep.allowed_ips ?? []).map(parseCidr),
    inspect,
    audit: ep.enforcement === 'audit',
    allowEncodedSlash: ep.allow_encoded_slash,
    dlp: ep.dlp,
    allows,
    denies: inspect ? (ep.deny_rules ?? []).map((r) => restMatcher(r, 'deny')) : [],
    hostMatches: (dest) => hostMatches(pattern, dest.host, dest.ipVersion),
    portMatches: (port) => portSet.has(port),
    explainHost: (dest) => explainHost(pattern, dest.host, dest.ipVersion),
    explainPort: (port) => (portSet.has(port) ? `port ${port} is allowed` : `port ${port} is not ${ports.length === 1 ? '' : 'one of '}${portText}`),
  };
}
