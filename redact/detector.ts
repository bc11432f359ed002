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
  /** Global; run on Buffers, so offsets (and value-group indices) are byte offsets. */
  readonly re: RE2;
}

/** Bytes per chunk of a long text (see collect). */
const DEFAULT_CHUNK = 256;

/** A raw match in bytes: the whole match and the value inside it. */
interface Hit {
  readonly c: Compiled;
  readonly start: number;
  readonly end: number;
}

export interface DetectorOptions {
  readonly recognizers: readonly Recognizer[];
  /** Minimum score to keep a span. */
  readonly threshold: number;
  /** Values never reported (compared case-insensitively). */
  readonly allow: readonly string[];
  /** Bytes per chunk (see collect); tests shrink it to put chunk cuts everywhere. */
  readonly chunkSize?: number;
}

/**
 * Compiles every recognizer once, plus one RE2.Set over all of them: a single pass tells which recognizers
 * fire, and only those run to collect positions. Everything runs on one UTF-8 Buffer of the text: node-re2
 * converts a JS string to UTF-8 on every call, which would cost more than the matching itself.
 */
export function createDetector(options: DetectorOptions): Detector {
  // Indices (`d`) cost on every match: only recognizers with a value group ask for them.
  const compiled: Compiled[] = options.recognizers.map((rec) => ({
    rec,
    re: new RE2(rec.pattern, `g${rec.valueGroup === undefined ? '' : 'd'}${rec.flags ?? ''}`),
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
  const CHUNK = Math.max(1, options.chunkSize ?? DEFAULT_CHUNK);

  function execAll(hits: Hit[], c: Compiled, buf: Buffer, offset: number): void {
    const re = c.re;
    const g = c.rec.valueGroup;
    re.lastIndex = 0;
    for (let m = re.exec(buf); m !== null; m = re.exec(buf)) {
      const len = m[0].length;
      if (len === 0) {
        re.lastIndex = m.index + 1; // a custom pattern matched the empty string here
        if (re.lastIndex > buf.length) break;
        continue;
      }
      if (g === undefined) hits.push({ c, start: offset + m.index, end: offset + m.index + len });
      else {
        const range = m.indices?.[g];
        if (range !== undefined && range[1] > range[0]) hits.push({ c, start: offset + range[0], end: offset + range[1] });
      }
    }
  }

  /**
   * The buffer is cut after newlines into chunks of about CHUNK bytes (zero-copy subarrays) and the set runs
   * per chunk, so a recognizer only scans the chunks where it fires: on text dense with entities nearly every
   * recognizer fires somewhere, but few fire in any one chunk. Single-line patterns cannot match across the
   * cut; multi-line ones run once over the whole buffer.
   */
  function collect(buf: Buffer): Hit[] {
    const hits: Hit[] = [];
    const whole = new Set<number>();
    for (let start = 0; start < buf.length; ) {
      const nl = buf.length - start <= CHUNK * 2 ? -1 : buf.indexOf(10, start + CHUNK);
      const end = nl < 0 ? buf.length : nl + 1;
      const chunk = start === 0 && end === buf.length ? buf : buf.subarray(start, end);
      for (const i of set ? set.match(chunk) : allIndexes) {
        const c = compiled[i]!;
        if (c.rec.multiline) whole.add(i);
        else execAll(hits, c, chunk, start);
      }
      start = end;
    }
    for (const i of whole) execAll(hits, compiled[i]!, buf, 0);
    return hits;
  }

  function consider(out: Span[], c: Compiled, text: string, start: number, end: number): void {
    const cand: Candidate = { text, start, end };
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

  return {
    types: [...new Set(options.recognizers.map((r) => r.type))],
    detect(text: string): Span[] {
      if (text.length === 0 || compiled.length === 0) return [];
      const buf = Buffer.from(text, 'utf8');
      const hits = collect(buf);
      if (hits.length === 0) return [];
      const out: Span[] = [];
      if (buf.length === text.length) {
        // ASCII: byte offsets are UTF-16 offsets.
        for (const h of hits) consider(out, h.c, text, h.start, h.end);
      } else {
        const toUtf16 = utf16Offsets(buf, hits);
        for (const h of hits) consider(out, h.c, text, toUtf16.get(h.start)!, toUtf16.get(h.end)!);
      }
      return resolveOverlaps(out);
    },
    detectBytes(bytes: Buffer): Span[] {
      if (bytes.length === 0 || compiled.length === 0) return [];
      const hits = collect(bytes);
      if (hits.length === 0) return [];
      const text = bytes.toString('latin1');
      const out: Span[] = [];
      for (const h of hits) consider(out, h.c, text, h.start, h.end);
      return resolveOverlaps(out);
    },
  };
}

/** Maps the byte offsets of the hits to UTF-16 offsets in one forward pass. */
function utf16Offsets(buf: Buffer, hits: readonly Hit[]): Map<number, number> {
  const offsets = [...new Set(hits.flatMap((h) => [h.start, h.end]))].sort((a, b) => a - b);
  const map = new Map<number, number>();
  let byte = 0;
  let unit = 0;
  for (const b of offsets) {
    unit += buf.toString('utf8', byte, b).length;
    byte = b;
    map.set(b, unit);
  }
  return map;
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
