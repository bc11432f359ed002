import type { NativeCheck } from './native-collector.js';

/** A candidate span found by a recognizer's pattern, before validation. */
export interface Candidate {
  readonly text: string;
  start: number;
  end: number;
}

/**
 * One recognizer. Built-in patterns avoid `\b` (ASCII-only in re2, and cheaper as a check): boundaries and
 * everything a regex cannot say (checksums, entropy, version look-alikes) are checked in `check`.
 */
export interface Recognizer {
  readonly name: string;
  readonly type: string;
  /** RE2 syntax. */
  readonly pattern: string;
  readonly flags?: string;
  /**
   * A pattern that matches inside every match of `pattern` (a literal it starts with, the part no match can
   * lack): the per-chunk RE2.Set looks for this instead, so one small DFA serves every recognizer. Tests check
   * it against the corpus. Without it the set uses `pattern` itself.
   */
  readonly prefilter?: string;
  /**
   * Every match starts with a match of `prefilter`: a multi-line pattern then runs from the first chunk where its
   * prefilter fired instead of from the text's start. Tests check it against the corpus.
   */
  readonly prefilterStarts?: boolean;
  /** Capture group holding the value (the rest of the match is context such as `password=`). */
  readonly valueGroup?: number;
  /**
   * Narrows `c` from a whole match to group `valueGroup`, computed in JS from the pattern's structure instead of
   * a second re2 call per match (tests check it against re2's own group). Without it the detector asks re2.
   */
  locate?(c: Candidate): void;
  /** Base confidence 0..1; a candidate is kept when its final score reaches the threshold. */
  readonly score: number;
  /** Words that, within 48 characters before the value, raise the score by 0.35. */
  readonly context?: readonly string[];
  /** The pattern can match across a newline: it runs over whole texts, never over line-aligned chunks. */
  readonly multiline?: boolean;
  /** Wins overlaps against lower priorities. */
  readonly priority: number;
  /** Returns the score to use (<= 0 rejects); may narrow `start`/`end`. */
  check?(c: Candidate, score: number): number;
  /**
   * The C++ check that does what `locate` and `check` do (redact/native/checks.cc), for the built-ins: the C++
   * collector then evaluates the recognizer's matches itself. Without it, JavaScript evaluates them.
   */
  readonly native?: NativeCheck;
}

export const CONTEXT_WINDOW = 48;
export const CONTEXT_BOOST = 0.35;
