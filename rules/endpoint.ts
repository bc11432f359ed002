import type { Destination } from '../core/index.js';
import { explainHost, hostMatches, parseHostPattern } from './host-pattern.js';
import type { HostPattern } from './host-pattern.js';
import { parseCidr } from './cidr.js';
import { presetMatcher, restMatcher } from './request-matcher.js';
import type { RequestMatcher } from './request-matcher.js';
import { endpointPathSelector } from './endpoint-path.js';
import type { EndpointPathSelector } from './endpoint-path.js';
import { compileGraphqlRules } from './graphql.js';
import type { GraphqlRules } from './graphql.js';
import { compileJsonRpcRules } from './jsonrpc.js';
import type { JsonRpcRules } from './jsonrpc.js';
import type { Protocol } from './l7-schema.js';
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
  /** `host:port`, `host:{80,443}` or `*:443` (hostless), with the canonical host and the endpoint path. */
  readonly label: string;
  /** Undefined for a hostless endpoint (any host whose addresses fall in `allowed_ips`). */
  readonly pattern: HostPattern | undefined;
  readonly ports: readonly number[];
  readonly protocol: Protocol | undefined;
  /** Tunnel raw, never intercept: `tls: skip`, `protocol: tcp` or `protocol: sql`. */
  readonly raw: boolean;
  /** Normalised `addr/prefix` CIDRs. */
  readonly allowedIps: readonly string[];
  /** An L7 protocol: every request (or message) is judged by the rules below. */
  readonly inspect: boolean;
  readonly audit: boolean;
  readonly allowEncodedSlash: boolean;
  readonly dlp: 'block' | 'redact' | 'off' | undefined;
  /** The endpoint `path` selector (always present; empty matches every path). */
  readonly selector: EndpointPathSelector;
  /** REST and WebSocket-upgrade rules (presets expanded), with method/path/query. */
  readonly allows: readonly RequestMatcher[];
  readonly denies: readonly RequestMatcher[];
  /** WebSocket text-message rules (`WEBSOCKET_TEXT` or `*`), judged on the upgrade's path and query. */
  readonly textAllows: readonly RequestMatcher[];
  readonly textDenies: readonly RequestMatcher[];
  readonly graphql: GraphqlRules | undefined;
  readonly jsonRpc: JsonRpcRules | undefined;
  /** An exact host name or address the user declared (OpenShell lets it resolve privately). */
  readonly exactHost: boolean;
  hostMatches(dest: Destination): boolean;
  portMatches(port: number): boolean;
  explainHost(dest: Destination): string;
  explainPort(port: number): string;
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

const WEBSOCKET_PRESETS = {
  'read-only': [['GET', '**']],
  'read-write': [['GET', '**'], ['WEBSOCKET_TEXT', '**']],
  full: [['*', '**']],
} as const;

export function compileEndpoint(policy: string, ep: Endpoint, audit: boolean, at: { key: string; index: number } = { key: policy, index: 0 }): CompiledEndpoint {
  const pattern = ep.host ? parseHostPattern(ep.host) : undefined;
  const ports = ep.ports ?? (ep.port !== undefined ? [ep.port] : []);
  const portText = ports.length === 1 ? String(ports[0]) : `{${ports.join(',')}}`;
  // access/rules without protocol: OpenShell ignores them; enforcing them as REST fails closed.
  const protocol = ep.protocol ?? (ep.access !== undefined || ep.rules !== undefined ? 'rest' : undefined);
  const inspect = protocol === 'rest' || protocol === 'websocket' || protocol === 'graphql' || protocol === 'json-rpc' || protocol === 'mcp';
  const httpRules = protocol === 'rest' || protocol === 'websocket';
  const transport = (r: { method?: string | undefined; path?: string | undefined }) => r.method !== undefined && r.path !== undefined;
  let allows: RequestMatcher[] = [];
  let textAllows: RequestMatcher[] = [];
  if (protocol === 'websocket' && ep.access !== undefined) {
    const rules = WEBSOCKET_PRESETS[ep.access].map(([method, path]) => restMatcher({ method, path }, 'allow'));
    allows = rules.filter((r) => !r.label.startsWith('WEBSOCKET_TEXT'));
    textAllows = rules.filter((r) => !r.label.startsWith('GET'));
  } else if (protocol === 'rest' && ep.access !== undefined) {
    allows = [presetMatcher(ep.access)];
  } else if (httpRules) {
    for (const { allow } of ep.rules ?? []) {
      if (!transport(allow)) continue;
      const m = restMatcher(allow, 'allow');
      const method = allow.method!.toUpperCase();
      if (method !== 'WEBSOCKET_TEXT') allows.push(m);
      if (protocol === 'websocket' && (method === 'WEBSOCKET_TEXT' || method === '*')) textAllows.push(m);
    }
  }
  const denyRules = httpRules ? (ep.deny_rules ?? []).filter(transport) : [];
  const denies = denyRules.filter((r) => r.method!.toUpperCase() !== 'WEBSOCKET_TEXT').map((r) => restMatcher(r, 'deny'));
  const textDenies = protocol === 'websocket' ? denyRules.filter((r) => ['WEBSOCKET_TEXT', '*'].includes(r.method!.toUpperCase())).map((r) => restMatcher(r, 'deny')) : [];
  const portSet = new Set(ports);
  const selector = endpointPathSelector(ep.path ?? '');
  const hostText = pattern ? formatHost(pattern.host) : '*';
  return {
    policy,
    key: at.key,
    index: at.index,
    source: ep,
    label: `${hostText}:${portText}${ep.path ? ` ${ep.path}` : ''}`,
    pattern,
    ports,
    protocol,
    // tls: skip on an inspected endpoint would let its rules go unchecked: intercept instead.
    raw: (ep.tls === 'skip' && !inspect) || protocol === 'tcp' || protocol === 'sql',
    allowedIps: (ep.allowed_ips ?? []).map(parseCidr),
    inspect,
    audit,
    allowEncodedSlash: ep.allow_encoded_slash ?? false,
    dlp: ep.dlp,
    selector,
    allows,
    denies,
    textAllows,
    textDenies,
    graphql: protocol === 'graphql' || protocol === 'websocket' ? compileGraphqlRules({ ...ep, protocol }) : undefined,
    jsonRpc: protocol === 'json-rpc' || protocol === 'mcp' ? compileJsonRpcRules(ep, protocol) : undefined,
    exactHost: pattern !== undefined && (pattern.kind === 'ip' || !pattern.wildcard),
    hostMatches: (dest) => (pattern ? hostMatches(pattern, dest.host, dest.ipVersion) : true),
    portMatches: (port) => portSet.has(port),
    explainHost: (dest) => (pattern ? explainHost(pattern, dest.host, dest.ipVersion) : `any host whose addresses fall in allowed_ips`),
    explainPort: (port) => (portSet.has(port) ? `port ${port} is allowed` : `port ${port} is not ${ports.length === 1 ? '' : 'one of '}${portText}`),
  };
}
