import type { IncomingHttpHeaders } from 'node:http';
/**
 * The parts of a request head where a placeholder or a real secret can hide: header values
 * (Basic auth decoded), query values and path segments (percent-decoded). Each function first
 * checks every spelling for real secrets, then returns the rewritten part, or undefined when
 * nothing changed. Nothing is mutated, so a refusal leaves the request as it was.
 */
export interface Rewriter {
  /** Throws when `text` carries a real secret. `where` names the place, never the content. */
  checkSecrets(text: string, where: string): void;
  /**
   * Replaces admitted placeholders in `text` (throws on refused ones, and on those outside their
   * provider's injection point `place`); `encode` spells the secret for this place.
   */
  replace(text: string, where: string, place: Place, encode: (secret: string) => string): string;
}

/** Which injection point a part of the request head is (compared with a provider's InjectionPoints). */
export type Place = { header: string } | { query: string } | { path: true };

/** Header strings are latin1 on the wire: spell the secret's UTF-8 bytes that way. */
const latin1 = (secret: string): string => Buffer.from(secret, 'utf8').toString('latin1');

export function rewriteHeaders(headers: IncomingHttpHeaders, rw: Rewriter): IncomingHttpHeaders | undefined {
  let changed = false;
  const out: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    rw.checkSecrets(name, 'a header name');
    const where = `header ${name}`;
    const rewrite = (v: string): string => {
      rw.checkSecrets(v, where);
      const basic = /^(basic[ \t]+)([A-Za-z0-9+/=_-]+)\s*$/i.exec(v);
      if (basic) {
        const decoded = Buffer.from(basic[2]!, 'base64').toString('latin1');
        rw.checkSecrets(decoded, `${where} (basic)`);
        const replaced = rw.replace(decoded, `${where} (basic)`, { header: name }, latin1);
        if (replaced !== decoded) return `${basic[1]}${Buffer.from(replaced, 'latin1').toString('base64')}`;
      }
      return rw.replace(v, where, { header: name }, latin1);
    };
    const next = Array.isArray(value) ? value.map(rewrite) : rewrite(value);
    if (Array.isArray(value) ? value.some((v, i) => v !== (next as string[])[i]) : next !== value) changed = true;
    (out as Record<string, string | string[]>)[name] = next;
  }
  return changed ? out : undefined;
}

export function rewriteQuery(query: string, rw: Rewriter): string | undefined {
  if (query === '') return undefined;
  let changed = false;
  const parts = query.split('&').map((part, i) => {
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    // Names can be anything the client chose, so messages give the position only.
    const where = `query parameter #${i + 1}`;
    rw.checkSecrets(part, where);
    const decodedPart = percentDecode(part.replace(/\+/g, ' '));
    if (decodedPart !== undefined) rw.checkSecrets(decodedPart, where);
    if (eq < 0) return part;
    const value = part.slice(eq + 1);
    const next = rewriteComponent(value, where, { query: percentDecode(name.replace(/\+/g, ' ')) ?? name }, rw);
    if (next === undefined) return part;
    changed = true;
    return `${name}=${next}`;
  });
  return changed ? parts.join('&') : undefined;
}

export function rewritePath(path: string, rw: Rewriter): string | undefined {
  let changed = false;
  const segments = path.split('/').map((segment, i) => {
    if (segment === '') return segment;
    const where = `path segment ${i}`;
    rw.checkSecrets(segment, where);
    const next = rewriteComponent(segment, where, { path: true }, rw);
    if (next === undefined) return segment;
    changed = true;
    return next;
  });
  return changed ? segments.join('/') : undefined;
}

/**
 * Placeholders use only unreserved characters, so they normally appear verbatim; a client that
 * percent-encoded some of them is handled by decoding, replacing and re-encoding the component.
 */
function rewriteComponent(raw: string, where: string, place: Place, rw: Rewriter): string | undefined {
  const decoded = percentDecode(raw);
  if (decoded !== undefined && decoded !== raw) {
    rw.checkSecrets(decoded, where);
    const replacedDecoded = rw.replace(decoded, where, place, (s) => s);
    if (replacedDecoded !== decoded) {
      const replacedRaw = rw.replace(raw, where, place, encodeURIComponent);
      // Verbatim placeholders: keep the client's own spelling of everything else.
      return percentDecode(replacedRaw) === replacedDecoded ? replacedRaw : encodeURIComponent(replacedDecoded);
    }
    return undefined;
  }
  const replaced = rw.replace(raw, where, place, encodeURIComponent);
  return replaced === raw ? undefined : replaced;
}

function percentDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}
