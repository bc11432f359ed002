/**
 * The C++ collector (redact/native/collector.cc, built by `npm install` with node-gyp): the detector's hot loop
 * without a call into node-re2 per match. Optional: when it is not built (no compiler) or
 * SLUICE_NATIVE_COLLECTOR=0, the detector runs the same loop in JavaScript, with the same results.
 */
// The addon links against re2.node, which Node must have loaded (and registered) first.
import RE2 from 're2';
import { loadAddon } from '../core/index.js';
import { CODE_REFERENCE, IPV6_ADDRESS, PLACEHOLDER_VALUES, VERSION_WORDS } from './builtin-recognizers.js';
import type { Recognizer } from './recognizer.js';
import { CONTEXT_BOOST, CONTEXT_WINDOW } from './recognizer.js';
import { IBAN_LENGTHS, K_LOG_K } from './validators.js';

/** A pattern's JS flags as the bits `compile` takes (it sets RE2's options for them as node-re2 does). */
export function flagBits(flags: string): number {
  return (flags.includes('i') ? 1 : 0) | (flags.includes('m') ? 2 : 0) | (flags.includes('s') ? 4 : 0);
}

/**
 * The C++ checks (redact/native/checks.cc, `enum class Check`, in this order): what a built-in recognizer's
 * `native` names.
 */
export const NATIVE_CHECKS = [
  'none', 'token', 'slack', 'jwt', 'url_credentials', 'aws_secret', 'generic_secret', 'card', 'iban', 'ssn', 'ssn_bare',
  'email', 'ipv4', 'ipv6', 'phone', 'phone_national',
] as const;
export type NativeCheck = (typeof NATIVE_CHECKS)[number];

/** What the C++ collector needs to evaluate matches as detector.ts `consider` does. */
export interface NativeEvaluation {
  /** Per recognizer: index into NATIVE_CHECKS, or -1 (JavaScript evaluates its matches). */
  readonly checks: readonly number[];
  /** Per recognizer: its rank of priority, 0 the highest (the order in which overlaps are settled). */
  readonly levels: ArrayLike<number>;
  readonly scores: readonly number[];
  /** Per recognizer, its context words (lower-case). */
  readonly context: readonly (readonly string[])[];
  readonly threshold: number;
  readonly boost: number;
  /** Characters before a value searched for context words. */
  readonly window: number;
  /** Values never reported, lower-cased. */
  readonly allow: readonly string[];
  readonly ibanLengths: readonly (readonly [country: string, length: number])[];
  /** VERSION_WORDS (the rest of VERSION_BEFORE is in the C++). */
  readonly versionWords: readonly string[];
  /** The checks' regexes, in RE2 syntax. */
  /** PLACEHOLDER_VALUES or CODE_REFERENCE: a value that is not a secret (one regex, one call into re2). */
  readonly notSecret: string;
  readonly ipv6: string;
  /** k * Math.log2(k) for k < 256, and Math.log2(n) for n <= 256: the entropy check's doubles, computed by V8. */
  readonly kLogK: Float64Array;
  readonly log2: Float64Array;
}

/** A JavaScript regex in RE2's syntax, case-insensitive as the regex is. */
const re2Source = (re: RegExp): string => `(?${re.flags.includes('i') ? 'i' : ''}:${new RE2(re.source).internalSource})`;

/** What every evaluation shares, made once (node-re2 translating the regexes cost ~0.4 ms per detector). */
let shared: Omit<NativeEvaluation, 'checks' | 'levels' | 'scores' | 'context' | 'threshold' | 'allow'> | undefined;

/** The evaluation for `recognizers` (in the engine's order), as detector.ts `consider` evaluates their matches. */
export function nativeEvaluation(recognizers: readonly Recognizer[], levels: ArrayLike<number>, threshold: number, allow: ReadonlySet<string>): NativeEvaluation {
  shared ??= {
    boost: CONTEXT_BOOST,
    window: CONTEXT_WINDOW,
    ibanLengths: Object.entries(IBAN_LENGTHS),
    versionWords: VERSION_WORDS,
    notSecret: `${re2Source(PLACEHOLDER_VALUES)}|${re2Source(CODE_REFERENCE)}`,
    ipv6: re2Source(IPV6_ADDRESS),
    kLogK: K_LOG_K,
    log2: Float64Array.from({ length: 257 }, (_, n) => Math.log2(n)),
  };
  return {
    ...shared,
    checks: recognizers.map((r) => (r.native === undefined ? -1 : NATIVE_CHECKS.indexOf(r.native))),
    levels: Array.from(levels),
    scores: recognizers.map((r) => r.score),
    context: recognizers.map((r) => r.context ?? []),
    threshold,
    allow: [...allow],
  };
}

/**
 * Verdicts of the C++ evaluation, the fourth field of each match `collect` writes (rejected ones are left out):
 * JavaScript evaluates the match; kept at its score, or with the context boost; settled, the same once overlaps
 * are settled too. Either every match is settled (the spans, in text order) or none is.
 */
export const VERDICT_JS = -1;
export const VERDICT_KEEP = 1;
export const VERDICT_BOOSTED = 2;
export const VERDICT_SETTLED = 3;
export const VERDICT_SETTLED_BOOSTED = 4;

/** Per RE2.Set: recognizer indexes, and patterns in RE2's own syntax. */
export type NativeSetGroup = readonly [indexes: readonly number[], patterns: readonly string[]];

export interface NativeCollector {
  /**
   * Patterns in RE2's syntax (node-re2's `internalSource`); sets null when they could not be built. `whole` per
   * pattern: 0 runs over the chunks where it fired, 1 over whole texts, 2 over texts from the first such chunk.
   * Without an evaluation, every match is written with VERDICT_JS.
   */
  compile(
    patterns: readonly string[],
    flags: readonly number[],
    whole: readonly number[],
    chunkSets: readonly NativeSetGroup[] | null,
    wholeSets: readonly NativeSetGroup[] | null,
    chunkSize: number,
    evaluation: NativeEvaluation | null,
  ): NativeEngine;
  /**
   * Writes matches into `out` as (recognizer, start, end, verdict) and returns how many there are; when that is
   * more than `out` holds, nothing was written. Offsets are bytes, or with `utf16` the UTF-16 offsets in the string
   * that `bytes` is the UTF-8 of. Matches the evaluation rejects are left out; those it keeps are narrowed to
   * their values.
   */
  collect(engine: NativeEngine, bytes: Uint8Array, out: Int32Array, utf16: boolean): number;
}

declare const engineBrand: unique symbol;
export type NativeEngine = { readonly [engineBrand]: true };

function load(): { collector?: NativeCollector; reason: string } {
  void RE2; // keeps the import: it loads re2.node, which the addon links against
  const { addon, reason } = loadAddon<NativeCollector>('sluice_redact', import.meta.url);
  return addon ? { collector: addon, reason } : { reason };
}

/** The addon, when it loaded, and why it did or did not. */
export const native: { readonly collector?: NativeCollector; readonly reason: string } = load();
