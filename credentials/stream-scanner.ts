import type { BodyFilter } from '../core/index.js';
import type { MultiMatcher } from './multi-matcher.js';
import type { Occurrence, PlaceholderFinder } from './placeholder-finder.js';
import type { SecretPattern } from './secret-variants.js';
import { isPlain, normalize } from '../core/index.js';

/**
 * Body scanning that never lets a complete match slip out in pieces: each chunk is joined to
 * the bytes held back from the previous one, and only the tail that could still be the start
 * of a pattern is held back again. Text that cannot start a pattern (an SSE event's closing
 * blank line, say) goes straight through, so streaming stays streaming.
 */

/** Length of the longest suffix of `buf` that is a proper prefix of some pattern. */
export function patternHoldLength(patterns: readonly SecretPattern[], buf: Buffer): number {
  let longest = 0;
  for (const { bytes } of patterns) {
    const first = bytes[0];
    for (let i = Math.max(0, buf.length - (bytes.length - 1)); i < buf.length; i++) {
      const len = buf.length - i;
      if (len <= longest) break;
      if (buf[i] !== first) continue;
      if (buf.compare(bytes, 0, len, i) === 0) {
        longest = len;
        break;
      }
    }
  }
  return longest;
}

const EMPTY = Buffer.alloc(0);

/** Wrapped base64 is joined: a key's spelling may run across line breaks. */
const JOIN_LINES = { lineBreaks: 'drop' } as const;

/** A spelling of a secret found in a buffer: the range of original bytes it occupies. */
export interface SecretMatch {
  start: number;
  end: number;
  pattern: SecretPattern;
}

/**
 * Every spelling in `buf`, as it stands and through the normalized view (normalized-view.ts),
 * ordered by start; and the offset from which a streaming caller must hold bytes back, because a
 * spelling (or an escape inside one) may continue in the next chunk.
 */
export function scanSpellings(patterns: readonly SecretPattern[], matcher: MultiMatcher<SecretPattern>, buf: Buffer): { matches: SecretMatch[]; holdFrom: number } {
  // No real secret in the keyring (routed and secretless providers only): nothing to spell, nothing to hold.
  if (patterns.length === 0) return { matches: [], holdFrom: buf.length };
  const matches: SecretMatch[] = matcher.findAll(buf).map((m) => ({ start: m.start, end: m.start + m.pattern.bytes.length, pattern: m.pattern }));
  let holdFrom = buf.length - patternHoldLength(patterns, buf);
  if (!isPlain(buf, JOIN_LINES)) {
    const view = normalize(buf, JOIN_LINES);
    for (const m of matcher.findAll(view.bytes)) {
      matches.push({ start: view.start[m.start]!, end: view.end[m.start + m.pattern.bytes.length - 1]!, pattern: m.pattern });
    }
    const held = patternHoldLength(patterns, view.bytes);
    const viewHold = held > 0 ? view.start[view.bytes.length - held]! : view.complete;
    holdFrom = Math.min(holdFrom, viewHold, view.complete);
  }
  matches.sort((a, b) => a.start - b.start || b.end - a.end);
  return { matches, holdFrom };
}

export interface GuardOptions {
  patterns: readonly SecretPattern[];
  matcher: MultiMatcher<SecretPattern>;
  /** Providers whose values may pass here (their own opted-in, injected body). */
  exempt: ReadonlySet<string>;
  finder: PlaceholderFinder;
  /** Called for a real secret found; expected to throw. */
  onSecret(pattern: SecretPattern): never;
  /** Called for every placeholder found; throws when it may not go here. */
  onPlaceholder(occurrence: Occurrence): void;
}

/** Request-side detector: passes bytes through unchanged, throws when something must not leave. */
export function createGuardFilter(opts: GuardOptions): BodyFilter {
  let carry = EMPTY;
  return {
    keepsLength: true,
    transform(chunk) {
      const buf = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
      const { matches, holdFrom } = scanSpellings(opts.patterns, opts.matcher, buf);
      const hit = matches.find((m) => !opts.exempt.has(m.pattern.provider));
      if (hit) opts.onSecret(hit.pattern);
      const placeholders = opts.finder.scan(buf);
      for (const o of placeholders.found) opts.onPlaceholder(o);
      const emit = Math.min(holdFrom, buf.length - placeholders.hold);
      if (emit === buf.length) {
        carry = EMPTY;
        return buf;
      }
      carry = Buffer.from(buf.subarray(emit));
      return buf.subarray(0, emit);
    },
    flush() {
      const rest = carry;
      carry = EMPTY;
      return rest;
    },
  };
}

/** Response-side: replaces every spelling of a real secret with what `replacement` gives. */
export function createScrubFilter(
  patterns: readonly SecretPattern[],
  matcher: MultiMatcher<SecretPattern>,
  replacement: (p: SecretPattern) => Buffer,
): BodyFilter & { scrubbed(): number } {
  let carry = Buffer.alloc(0);
  let count = 0;

  function run(buf: Buffer, final: boolean): Buffer {
    const { matches, holdFrom } = scanSpellings(patterns, matcher, buf);
    let emitEnd = final ? buf.length : holdFrom;
    const parts: Buffer[] = [];
    let pos = 0;
    for (const m of matches) {
      if (m.start < pos) {
        // Overlapping spellings (a raw and a decoded reading): the replacement already covers this one's start.
        if (m.end > pos && m.start < emitEnd) {
          pos = m.end;
          if (pos > emitEnd) emitEnd = pos;
        }
        continue;
      }
      if (m.start >= emitEnd) break;
      parts.push(buf.subarray(pos, m.start), replacement(m.pattern));
      pos = m.end;
      count++;
      if (pos > emitEnd) emitEnd = pos;
    }
    parts.push(buf.subarray(pos, emitEnd));
    carry = Buffer.from(buf.subarray(emitEnd));
    return Buffer.concat(parts);
  }

  return {
    transform(chunk) {
      return run(carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk, false);
    },
    flush() {
      const out = run(carry, true);
      carry = Buffer.alloc(0);
      return out;
    },
    scrubbed: () => count,
  };
}

/** Replaces every spelling of a secret in a string (response header values). */
export function scrubText(patterns: readonly SecretPattern[], text: string, replacement: (p: SecretPattern) => string): string {
  let out = text;
  for (const p of patterns) if (out.includes(p.text)) out = out.split(p.text).join(replacement(p));
  return out;
}

/** scrubText, ignoring ASCII case: host names arrive lowercased whatever the client sent. */
export function scrubTextCaseless(patterns: readonly SecretPattern[], text: string, replacement: (p: SecretPattern) => string): string {
  let out = text;
  for (const p of patterns) {
    const needle = p.text.toLowerCase();
    let lower = out.toLowerCase();
    // Lower-casing keeps every length only for ASCII text: otherwise fall back to the exact compare.
    if (lower.length !== out.length) {
      out = scrubText([p], out, replacement);
      continue;
    }
    for (let at = lower.indexOf(needle); at >= 0; at = lower.indexOf(needle, at)) {
      const marker = replacement(p);
      out = out.slice(0, at) + marker + out.slice(at + needle.length);
      lower = out.toLowerCase();
      at += marker.length;
    }
  }
  return out;
}
