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
   * previous one (had the same bytes occurred earlier, the pattern would have matched there first), so one
   * native `match` call returns every match of a chunk.
   */
  readonly positionFree: boolean;
}

/** A raw match: byte offsets into the scanned buffer. */
interface Hit {
  readonly c: Compiled;
  readonly start: number;
  readonly end: number;
}

const ASSERTION = /\\[bBAzZ]|[\^$]|\(\?[a-z]*m/;

/** Bytes per chunk of a long text (see createDetector). */
const DEFAULT_CHUNK = 256;
/** Up to this many recognizers firing in a whole text, they run over the whole text instead of per chunk. */
const FEW = 3;

export interface DetectorOptions {
  readonly recognizers: readonly Recognizer[];
  /** Minimum score to keep a span. */
  readonly threshold: number;
  /** Values never reported (compared case-insensitively). */
  readonly allow: readonly string[];
  /** Bytes per chunk; tests shrink it to put chunk cuts everywhere. */
  readonly chunkSize?: number;
}

/**
 * Compiles every recognizer once, plus RE2.Sets over them (see SET_SIZE). The text is converted to UTF-8 once
 * (node-re2 would convert a string again on every call) and cut after newlines into chunks of about
 * `chunkSize` bytes; per chunk the sets say which recognizers fire, and only those run, on that chunk only.
 * On text dense with entities nearly every recognizer fires somewhere but few in any one chunk. Single-line
 * patterns cannot match across a cut; multi-line ones run once over the whole buffer.
 */
export function createDetector(options: DetectorOptions): Detector {
  const compiled: Compiled[] = options.recognizers.map((rec) => ({
    rec,
    global: new RE2(rec.pattern, `g${rec.flags ?? ''}`),
    single: rec.valueGroup === undefined || rec.locate ? undefined : new RE2(rec.pattern, rec.flags ?? ''),
    positionFree: !ASSERTION.test(rec.pattern),
  }));
  const sets = buildSets(compiled);
  const allIndexes = compiled.map((_, i) => i);
  /**
   * Whether the last long text was dense. Only picks the sets of the next whole-text pass (one set is cheaper
   * on sparse text, the groups on dense text, where one set thrashes); results never depend on it.
   */
  let lastDense = false;
  const allow = new Set(options.allow.map((v) => v.toLowerCase()));
  const threshold = options.threshold;
  const chunkSize = Math.max(1, options.chunkSize ?? DEFAULT_CHUNK);

  /** Collects every match of one recognizer in `chunk`, which starts at byte `offset`. */
  function run(hits: Hit[], c: Compiled, chunk: Buffer, offset: number): void {
    if (c.positionFree) {
      const matches = c.global.match(chunk);
      if (matches === null) return;
      let cursor = 0;
      for (const m of matches as unknown as Buffer[]) {
        if (m.length === 0) continue;
        const pos = chunk.indexOf(m, cursor);
        if (pos < 0) break;
        cursor = pos + m.length;
        hits.push({ c, start: offset + pos, end: offset + cursor });
      }
      return;
    }
    const re = c.global;
    re.lastIndex = 0;
    for (let m = re.exec(chunk); m !== null; m = re.exec(chunk)) {
      const len = m[0].length;
      if (len === 0) {
        re.lastIndex = m.index + 1; // a custom pattern matched the empty string here
        if (re.lastIndex > chunk.length) break;
        continue;
      }
      hits.push({ c, start: offset + m.index, end: offset + m.index + len });
    }
  }

  function collect(buf: Buffer): Hit[] {
    const hits: Hit[] = [];
    let groups = sets?.groups;
    if (buf.length > chunkSize * 2 && sets !== undefined) {
      // Most texts carry nothing, or one or two kinds of entity: one set pass over the whole buffer and a
      // few whole-buffer runs are then cheaper than set calls per chunk.
      const fired = fire(lastDense || sets.all === undefined ? sets.groups : sets.all, buf);
      lastDense = fired.length > SPARSE;
      if (fired.length <= FEW) {
        for (const i of fired) run(hits, compiled[i]!, buf, 0);
        return hits;
      }
      if (fired.length <= SPARSE && sets.all !== undefined) groups = sets.all;
      // Chunks need no set whose recognizers all stay silent on the whole text.
      else groups = sets.groups.filter((g) => g.indexes.some((i) => fired.includes(i)));
    }
    let whole: Set<number> | undefined;
    for (let start = 0; start < buf.length; ) {
      const nl = buf.length - start <= chunkSize * 2 ? -1 : buf.indexOf(10, start + chunkSize);
      const end = nl < 0 ? buf.length : nl + 1;
      const chunk = start === 0 && end === buf.length ? buf : buf.subarray(start, end);
      for (const i of groups ? fire(groups, chunk) : allIndexes) {
        const c = compiled[i]!;
        if (c.rec.multiline) (whole ??= new Set()).add(i);
        else run(hits, c, chunk, start);
      }
      start = end;
    }
    if (whole) for (const i of whole) run(hits, compiled[i]!, buf, 0);
    return hits;
  }

  function consider(out: Span[], c: Compiled, text: string, pos: number, end: number): void {
    const cand: Candidate = { text, start: pos, end };
    if (c.rec.locate !== undefined) {
      const [from, to] = c.rec.locate(text.slice(pos, end));
      cand.start = pos + from;
      cand.end = pos + to;
    } else if (c.single !== undefined) {
      // The last occurrence of the group's text is the group for patterns where it ends the match or is
      // followed by characters it cannot contain.
      const match = text.slice(pos, end);
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

  /** `text` and `buf` hold the same characters; `bytesAreUnits` when a byte offset is a UTF-16 offset. */
  function detectIn(text: string, buf: Buffer, bytesAreUnits: boolean): Span[] {
    if (buf.length === 0 || compiled.length === 0) return [];
    const hits = collect(buf);
    if (hits.length === 0) return [];
    const out: Span[] = [];
    if (bytesAreUnits) for (const h of hits) consider(out, h.c, text, h.start, h.end);
    else {
      let last = 0;
      for (const h of hits) if (h.end > last) last = h.end;
      const units = utf16Offsets(buf, last);
      for (const h of hits) consider(out, h.c, text, units[h.start]!, units[h.end]!);
    }
    return resolveOverlaps(out);
  }

  return {
    types: [...new Set(options.recognizers.map((r) => r.type))],
    detect(text: string): Span[] {
      const buf = Buffer.from(text, 'utf8');
      return detectIn(text, buf, buf.length === text.length);
    },
    detectBytes: (bytes) => detectIn(bytes.toString('latin1'), bytes, true),
  };
}

/**
 * Recognizers per RE2.Set. One set over all ~20 built-ins exceeds its DFA cache on text dense with entities
 * (many patterns half-matched at once) and then runs ~10x slower than two sets of half the size.
 */
const SET_SIZE = 12;
/**
 * Up to this many recognizers firing in a whole text, it is sparse enough for the chunks to use one set over
 * all recognizers: one call per chunk instead of one per group.
 */
const SPARSE = 10;

interface SetGroup {
  readonly set: InstanceType<typeof RE2.Set>;
  /** Recognizer index of each pattern of the set. */
  readonly indexes: readonly number[];
}

interface Sets {
  /** Sets of at most SET_SIZE recognizers, in recognizer order. */
  readonly groups: readonly SetGroup[];
  /** One set over all recognizers, for sparse texts; undefined when beyond re2's budget. */
  readonly all: readonly SetGroup[] | undefined;
}

const setOf = (part: readonly Compiled[], from: number): SetGroup => ({
  set: new RE2.Set(part.map((c) => (c.rec.flags?.includes('i') ? `(?i:${c.rec.pattern})` : c.rec.pattern))),
  indexes: part.map((_, i) => from + i),
});

function buildSets(compiled: readonly Compiled[]): Sets | undefined {
  if (compiled.length === 0) return undefined;
  const groups: SetGroup[] = [];
  try {
    for (let from = 0; from < compiled.length; from += SET_SIZE) groups.push(setOf(compiled.slice(from, from + SET_SIZE), from));
  } catch {
    return undefined; // DFA budget exceeded: run every recognizer instead
  }
  if (groups.length === 1) return { groups, all: groups };
  try {
    return { groups, all: [setOf(compiled, 0)] };
  } catch {
    return { groups, all: undefined };
  }
}

/** Indexes of the recognizers that match somewhere in `buf`, ascending. */
function fire(sets: readonly SetGroup[], buf: Buffer): number[] {
  const out: number[] = [];
  for (const g of sets) {
    const hits = g.set.match(buf);
    if (hits.length > 1) hits.sort((a, b) => a - b);
    for (const i of hits) out.push(g.indexes[i]!);
  }
  return out;
}

/**
 * UTF-16 offset of every byte offset of `buf` up to `last`, in one forward pass: every byte that is not a
 * continuation byte starts one UTF-16 unit, and 4-byte sequences take two. (Lone surrogates were encoded as
 * U+FFFD, three bytes for one unit, so offsets stay aligned with the string.) A flat table (4 bytes per byte,
 * transient) costs little more than the walk itself, where collecting and sorting the hits' offsets first cost
 * more than the walk on dense text.
 */
function utf16Offsets(buf: Buffer, last: number): Uint32Array {
  const units = new Uint32Array(last + 1);
  let unit = 0;
  for (let byte = 0; byte < last; byte++) {
    units[byte] = unit;
    const b = buf[byte]!;
    if ((b & 0xc0) !== 0x80) unit += b >= 0xf0 ? 2 : 1;
  }
  units[last] = unit;
  return units;
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
