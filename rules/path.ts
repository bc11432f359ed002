import { SluiceError } from '../core/index.js';

/**
 * Request-path canonicalisation. Policy globs are matched against the canonical form only, so
 * two spellings of one resource (`/a/%62`, `/a/b`, `/x/../a/b`, `//a/b`) meet the same rules,
 * and spellings an upstream might read differently from us (`%2F`, `%5C`, `..;`) are refused.
 */
export interface CanonicalPathOptions {
  /** Keep `%2F` inside a segment (npm scoped packages, GitLab project ids) instead of refusing it. */
  allowEncodedSlash: boolean;
}

const MAX_PATH_LENGTH = 8192;
const HEX = /^[0-9A-Fa-f]{2}$/;

function isUnreserved(code: number): boolean {
  return (
    (code >= 0x41 && code <= 0x5a) || // A-Z
    (code >= 0x61 && code <= 0x7a) || // a-z
    (code >= 0x30 && code <= 0x39) || // 0-9
    code === 0x2d || code === 0x2e || code === 0x5f || code === 0x7e // - . _ ~
  );
}

function invalid(rawPath: string, why: string): SluiceError {
  return new SluiceError('SLUICE_PATH_INVALID', `invalid request path "${rawPath.slice(0, 200)}": ${why}`, {
    reason: why,
  });
}

function percentEncodeUtf8(char: string): string {
  let out = '';
  for (const byte of Buffer.from(char, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

/**
 * Normalises the percent-encoding of one path string without touching its structure:
 * unreserved escapes are decoded, other escapes uppercased, raw non-ASCII encoded as UTF-8.
 * `keep` lists raw characters the caller handles itself (glob syntax); they are copied as they are.
 */
export function normalizeEncoding(input: string, allowEncodedSlash: boolean, keep = ''): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const ch = input[i]!;
    const code = ch.charCodeAt(0);
    if (keep.includes(ch)) {
      out += ch;
    } else if (ch === '%') {
      const hex = input.slice(i + 1, i + 3);
      if (!HEX.test(hex)) throw invalid(input, `malformed percent-escape "%${hex}"`);
      const value = parseInt(hex, 16);
      i += 2;
      if (isUnreserved(value)) out += String.fromCharCode(value);
      else if (value === 0x2f) {
        if (!allowEncodedSlash) throw invalid(input, 'encoded slash %2F is not allowed (allow_encoded_slash is off)');
        out += '%2F';
      } else if (value === 0x5c) throw invalid(input, 'encoded backslash %5C is not allowed');
      else if (value < 0x20 || value === 0x7f) throw invalid(input, `encoded control character %${hex.toUpperCase()}`);
      else out += `%${hex.toUpperCase()}`;
    } else if (code < 0x20 || code === 0x7f) {
      throw invalid(input, 'control character in path');
    } else if (ch === '\\') {
      throw invalid(input, 'backslash in path');
    } else if (ch === ' ' || ch === '#' || ch === '?') {
      throw invalid(input, `raw "${ch}" in path`);
    } else if (code > 0x7e) {
      // Take the whole code point so surrogate pairs encode as one UTF-8 sequence.
      const cp = input.codePointAt(i)!;
      if (cp >= 0xd800 && cp <= 0xdfff) throw invalid(input, 'lone surrogate in path');
      const char = String.fromCodePoint(cp);
      i += char.length - 1;
      out += percentEncodeUtf8(char);
    } else {
      out += ch;
    }
  }
  return out;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });
const HIGH_BYTES = /(?:%[89A-F][0-9A-F])+/g;

/**
 * Escaped bytes above 0x7F must form valid UTF-8: an overlong `%C0%AE` is a dot to some old
 * decoders and opaque to us, so such paths are refused instead of judged by the wrong name.
 */
function checkUtf8(rawPath: string, normalized: string): void {
  for (const [run] of normalized.matchAll(HIGH_BYTES)) {
    const bytes = Uint8Array.from(run.slice(1).split('%'), (hex) => parseInt(hex, 16));
    try {
      UTF8.decode(bytes);
    } catch {
      throw invalid(rawPath, `escaped bytes ${run} are not valid UTF-8`);
    }
  }
}

/**
 * Returns the canonical form of an origin-form request path (no query string), or throws
 * SluiceError('SLUICE_PATH_INVALID'). Dot-segments are resolved after decoding, so `%2e%2e`
 * counts as `..`; a path that would climb above `/` is refused rather than clamped, since an
 * upstream that clamps differently would see another resource than the one we checked.
 */
export function canonicalPath(rawPath: string, opts: CanonicalPathOptions): string {
  if (rawPath.length === 0 || rawPath[0] !== '/') throw invalid(rawPath, 'path must start with "/"');
  if (rawPath.length > MAX_PATH_LENGTH) throw invalid(rawPath, `path longer than ${MAX_PATH_LENGTH} characters`);
  const normalized = normalizeEncoding(rawPath, opts.allowEncodedSlash);
  checkUtf8(rawPath, normalized);
  const segments = normalized.split('/');
  const out: string[] = [];
  let trailingSlash = false;
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i]!;
    const last = i === segments.length - 1;
    trailingSlash = false;
    if (segment === '' || segment === '.') {
      trailingSlash = last;
    } else if (segment === '..') {
      if (out.length === 0) throw invalid(rawPath, 'dot-segments climb above the root');
      out.pop();
      trailingSlash = last;
    } else if (/^\.\.?;/.test(segment)) {
      // Servlet containers read `..;x` as `..`: refuse rather than guess.
      throw invalid(rawPath, `ambiguous dot-segment with parameters "${segment}"`);
    } else {
      out.push(segment);
    }
  }
  if (out.length === 0) return '/';
  return `/${out.join('/')}${trailingSlash ? '/' : ''}`;
}
