/**
 * The C++ collector (redact/native/collector.cc, built by `npm install` with node-gyp): the detector's hot loop
 * without a call into node-re2 per match. Optional: when it is not built (no compiler) or
 * SLUICE_NATIVE_COLLECTOR=0, the detector runs the same loop in JavaScript, with the same results.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
// The addon links against re2.node, which Node must have loaded (and registered) first.
import RE2 from 're2';

/** A pattern's JS flags as the bits `compile` takes (it sets RE2's options for them as node-re2 does). */
export function flagBits(flags: string): number {
  return (flags.includes('i') ? 1 : 0) | (flags.includes('m') ? 2 : 0) | (flags.includes('s') ? 4 : 0);
}

/** Per RE2.Set: recognizer indexes, and patterns in RE2's own syntax. */
export type NativeSetGroup = readonly [indexes: readonly number[], patterns: readonly string[]];

export interface NativeCollector {
  /**
   * Patterns in RE2's syntax (node-re2's `internalSource`); sets null when they could not be built. `whole` per
   * pattern: 0 runs over the chunks where it fired, 1 over whole texts, 2 over texts from the first such chunk.
   */
  compile(
    patterns: readonly string[],
    flags: readonly number[],
    whole: readonly number[],
    chunkSets: readonly NativeSetGroup[] | null,
    wholeSets: readonly NativeSetGroup[] | null,
    chunkSize: number,
  ): NativeEngine;
  /**
   * Writes matches into `out` as (recognizer, start, end) triples and returns how many there are; when that is
   * more than `out` holds, only what fits was written. Offsets are bytes, or with `utf16` the UTF-16 offsets in
   * the string that `bytes` is the UTF-8 of.
   */
  collect(engine: NativeEngine, bytes: Uint8Array, out: Int32Array, utf16: boolean): number;
}

declare const engineBrand: unique symbol;
export type NativeEngine = { readonly [engineBrand]: true };

const ADDON = join('build', 'Release', 'sluice_redact.node');

function load(): { collector?: NativeCollector; reason: string } {
  if (process.env.SLUICE_NATIVE_COLLECTOR === '0') return { reason: 'disabled by SLUICE_NATIVE_COLLECTOR=0' };
  void RE2; // keeps the import: it loads re2.node
  // From redact/ (sources run by tsx) or dist/redact/ up to the package root.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++, dir = dirname(dir)) {
    const file = join(dir, ADDON);
    if (!existsSync(file)) continue;
    try {
      return { collector: createRequire(import.meta.url)(file) as NativeCollector, reason: `loaded ${file}` };
    } catch (err) {
      return { reason: `${file} did not load: ${(err as Error).message}` };
    }
  }
  return { reason: `${ADDON} not built (npm install builds it; needs a C++ compiler)` };
}

/** The addon, when it loaded, and why it did or did not. */
export const native: { readonly collector?: NativeCollector; readonly reason: string } = load();
