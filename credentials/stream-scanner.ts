import type { BodyFilter } from '../core/index.js';
import type { MultiMatcher } from './multi-matcher.js';
import type { Occurrence, PlaceholderFinder } from './placeholder-finder.js';
import type { SecretPattern } from './secret-variants.js';

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
  let carry = Buffer.alloc(0);
  return {
    transform(chunk) {
      const buf = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
      const hit = opts.matcher.findAll(buf).find((m) => !opts.exempt.has(m.pattern.provider));
      if (hit) opts.onSecret(hit.pattern);
      const text = buf.toString('latin1');
      for (const o of opts.finder.find(text)) opts.onPlaceholder(o);
      const hold = Math.max(patternHoldLength(opts.patterns, buf), opts.finder.holdLength(text));
      carry = Buffer.from(buf.subarray(buf.length - hold));
      return buf.subarray(0, buf.length - hold);
    },
    flush() {
      const rest = carry;
      carry = Buffer.alloc(0);
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
    const matches = matcher.findAll(buf).map((m) => ({ start: m.start, end: m.start + m.pattern.bytes.length, p: m.pattern }));
    matches.sort((a, b) => a.start - b.start || b.end - a.end);
    let emitEnd = final ? buf.length : buf.length - patternHoldLength(patterns, buf);
    const parts: Buffer[] = [];
    let pos = 0;
    for (const m of matches) {
      if (m.start < pos) continue;
      if (m.start >= emitEnd) break;
      parts.push(buf.subarray(pos, m.start), replacement(m.p));
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
