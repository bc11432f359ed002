import net from 'node:net';
import { SluiceError } from './errors.js';

/**
 * Where a connection or request is going, canonicalised once at ingress.
 * `host` is lowercase ASCII (IDNA), without a trailing dot; IPv4 literals in any spelling
 * (2130706433, 0177.0.0.1, 0x7f.1, 127.1) become dotted quads; IPv6 literals are compressed
 * and kept without brackets. `authority` is the form used in logs and keys: host:port or [v6]:port.
 */
export interface Destination {
  host: string;
  port: number;
  /** 4 or 6 when host is an IP literal, 0 for a name. */
  ipVersion: 0 | 4 | 6;
  authority: string;
}

const MAX_HOST_LENGTH = 253;

export function canonicalHost(raw: string): { host: string; ipVersion: 0 | 4 | 6 } {
  let input = raw.trim();
  if (input.length === 0) throw bad(raw, 'empty host');
  if (input.startsWith('[') && input.endsWith(']')) input = input.slice(1, -1);
  if (input.includes(':')) {
    // Only an IPv6 literal may contain a colon; zone IDs (%eth0) are refused.
    if (net.isIPv6(input) && !input.includes('%')) {
      const parsed = new URL(`http://[${input}]/`).hostname;
      return { host: parsed.slice(1, -1), ipVersion: 6 };
    }
    throw bad(raw, 'not a valid IPv6 literal');
  }
  let url: URL;
  try {
    url = new URL(`http://${input}/`);
  } catch {
    throw bad(raw, 'not a valid host name');
  }
  // The WHATWG parser would silently accept userinfo or a port smuggled into the host.
  if (url.username || url.password || url.port || url.pathname !== '/') throw bad(raw, 'not a valid host name');
  let host = url.hostname;
  while (host.endsWith('.')) host = host.slice(0, -1);
  if (host.length === 0 || host.length > MAX_HOST_LENGTH) throw bad(raw, 'host name length out of range');
  if (net.isIPv4(host)) return { host, ipVersion: 4 };
  if (host.split('.').some((label) => label.length === 0 || label.length > 63)) throw bad(raw, 'invalid label');
  if (!/^[a-z0-9._-]+$/.test(host)) throw bad(raw, 'invalid characters in host name');
  return { host, ipVersion: 0 };
}

export function makeDestination(rawHost: string, port: number): Destination {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new SluiceError('SLUICE_BAD_REQUEST', `invalid port ${String(port)}`, { host: rawHost });
  }
  const { host, ipVersion } = canonicalHost(rawHost);
  return { host, port, ipVersion, authority: formatAuthority(host, port) };
}

export function formatAuthority(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Parses a CONNECT target or Host header value (`host:port`, `[v6]:port`, or `host` with a default port). */
export function parseAuthority(authority: string, defaultPort?: number): Destination {
  const value = authority.trim();
  let hostPart: string;
  let portPart: string | undefined;
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    if (close < 0) throw bad(authority, 'unterminated IPv6 literal');
    hostPart = value.slice(0, close + 1);
    const rest = value.slice(close + 1);
    if (rest.length > 0) {
      if (!rest.startsWith(':')) throw bad(authority, 'garbage after IPv6 literal');
      portPart = rest.slice(1);
    }
  } else {
    const colon = value.lastIndexOf(':');
    if (colon >= 0) {
      if (value.indexOf(':') !== colon) throw bad(authority, 'IPv6 literals must be bracketed');
      hostPart = value.slice(0, colon);
      portPart = value.slice(colon + 1);
    } else {
      hostPart = value;
    }
  }
  let port: number;
  if (portPart === undefined || portPart === '') {
    if (defaultPort === undefined) throw bad(authority, 'port required');
    port = defaultPort;
  } else {
    if (!/^[0-9]{1,5}$/.test(portPart)) throw bad(authority, 'invalid port');
    port = Number(portPart);
  }
  return makeDestination(hostPart, port);
}

function bad(raw: string, why: string): SluiceError {
  return new SluiceError('SLUICE_BAD_REQUEST', `invalid destination "${raw.slice(0, 300)}": ${why}`);
}
