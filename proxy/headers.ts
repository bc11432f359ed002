import type { IncomingHttpHeaders } from 'node:http';

/** RFC 9110 §7.6.1 hop-by-hop fields, plus the proxy's own. Never forwarded in either direction. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * Copies headers without hop-by-hop fields, Proxy-* fields, and fields named in Connection. Runs
 * twice per request (its headers and its answer's): over Object.keys, not Object.entries, which
 * made an array per header.
 */
export function stripHopByHop(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const connection = headers.connection;
  const named = connection ? new Set(String(connection).split(',').map((token) => token.trim().toLowerCase())) : undefined;
  const out: IncomingHttpHeaders = {};
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (value === undefined) continue;
    if (HOP_BY_HOP.has(name) || named?.has(name) || name.startsWith('proxy-')) continue;
    out[name] = value;
  }
  return out;
}

/** Node's raw header pairs → undici's flat array, dropping hop-by-hop fields. */
export function toUndiciHeaders(headers: IncomingHttpHeaders): string[] {
  const out: string[] = [];
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) out.push(name, v);
    else out.push(name, value);
  }
  return out;
}
