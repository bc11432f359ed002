/** A candidate span found by a recognizer's pattern, before validation. */
export interface Candidate {
  readonly text: string;
  start: number;
  end: number;
}

/**
 * One recognizer. Built-in patterns avoid `\b`, `^` and `$` on purpose: without assertions a match's
 * position can be recovered with `indexOf` from the previous match, which lets the detector fetch every
 * match of a pattern in one native call. Boundaries are checked in `check` instead.
 */
export interface Recognizer {
  readonly name: string;
  readonly type: string;
  /** RE2 syntax. */
  readonly pattern: string;
  readonly flags?: string;
  /** Capture group holding the value (the rest of the match is context such as `password=`). */
  readonly valueGroup?: number;
  /** Base confidence 0..1; a candidate is kept when its final score reaches the threshold. */
  readonly score: number;
  /** Words that, within 48 characters before the value, raise the score by 0.35. */
  readonly context?: readonly string[];
  /** The pattern can match across a newline (run on whole texts, never on line-aligned chunks). */
  readonly multiline?: boolean;
  /** Wins overlaps against lower priorities. */
  readonly priority: number;
  /** Returns the score to use (<= 0 rejects); may narrow `start`/`end`. */
  check?(c: Candidate, score: number): number;
}

export const CONTEXT_WINDOW = 48;
export const CONTEXT_BOOST = 0.35;
