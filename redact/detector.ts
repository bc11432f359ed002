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
}

interface Compiled {
  readonly rec: Recognizer;
  readonly global: RE2;
  /** Non-global copy used to locate the value group inside one match. */
  readonly single: RE2 | undefined;
  /** Pattern has no assertions: positions can be recovered with indexOf (see recognizer.ts). */
  readonly positionFree: boolean;
}

/** Characters per chunk of a long text (see detectChunked). */
const CHUNK = 100000;

const ASSERTION = /\\[bBAzZ]|[\^$]|\(\?[a-z]*m/;

export interface DetectorOptions {
  readonly recognizers: readonly Recognizer[];
  /** Minimum score to keep a span. */
  readonly threshold: number;
  /** Values never reported (compared case-insensitively). */
  readonly allow: readonly string[];
}

/**
 * Compiles every recognizer once, plus one RE2.Set over all of them: a single pass tells which
 * recognizers fire, and only those are run to collect positions.
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

  function consider(out: Span[], c: Compiled, text: string, pos: number, match: string): void {
    const cand: Candidate = { text, start: pos, end: pos + match.length };
    if (c.single !== undefined) {
      // Built-in value groups end their pattern or are followed by characters they cannot contain
      // (url_credentials: `@host`), so the last occurrence of the group is the group.
      const group = c.single.exec(match)?.[c.rec.valueGroup!];
      if (group === undefined || group.length === 0) return;
      const at = match.lastIndexOf(group);
      cand.start = pos + at;
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

  /** Runs one recognizer over `chunk`, which sits at `offset` in `text`. */
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
        re.lastIndex = m.index + 1;
        if (re.lastIndex > chunk.length) break;
        continue;
      }
      consider(out, c, text, offset + m.index, m[0]);
    }
  }

  /**
   * Long texts are cut after newlines into chunks of about CHUNK characters and the set runs per chunk, so a
   * recognizer that fires only scans the chunks where it fired. Single-line recognizers cannot match across
   * the cut; multi-line ones run once over the whole text.
   */
  function detectChunked(found: Span[], text: string): void {
    const multi = new Set<number>();
    for (let start = 0; start < text.length; ) {
      const nl = text.indexOf('\n', start + CHUNK);
      const end = nl < 0 ? text.length : nl + 1;
      const chunk = start === 0 && end === text.length ? text : text.slice(start, end);
      for (const i of set ? set.match(chunk) : allIndexes) {
        const c = compiled[i]!;
        if (c.rec.multiline) multi.add(i);
        else run(found, c, text, chunk, start);
      }
      start = end;
    }
    for (const i of multi) run(found, compiled[i]!, text, text, 0);
  }

  return {
    types: [...new Set(options.recognizers.map((r) => r.type))],
    detect(text: string): Span[] {
      if (text.length === 0 || compiled.length === 0) return [];
      const found: Span[] = [];
      detectChunked(found, text);
      return resolveOverlaps(found);
    },
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
