import { SluiceError } from '../core/index.js';

/**
 * Request-path canonicalisation, as OpenShell does it (l7/path.rs), so that an OpenShell rule
 * means the same here: every escape is decoded, `;params` are stripped from each segment before
 * dot-segments are resolved (so `..;` is `..`), `//` collapses, and the result is re-encoded with
 * only non-pchar bytes escaped (`/users/%40alice` is `/users/@alice`). Refused: control bytes
 * (raw or escaped), raw non-ASCII, malformed escapes, `..` above the root, paths over 4096 bytes,
 * `%2F` unless the endpoint allows it, and a `.`/`..` hidden behind an allowed `%2F`.
 * The canonical path is what rules judge and what is forwarded, so the upstream sees what was checked.
 *
 * `readings()` adds the other ways an upstream might plausibly read that forwarded path, so that
 * a deny rule wins under all of them (see rules/request-matcher.ts).
 */
export interface CanonicalPathOptions {
  /** Keep `%2F` inside a segment (npm scoped packages, GitLab project ids) instead of refusing it. */
  allowEncodedSlash: boolean;
}

export const MAX_PATH_BYTES = 4096;
/** Stands for an allowed `%2F` while segments are split; raw 0x01 is refused as a control byte. */
const SLASH = 0x01;

function invalid(rawPath: string, why: string): SluiceError {
  return new SluiceError('SLUICE_PATH_INVALID', `invalid request path "${rawPath.slice(0, 200)}": ${why}`, { reason: why });
}

function hex(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x37;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  return -1;
}

/** RFC 3986 pchar minus the escape: written literally, everything else as %XX. */
export function isPchar(b: number): boolean {
  return (
    (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) ||
    b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e || // - . _ ~
    b === 0x21 || b === 0x24 || b === 0x26 || b === 0x27 || b === 0x28 || b === 0x29 || // ! $ & ' ( )
    b === 0x2a || b === 0x2b || b === 0x2c || b === 0x3b || b === 0x3d || b === 0x3a || b === 0x40 // * + , ; = : @
  );
}

function decode(rawPath: string, allowEncodedSlash: boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < rawPath.length; i++) {
    const c = rawPath.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) throw invalid(rawPath, 'control character in path');
    if (c >= 0x80) throw invalid(rawPath, 'raw non-ASCII character in path (percent-encode it)');
    if (c !== 0x25) {
      out.push(c);
      continue;
    }
    const hi = hex(rawPath.charCodeAt(i + 1));
    const lo = hex(rawPath.charCodeAt(i + 2));
    if (i + 2 >= rawPath.length || hi < 0 || lo < 0) throw invalid(rawPath, `malformed percent-escape "${rawPath.slice(i, i + 3)}"`);
    const b = (hi << 4) | lo;
    i += 2;
    if (b === 0x2f) {
      if (!allowEncodedSlash) throw invalid(rawPath, 'encoded slash %2F is not allowed (allow_encoded_slash is off)');
      out.push(SLASH);
    } else if (b < 0x20 || b === 0x7f) {
      throw invalid(rawPath, `encoded control character %${rawPath.slice(i - 1, i + 1).toUpperCase()}`);
    } else {
      out.push(b);
    }
  }
  return out;
}

function stripParams(segment: number[]): number[] {
  const semi = segment.indexOf(0x3b);
  return semi < 0 ? segment : segment.slice(0, semi);
}

function isDots(segment: readonly number[]): boolean {
  return (segment.length === 1 && segment[0] === 0x2e) || (segment.length === 2 && segment[0] === 0x2e && segment[1] === 0x2e);
}

/** RFC 3986 remove_dot_segments over decoded segments; `clamp` stops at the root instead of failing. */
function resolve(segments: number[][], clamp: boolean): number[][] | undefined {
  const stack: number[][] = [];
  const last = segments.length - 1;
  segments.forEach((seg, i) => {
    const dots = isDots(seg) ? seg.length : 0;
    if (dots === 2) {
      if (stack.pop() === undefined && !clamp) throw new RangeError('above root');
      if (i === last) stack.push([]);
    } else if (dots === 1) {
      if (i === last) stack.push([]);
    } else if (seg.length > 0 || i === last) {
      stack.push(seg);
    }
  });
  return stack;
}

function encode(segments: number[][]): string {
  let out = '';
  for (const seg of segments) {
    out += '/';
    for (const b of seg) {
      if (b === SLASH) out += '%2F';
      else if (isPchar(b)) out += String.fromCharCode(b);
      else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    }
  }
  return out === '' ? '/' : out;
}

function split(bytes: number[]): number[][] {
  const segments: number[][] = [[]];
  for (let i = 1; i < bytes.length; i++) {
    if (bytes[i] === 0x2f) segments.push([]);
    else segments[segments.length - 1]!.push(bytes[i]!);
  }
  return segments;
}

/**
 * The canonical form of an origin-form request path (no query string), or throws
 * SluiceError('SLUICE_PATH_INVALID').
 */
export function canonicalPath(rawPath: string, opts: CanonicalPathOptions): string {
  const raw = rawPath === '' ? '/' : rawPath;
  return isCanonical(raw) ? raw : canonicalForm(raw, opts);
}

/** canonicalPath the long way: decoded, split, resolved and encoded again. */
export function canonicalForm(raw: string, opts: CanonicalPathOptions): string {
  if (raw[0] !== '/') throw invalid(raw, 'path must start with "/"');
  if (Buffer.byteLength(raw) > MAX_PATH_BYTES) throw invalid(raw, `path longer than ${MAX_PATH_BYTES} bytes`);
  const segments = split(decode(raw, opts.allowEncodedSlash)).map(stripParams);
  let resolved: number[][];
  try {
    resolved = resolve(segments, false)!;
  } catch {
    throw invalid(raw, 'dot-segments climb above the root');
  }
  for (const seg of resolved) {
    let part: number[] = [];
    for (const b of [...seg, SLASH]) {
      if (b !== SLASH) {
        part.push(b);
        continue;
      }
      if (isDots(part)) throw invalid(raw, 'a dot-segment hides behind an encoded slash');
      part = [];
    }
  }
  return encode(resolved);
}

/**
 * True when canonicalPath would give `raw` back unchanged, decided in one pass without decoding:
 * `/`-separated segments of pchars other than `;` (nothing to decode, strip or re-encode), none of
 * them empty but a last one (`//` collapses) and none `.` or `..`. Most paths are like this, and
 * canonicalPath runs several times per request.
 */
export function isCanonical(raw: string): boolean {
  if (raw.length > MAX_PATH_BYTES || raw.charCodeAt(0) !== 0x2f) return false;
  let segment = 1;
  for (let i = 1; i <= raw.length; i++) {
    const c = i < raw.length ? raw.charCodeAt(i) : 0x2f;
    if (c !== 0x2f) {
      if (c === 0x3b || !isPchar(c)) return false;
      continue;
    }
    const length = i - segment;
    if (length === 0 && i < raw.length) return false;
    if (raw.charCodeAt(segment) === 0x2e && (length === 1 || (length === 2 && raw.charCodeAt(segment + 1) === 0x2e))) return false;
    segment = i + 1;
  }
  return true;
}

/** Decodes a canonical path's escapes once more; `%2F` and `%5C` become separators. */
function reread(canonical: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < canonical.length; i++) {
    const c = canonical.charCodeAt(i);
    const hi = c === 0x25 ? hex(canonical.charCodeAt(i + 1)) : -1;
    const lo = c === 0x25 ? hex(canonical.charCodeAt(i + 2)) : -1;
    if (hi < 0 || lo < 0) {
      bytes.push(c);
      continue;
    }
    const b = (hi << 4) | lo;
    bytes.push(b === 0x5c ? 0x2f : b < 0x20 || b === 0x7f ? 0x5f : b);
    i += 2;
  }
  // `%` stays literal: it is the next layer's escape, peeled by the next pass.
  let out = '';
  for (const seg of resolve(split(bytes).map(stripParams), true)!) {
    out += '/';
    for (const b of seg) out += b === 0x25 || isPchar(b) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out === '' ? '/' : out;
}

/**
 * Other ways an upstream might read a canonical path: without its trailing slash (Express,
 * Spring and Django route `/admin/` like `/admin`), with `%2F` and `%5C` as separators and
 * escapes decoded a second time (servers that decode twice or treat `\` as `/`), dot-segments
 * then resolved as such servers do (clamped at the root). The canonical path itself comes first.
 */
export function readings(canonical: string): string[] {
  const out = [canonical];
  const add = (p: string) => {
    if (!out.includes(p)) out.push(p);
  };
  if (canonical.includes('%')) {
    let p = canonical;
    // Each pass peels one layer of encoding; three cover %25252F and stop a pathological path.
    for (let pass = 0; pass < 3 && p.includes('%'); pass++) {
      const next = reread(p);
      if (next === p) break;
      add(next);
      p = next;
    }
  }
  for (const p of [...out]) if (p.length > 1 && p.endsWith('/')) add(p.replace(/\/+$/, '') || '/');
  return out;
}

/** Readings that change which segments a path has (not just a trailing slash): allow rules must hold under them too. */
export function structuralReadings(canonical: string): string[] {
  return readings(canonical).filter((p) => p !== canonical && !(canonical.endsWith('/') && p === canonical.replace(/\/+$/, '')));
}

/**
 * A rule's path glob in the same encoding as canonical paths: escapes decoded and non-pchar bytes
 * re-encoded, glob syntax kept, so `/users/%40alice` and `/users/@alice` are one rule.
 */
export function canonicalGlobText(glob: string): string {
  let out = '';
  const bytes = Buffer.from(glob, 'utf8');
  for (let i = 0; i < bytes.length; i++) {
    let b = bytes[i]!;
    if (b === 0x25 && hex(bytes[i + 1] ?? 0) >= 0 && hex(bytes[i + 2] ?? 0) >= 0) {
      b = (hex(bytes[i + 1]!) << 4) | hex(bytes[i + 2]!);
      i += 2;
      if (b === 0x2f) {
        out += '%2F';
        continue;
      }
      if ('*?[]{}\\,'.includes(String.fromCharCode(b))) {
        out += `\\${String.fromCharCode(b)}`;
        continue;
      }
    } else if ('*?[]{}\\/,'.includes(String.fromCharCode(b))) {
      out += String.fromCharCode(b);
      if (b === 0x5c && i + 1 < bytes.length) out += String.fromCharCode(bytes[++i]!);
      continue;
    }
    out += isPchar(b) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
