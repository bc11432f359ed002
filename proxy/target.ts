import { LRUCache } from 'lru-cache';
import { SluiceError, parseAuthority } from '../core/index.js';
import type { Destination } from '../core/index.js';

/** Reading request targets and URLs without decoding anything: rules/ canonicalises paths. */
export const DEFAULT_PORT = { http: 80, https: 443 } as const;

/** Splits a request target into the raw path and query. */
export function splitTarget(target: string): { path: string; query: string } {
  const q = target.indexOf('?');
  const noFragment = (s: string) => {
    const h = s.indexOf('#');
    return h < 0 ? s : s.slice(0, h);
  };
  if (q < 0) return { path: noFragment(target) || '/', query: '' };
  return { path: target.slice(0, q) || '/', query: noFragment(target.slice(q + 1)) };
}

/** Parses the absolute-form target of a plain proxy request: http://host[:port]/path?query. */
export function parseAbsolute(url: string): { dest: Destination; target: string } {
  const m = /^http:\/\/([^/?#]*)(.*)$/i.exec(url);
  if (!m) {
    if (/^https:\/\//i.test(url)) throw new SluiceError('SLUICE_BAD_REQUEST', 'https:// URLs must be sent through CONNECT (set HTTPS_PROXY), not as a plain proxy request');
    throw new SluiceError('SLUICE_BAD_REQUEST', 'this is a proxy: send absolute-form requests (http://host/path) or CONNECT', { reason: 'request target is not an absolute http:// URL' });
  }
  const authority = m[1]!;
  if (authority.includes('@')) throw new SluiceError('SLUICE_BAD_REQUEST', 'userinfo in the request target is not allowed');
  const rest = m[2] || '/';
  return { dest: plainDestination(authority), target: rest.startsWith('/') ? rest : `/${rest}` };
}

/**
 * The destinations of plain proxy requests, by the authority as the client spelled it. A tunnel
 * parses its destination once and every request inside it shares it; a plain client sends its
 * authority with every request, and parsing it again each time (the WHATWG host parser, IPv4
 * and IPv6 literals) and then deciding for a new object (the compiled policy keeps its answers
 * by the destination object first) cost ~5 µs a request (profiled). Kept objects are frozen: no
 * request can change another's destination. Bounded like the policy's own caches, and only
 * authorities a host name and port can fill are kept (a client cannot fill it with long keys).
 */
const plainDestinations = new LRUCache<string, Destination>({ max: 1024 });
/** A host name of 253 characters, brackets, a colon and a port. */
const MAX_KEPT_AUTHORITY = 264;

function plainDestination(authority: string): Destination {
  let dest = plainDestinations.get(authority);
  if (dest === undefined) {
    dest = Object.freeze(parseAuthority(authority, 80));
    if (authority.length <= MAX_KEPT_AUTHORITY) plainDestinations.set(authority, dest);
  }
  return dest;
}

/**
 * An http:// or https:// URL as a client behind the proxy would send it: http:// as an
 * absolute-form request, https:// as a CONNECT to the authority and an origin-form target
 * inside the tunnel. For `sluice explain`, which must read URLs the way the listener does.
 */
export function parseUrl(url: string): { scheme: 'http' | 'https'; dest: Destination; target: string } {
  const trimmed = url.trim();
  const https = /^https:\/\/([^/?#]*)(.*)$/i.exec(trimmed);
  if (!https) return { scheme: 'http', ...parseAbsolute(trimmed) };
  const authority = https[1]!;
  if (authority.includes('@')) throw new SluiceError('SLUICE_BAD_REQUEST', 'userinfo in the URL is not allowed');
  const rest = https[2] || '/';
  return { scheme: 'https', dest: parseAuthority(authority, 443), target: rest.startsWith('/') ? rest : `/${rest}` };
}

/** Does the Host header name the destination (the tunnel's, or the absolute-form URL's)? */
export function hostAgrees(hostHeader: string | undefined, dest: Destination, scheme: 'http' | 'https'): boolean {
  if (!hostHeader) return true; // HTTP/1.0 clients may omit it; the tunnel decides.
  // The common case, already canonical: no parsing on the keep-alive hot path.
  if (hostHeader === dest.authority || (dest.port === DEFAULT_PORT[scheme] && hostHeader === dest.host)) return true;
  try {
    const h = parseAuthority(hostHeader, DEFAULT_PORT[scheme]);
    return h.host === dest.host && h.port === dest.port;
  } catch {
    return false;
  }
}
