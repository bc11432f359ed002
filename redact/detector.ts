import RE2 from 're2';
import type { Candidate, Recognizer } from './recognizer.js';
import { CONTEXT_BOOST, CONTEXT_WINDOW } from './recognizer.js';

/** A detected entity: UTF-16 offsets into the scanned string. */
export interface Span {
  readonly type: string;
  readonly start: number;
  readonly end: number;
  readonly score: number;
  readonly priority: number;
}

export interface Detector {
  readonly types: readonly string[];
  detect(text: string): Span[];
  /**
   * Detects in raw bytes read as latin1 (one byte = one character): offsets are byte offsets and invalid
   * UTF-8 cannot throw. For egress bodies, where everything worth finding is ASCII.
   */
  detectBytes(bytes: Buffer): Span[];
}

interface Compiled {
  readonly rec: Recognizer;
  readonly global: RE2;
  /** Non-global copy that extracts the value group from one match. */
  readonly single: RE2 | undefined;
  /**
   * No assertions (`\b`, `^`, `$`): a match's position can be recovered with indexOf from the end of the
   * previous one (if the same string occurred earlier, the pattern would have matched there first), so one
   * native `match` call returns every match of a chunk.
   */
  readonly positionFree: boolean;
}

const ASSERTION = /\\[bBAzZ]|[\^$]|\(\?[a-z]*m/;

/** Characters per chunk of a long text (see detect). */
const DEFAULT_CHUNK = 256;

export interface DetectorOptions {
  readonly recognizers: readonly Recognizer[];
  /** Minimum score to keep a span. */
  readonly threshold: number;
  /** Values never reported (compared case-insensitively). */
  readonly allow: readonly string[];
  /** Characters per chunk; tests shrink it to put chunk cuts everywhere. */
  readonly chunkSize?: number;
}

/**
 * Compiles every recognizer once, plus RE2.Sets over them, so that a text is scanned by the set and then only
 * by the recognizers that fire (see detect).
 */
export function createDetector(options: DetectorOptions): Detector {
  const compiled: Compiled[] = options.recognizers.map((rec) => ({
    rec,
    global: new RE2(rec.pattern, `g${rec.flags ?? ''}`),
    single: rec.valueGroup === undefined ? undefined : new RE2(rec.pattern, rec.flags ?? ''),
    positionFree: !ASSERTION.test(rec.pattern),
  }));
  let set: InstanceType<typeof RE2.Set> | undefined;
  try {
    set = compiled.length > 0 ? new RE2.Set(compiled.map((c) => (c.rec.flags?.includes('i') ? `(?i:${c.rec.pattern})` : c.rec.pattern))) : undefined;
  } catch {
    set = undefined; // DFA budget exceeded for the union: run every recognizer instead
  }
  const allIndexes = compiled.map((_, i) => i);
  const allow = new Set(options.allow.map((v) => v.toLowerCase()));
  const threshold = options.threshold;
  const chunkSize = Math.max(1, options.chunkSize ?? DEFAULT_CHUNK);

  function consider(out: Span[], c: Compiled, text: string, pos: number, match: string): void {
    const cand: Candidate = { text, start: pos, end: pos + match.length };
    if (c.single !== undefined) {
      // Built-in value groups end their pattern or are followed by characters they cannot contain
      // (url_credentials: `@host`), so the last occurrence of the group's text is the group.
      const group = c.single.exec(match)?.[c.rec.valueGroup!];
      if (group === undefined || group.length === 0) return;
      cand.start = pos + match.lastIndexOf(group);
      cand.end = cand.start + group.length;
    }
    let score = c.rec.check ? c.rec.check(cand, c.rec.score) : c.rec.score;
    if (score <= 0) return;
    if (score < threshold && c.rec.context !== undefined) {
      const window = text.slice(Math.max(0, cand.start - CONTEXT_WINDOW), cand.start).toLowerCase();
      if (c.rec.context.some((w) => window.includes(w))) score += CONTEXT_BOOST;
    }
    if (score < threshold || cand.end <= cand.start) return;
    if (allow.size > 0 && allow.has(text.slice(cand.start, cand.end).toLowerCase())) return;
    out.push({ type: c.rec.type, start: cand.start, end: cand.end, score, priority: c.rec.priority });
  }

  /** Runs one recognizer over `chunk`, which starts at `offset` in `text`. */
  function run(out: Span[], c: Compiled, text: string, chunk: string, offset: number): void {
    if (c.positionFree) {
      const matches = chunk.match(c.global);
      if (matches === null) return;
      let cursor = 0;
      for (const m of matches) {
        if (m.length === 0) continue;
        const pos = chunk.indexOf(m, cursor);
        if (pos < 0) break;
        cursor = pos + m.length;
        consider(out, c, text, offset + pos, m);
      }
      return;
    }
    const re = c.global;
    re.lastIndex = 0;
    for (let m = re.exec(chunk); m !== null; m = re.exec(chunk)) {
      if (m[0].length === 0) {
        re.lastIndex = m.index + 1; // a custom pattern matched the empty string here
        if (re.lastIndex > chunk.length) break;
        continue;
      }
      consider(out, c, text, offset + m.index, m[0]);
    }
  }

  // The per-chunk set holds only the recognizers that are worth localising (see detect).
  const chunkable = allIndexes.filter((i) => !compiled[i]!.rec.multiline && !compiled[i]!.rec.literalStart);
  let chunkSet: InstanceType<typeof RE2.Set> | undefined;
  try {
    chunkSet = chunkable.length > 1 ? new RE2.Set(chunkable.map((i) => set!.sources[i]!)) : undefined;
  } catch {
    chunkSet = undefined;
  }

  /**
   * One set pass over the whole text says which recognizers fire. Those with a literal start (or spanning
   * lines) then scan the whole text. The others start with a character class, so re2 must step through every
   * byte for each of them: when several fire in a long text, the text is cut after newlines into chunks of
   * about `chunkSize` characters, a second set finds which fire in each chunk, and each runs on its chunks
   * only. Single-line patterns cannot match across a cut.
   */
  function detect(text: string): Span[] {
    if (text.length === 0 || compiled.length === 0) return [];
    const fired = set ? set.match(text) : allIndexes;
    if (fired.length === 0) return [];
    const out: Span[] = [];
    const local = new Set<number>();
    for (const i of fired) {
      const c = compiled[i]!;
      if (c.rec.multiline || c.rec.literalStart) run(out, c, text, text, 0);
      else local.add(i);
    }
    if (local.size < 2 || chunkSet === undefined || text.length <= chunkSize * 2) {
      for (const i of local) run(out, compiled[i]!, text, text, 0);
    } else {
      for (let start = 0; start < text.length; ) {
        const nl = text.length - start <= chunkSize * 2 ? -1 : text.indexOf('\n', start + chunkSize);
        const end = nl < 0 ? text.length : nl + 1;
        const chunk = text.slice(start, end);
        for (const j of chunkSet.match(chunk)) {
          const i = chunkable[j]!;
          if (local.has(i)) run(out, compiled[i]!, text, chunk, start);
        }
        start = end;
      }
    }
    return resolveOverlaps(out);
  }

  return {
    types: [...new Set(options.recognizers.map((r) => r.type))],
    detect,
    detectBytes: (bytes) => detect(bytes.toString('latin1')),
  };
}

function better(a: Span, b: Span): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  if (a.score !== b.score) return a.score > b.score;
  return a.end - a.start > b.end - b.start;
}

/** Keeps non-overlapping spans, preferring priority, then score, then length; linear after sorting. */
export function resolveOverlaps(spans: Span[]): Span[] {
  if (spans.length < 2) return spans;
  spans.sort((a, b) => a.start - b.start || b.end - a.end);
  const out: Span[] = [];
  for (const s of spans) {
    const last = out[out.length - 1];
    if (last === undefined || s.start >= last.end) out.push(s);
    else if (better(s, last)) {
      // Sorted by start, so s cannot overlap anything before `last`.
      out[out.length - 1] = s;
    }
  }
  return out;
}
