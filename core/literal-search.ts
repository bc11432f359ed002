/**
 * Where the first of a few short literals starts in some bytes: the exfiltration guard asks it of
 * every chunk of every request body (the prefixes of Sluice's placeholders), and the egress scan
 * (the literals its recognizers start with), so it runs twice over every byte an agent uploads.
 * In C++ when the addon is built (core/native/literals.cc: 16 or 32 positions at a time with
 * SSSE3 or AVX2, else a bit per pair of bytes; the same cost on any text), else through a RegExp
 * alternation over the latin1 reading of the bytes, whose speed depends on the text V8 first
 * compiled it for (0.3-2 ns a byte). Same answers either way.
 */
import { lazyAddon, type LoadedAddon } from './native-addon.js';

export interface LiteralSearch {
  /** Index in `bytes` where the leftmost occurrence of any literal starts, or -1. */
  firstIn(bytes: Uint8Array): number;
  /** True when the C++ loop answers. */
  readonly native: boolean;
}

/** The C++ loops (core/native/literals.cc), by the index the addon knows them by. */
export const NATIVE_PATHS = ['scalar', 'ssse3', 'avx2'] as const;
export type NativePath = (typeof NATIVE_PATHS)[number];

interface NativeLiterals {
  /** `path`: an index into `paths` (tests); without it, the loop named by `path`. */
  firstOf(bytes: Uint8Array, table: Uint8Array, path?: number): number;
  /** The C++ loops by index: `scalar`, `ssse3`, `avx2`, null for one this machine cannot run. */
  readonly paths: readonly (string | null)[];
  /** The loop firstOf runs: the fastest this machine can. */
  readonly path: string;
}

/** Layout of the table core/native/literals.cc reads (see there). */
const PAIRS = 65536 / 8;
const FIRST = PAIRS;
const SECOND = FIRST + 256;
const NIBBLES = SECOND + 256;
/** The vector loops look at a literal's first three bytes. */
const NIBBLE_BYTES = 3;
const LITERALS = NIBBLES + NIBBLE_BYTES * 2 * 16;

/**
 * Per byte value, the buckets (bits) of the literals that start with it (FIRST) or have it second
 * (SECOND): a literal's bucket is its first byte's, one of eight. The C++ loop passes over 8
 * positions when no position has a first and a second byte of one bucket; with a single set
 * for all literals any first byte next to any second byte would stop it (`ai`, `so`, `gi` in
 * every English text for a set with `AIza`, `sk-`, `gh`). The vector loops read the same
 * buckets per nibble of each of the first three bytes (NIBBLES: low nibbles' masks, then high
 * nibbles', per byte); a two-byte literal's bucket is in every entry of the third byte's masks.
 */
function nativeTable(literals: readonly string[]): Buffer {
  const table = Buffer.alloc(LITERALS + literals.reduce((n, l) => n + 1 + l.length, 0));
  const buckets = new Map<number, number>();
  let at = LITERALS;
  for (const l of literals) {
    const [b0, b1] = [l.charCodeAt(0), l.charCodeAt(1)];
    const pair = b0 | (b1 << 8);
    table[pair >> 3]! |= 1 << (pair & 7);
    if (!buckets.has(b0)) buckets.set(b0, 1 << (buckets.size % 8));
    const bucket = buckets.get(b0)!;
    table[FIRST + b0]! |= bucket;
    table[SECOND + b1]! |= bucket;
    for (let k = 0; k < NIBBLE_BYTES; k++) {
      const lows = NIBBLES + 32 * k;
      const highs = lows + 16;
      if (k < l.length) {
        const b = l.charCodeAt(k);
        table[lows + (b & 15)]! |= bucket;
        table[highs + (b >> 4)]! |= bucket;
      } else {
        for (let v = 0; v < 16; v++) {
          table[lows + v]! |= bucket;
          table[highs + v]! |= bucket;
        }
      }
    }
    table[at] = l.length;
    table.write(l, at + 1, 'latin1');
    at += 1 + l.length;
  }
  return table;
}

/** The addon, loaded on first use, and why it did or did not load. */
export const nativeLiterals: () => LoadedAddon<NativeLiterals> = lazyAddon<NativeLiterals>('sluice_literals', import.meta.url);

/** `text` as a RegExp source that matches it literally (inside a character class too: `-` is escaped). */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
}

/**
 * A search for `literals`, each read as latin1 (one byte per character, as the guard reads a body).
 * `native: false` keeps to the RegExp, `path` to one C++ loop (tests compare them; a loop this
 * machine cannot run throws on the first search).
 */
export function createLiteralSearch(literals: readonly string[], opts: { native?: boolean; path?: NativePath } = {}): LiteralSearch {
  for (const l of literals) {
    if (l.length === 0) throw new RangeError('a literal to search for is empty');
    if (!/^[\0-\xff]*$/.test(l)) throw new RangeError(`literal "${l.slice(0, 40)}" has a character outside latin1`);
  }
  const unique = [...new Set(literals)];
  if (unique.length === 0) return { firstIn: () => -1, native: false };
  const addon = opts.native === false ? undefined : nativeLiterals().addon;
  // The C++ loop keys on a literal's first two bytes and takes lengths up to 255.
  if (addon !== undefined && unique.every((l) => l.length >= 2 && l.length <= 255)) {
    const table = nativeTable(unique);
    if (opts.path !== undefined) {
      const path = NATIVE_PATHS.indexOf(opts.path);
      return { firstIn: (bytes) => addon.firstOf(bytes, table, path), native: true };
    }
    return { firstIn: (bytes) => addon.firstOf(bytes, table), native: true };
  }
  const re = new RegExp(unique.map(escapeRegExp).join('|'));
  return {
    firstIn: (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1').search(re),
    native: false,
  };
}
