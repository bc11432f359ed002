import type { Destination } from '../core/index.js';
import type { CredentialEndpointConfig } from './schema.js';

/** Where a provider's credential may go, compiled once per load. */
export interface CompiledEndpoint {
  host: RegExp;
  ports: readonly number[];
  /** `allow_cleartext: true`: the credential may travel over plain HTTP. */
  allowCleartext: boolean;
  path?: RegExp;
  label: string;
}

export interface EndpointTarget {
  dest: Destination;
  path: string;
  scheme: 'http' | 'https';
}

const DEFAULT_PORTS = [443] as const;

export function compileEndpoint(config: CredentialEndpointConfig): CompiledEndpoint {
  let host = config.host.toLowerCase();
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  while (host.endsWith('.')) host = host.slice(0, -1);
  const given = [...(config.port !== undefined ? [config.port] : []), ...(config.ports ?? [])];
  const ports = given.length > 0 ? given : DEFAULT_PORTS;
  const compiled: CompiledEndpoint = {
    host: globToRegExp(host, '.'),
    ports,
    allowCleartext: config.allow_cleartext === true,
    label: `${config.allow_cleartext ? 'http(s)' : 'https'}://${config.host}:${ports.join(',')}${config.path ?? ''}`,
  };
  if (config.path !== undefined) compiled.path = globToRegExp(config.path, '/');
  return compiled;
}

export function endpointMatches(endpoint: CompiledEndpoint, target: EndpointTarget): boolean {
  // A real key never crosses the network in clear text unless the endpoint says it may.
  if (target.scheme !== 'https' && !endpoint.allowCleartext) return false;
  if (!endpoint.ports.includes(target.dest.port)) return false;
  if (!endpoint.host.test(target.dest.host)) return false;
  return endpoint.path === undefined || endpoint.path.test(target.path);
}

export function anyEndpointMatches(endpoints: readonly CompiledEndpoint[], target: EndpointTarget): boolean {
  return endpoints.some((e) => endpointMatches(e, target));
}

/** `**` crosses separators, `*` stays within one label/segment, `?` is one character. */
function globToRegExp(glob: string, separator: '.' | '/'): RegExp {
  const sep = separator === '.' ? '\\.' : '/';
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      out += '.*';
      i++;
    } else if (c === '*') {
      out += `[^${sep}]*`;
    } else if (c === '?') {
      out += `[^${sep}]`;
    } else {
      out += c.replace(/[.+^${}()|[\]\\/-]/g, '\\$&');
    }
  }
  return new RegExp(`^${out}$`, separator === '.' ? 'i' : '');
}
