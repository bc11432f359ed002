import RE2 from 're2';
import { createLiteralSearch, type LiteralSearch } from '../core/index.js';
import type { Candidate, Recognizer } from './recognizer.js';
import { CONTEXT_BOOST, CONTEXT_WINDOW } from './recognizer.js';
import { VERDICT_BOOSTED, VERDICT_JS, VERDICT_SETTLED, VERDICT_SETTLED_BOOSTED, flagBits, native, nativeEvaluation } from './native-collector.js';
import type { NativeCollector, NativeEngine, NativeEvaluation, NativeSetGroup } from './native-collector.js';
import { Coverage } from './coverage.js';
import { prefilterLiterals } from './prefilter-literals.js';
import { utf16OffsetOf } from './utf16-offsets.js';
import { createUtf8Encoder } from './utf8.js';

/** A detected entity: UTF-16 offsets into the scanned string. */
export interface Span {
  readonly type: string;
  readonly start: number;
  readonly end: number;
  readonly score: number;
  readonly priority: number;
}

/** Numbers per span in PackedSpans. */
export const PER_SPAN = 3;

/**
 * Spans as numbers, PER_SPAN per span: its type (an index into Detector.types), start and end; in text order.
 * Only the first `count` spans of `data` are these.
 */
export interface PackedSpans {
  readonly data: Int32Array;
  readonly count: number;
}

export interface Detector {
  readonly types: readonly string[];
  /** Which loop finds the raw matches: the C++ one (redact/native/collector.cc) or the JavaScript one. */
  readonly collector: 'native' | 'js';
  /** True when a search for the prefilters' literals decides first whether re2 runs at all (see literalGate). */
  readonly literalGate: boolean;
  /** `utf8`, when the caller has it already, must be the UTF-8 of `text` (it is not kept). */
  detect(text: string, utf8?: Buffer): Span[];
  /**
   * Detects in raw bytes read as latin1 (one byte = one character): offsets are byte offsets and invalid
   * UTF-8 cannot throw. For egress bodies, where everything worth finding is ASCII.
   */
  detectBytes(bytes: Buffer): Span[];
  /**
   * What detect finds, as numbers and without an object per span (the redactor's path). `data` is the detector's
   * own and is overwritten by its next call: use it, or copy it, first.
   */
  detectPacked(text: string, utf8?: Buffer): PackedSpans;
}

/** Where a recognizer runs: the values `compile` takes per pattern (see NativeCollector). */
const CHUNKS = 0; // over runs of the chunks where it fired
const WHOLE = 1; // over whole texts: multi-line, or with assertions (a chunk's start would pass for the text's)
const FROM_FIRST = 2; // over texts from the first chunk its prefilter fired in (see startsAfterPrefilter)

interface Compiled {
  readonly rec: Recognizer;
  /** The pattern has assertions (`\b`, `^`, `$`, …). */
  readonly assertions: boolean;
  readonly runs: typeof CHUNKS | typeof WHOLE | typeof FROM_FIRST;
  /**
   * Non-global: node-re2 validates and translates the pattern (the C++ collector compiles its `internalSource`),
   * extracts value groups from one match, and in the JavaScript loop finds where the next match in a slice starts
   * (`re.search(slice)`; for patterns without assertions a match found in a slice is the match found at the same
   * place in the whole text).
   */
  readonly re: RE2;
  /** The JavaScript loop's only: sticky, where a match found by `re` ends (no allocation, where `exec` copies every match into a new Buffer). */
  readonly anchored: RE2 | undefined;
  /** The JavaScript loop's only, for patterns with assertions: whole-text runs (an `exec` loop). */
  readonly global: RE2 | undefined;
}

/** Slots per match in Hits: recognizer, start, end, verdict (see NativeCollector.collect). */
const FIELDS = 4;

/**
 * Matches of one detection: recognizer index, start and end offsets into the scanned buffer, and the C++
 * evaluation's verdict (VERDICT_JS for every match the JavaScript loop finds). Kept by the detector and reused
 * (detection is synchronous): an object per match, or arrays emptied with `length = 0` (V8 drops their storage),
 * were garbage on every text.
 */
class Hits {
  data = new Int32Array(FIELDS * 256);
  count = 0;

  push(rec: number, start: number, end: number): void {
    if (FIELDS * (this.count + 1) > this.data.length) this.data = doubled(this.data);
    const at = FIELDS * this.count++;
    this.data[at] = rec;
    this.data[at + 1] = start;
    this.data[at + 2] = end;
    this.data[at + 3] = VERDICT_JS;
  }
}

/**
 * Bytes per chunk of a long text (see createDetector): smaller chunks mean fewer bytes for each recognizer that
 * fires, more calls. The C++ collector's calls cost nothing to speak of (64: −10% against 256 on entity-dense
 * text); from JavaScript every call into node-re2 does.
 */
const DEFAULT_CHUNK = { native: 64, js: 256 };

export interface DetectorOptions {
  readonly recognizers: readonly Recognizer[];
  /** Minimum score to keep a span. */
  readonly threshold: number;
  /** Values never reported (compared case-insensitively). */
  readonly allow: readonly string[];
  /** Bytes per chunk; tests shrink it to put chunk cuts everywhere. */
  readonly chunkSize?: number;
  /** Collect matches in JavaScript even when the native collector is built (tests compare the two). */
  readonly jsCollector?: boolean;
  /** `false`: no search for the prefilters' literals before the sets run (tests compare with and without). */
  readonly literalGate?: boolean;
}

/**
 * Compiles every recognizer once, plus RE2.Sets over their prefilters (see setEntries). The text is converted to
 * UTF-8 once (node-re2 would convert a string again on every call) and cut after newlines into chunks of about
 * `chunkSize` bytes; per chunk one set pass says which recognizers can match there, and only those run, on that
 * chunk only. Single-line patterns cannot match across a cut; multi-line ones run once over the whole buffer
 * when their prefilter fires in some chunk (or, without one, when their own set fires on the whole buffer).
 * That loop (`collect`) runs in C++ when the addon is built (native-collector.ts), else in JavaScript: same
 * matches in the same order. Candidates are then checked and their overlaps settled (`evaluate`); the C++ collector
 * does that too for recognizers with a `native` check (redact/native/checks.cc), and hands a text back to
 * `evaluate` when one of its matches needs JavaScript (a custom recognizer, a window that is not ASCII).
 */
export function createDetector(options: DetectorOptions): Detector {
  const collector = options.jsCollector === true ? undefined : native.collector;
  const useNative = collector !== undefined;
  const compiled: Compiled[] = options.recognizers.map((rec) => {
    const flags = rec.flags ?? '';
    const assertions = !assertionFree(rec.pattern);
    const re = new RE2(rec.pattern, flags);
    return {
      rec,
      assertions,
      runs: rec.multiline !== true && !assertions ? CHUNKS : startsAfterPrefilter(rec, assertions) ? FROM_FIRST : WHOLE,
      re,
      anchored: useNative || assertions ? undefined : new RE2(rec.pattern, `y${flags}`),
      global: useNative || !assertions ? undefined : new RE2(rec.pattern, `g${flags}`),
    };
  });
  const chunkSize = Math.max(1, options.chunkSize ?? DEFAULT_CHUNK[useNative ? 'native' : 'js']);
  const entries = setEntries(compiled);
  const gate = options.literalGate === false ? undefined : literalGate(compiled);
  const allow = new Set(options.allow.map((v) => v.toLowerCase()));
  const threshold = options.threshold;
  // Levels of priority, 0 the highest: each recognizer's level, and per level where its matches start in `order`.
  const priorities = [...new Set(compiled.map((c) => c.rec.priority))].sort((a, b) => b - a);
  const levelOf = Int32Array.from(compiled, (c) => priorities.indexOf(c.rec.priority));
  const engine =
    collector === undefined ? undefined : nativeEngine(collector, compiled, entries, chunkSize, nativeEvaluation(options.recognizers, levelOf, threshold, allow));
  const sets = engine === undefined ? buildSets(entries) : undefined;
  const allIndexes = compiled.map((_, i) => i);
  const types = [...new Set(options.recognizers.map((r) => r.type))];
  const typeIndex = new Map(types.map((type, i) => [type, i]));
  /** Per recognizer, its type's index in `types`. */
  const typeOf = Int32Array.from(compiled, (c) => typeIndex.get(c.rec.type)!);
  const levelStart = new Int32Array(priorities.length + 1);
  const levelFill = new Int32Array(priorities.length + 1);
  const hits = new Hits();
  /** Per recognizer, the [start, end) byte ranges of the chunks where it fired, and how many (reused). */
  const fired = compiled.map(() => ({ bounds: new Int32Array(64), count: 0 }));

  /** Collects every match of recognizer `i` in `chunk`, which starts at byte `offset`. */
  function run(i: number, chunk: Buffer, offset: number): void {
    const c = compiled[i]!;
    const { anchored } = c;
    if (anchored !== undefined) {
      for (let cursor = 0; cursor < chunk.length; ) {
        const found = c.re.search(cursor === 0 ? chunk : chunk.subarray(cursor));
        if (found < 0) return;
        const start = cursor + found;
        anchored.lastIndex = start;
        const end = anchored.test(chunk) ? anchored.lastIndex : start;
        if (end > start) {
          hits.push(i, offset + start, offset + end);
          cursor = end;
        } else cursor = nextChar(chunk, start); // a custom pattern matched the empty string here
      }
      return;
    }
    const global = c.global!;
    global.lastIndex = 0;
    for (let m = global.exec(chunk); m !== null; m = global.exec(chunk)) {
      const len = m[0].length;
      if (len === 0) {
        global.lastIndex = nextChar(chunk, m.index);
        if (global.lastIndex >= chunk.length) break;
        continue;
      }
      hits.push(i, offset + m.index, offset + m.index + len);
    }
  }

  /**
   * Matches into `hits`, evaluated by the C++ collector or left to `consider`; true when their offsets are UTF-16
   * offsets already (the native collector's).
   */
  function collect(buf: Buffer, bytesAreUnits: boolean): boolean {
    if (engine !== undefined) {
      let count = collector!.collect(engine, buf, hits.data, !bytesAreUnits);
      if (FIELDS * count > hits.data.length) {
        // Rare (the array stays grown): the second call scans again.
        hits.data = new Int32Array(2 ** Math.ceil(Math.log2(FIELDS * count)));
        count = collector!.collect(engine, buf, hits.data, !bytesAreUnits);
      }
      hits.count = count;
      return true;
    }
    hits.count = 0;
    for (let i = 0; i < fired.length; i++) fired[i]!.count = 0;
    // Each recognizer then runs over all of its chunks in a row, which keeps its DFA in the CPU caches (going
    // chunk by chunk through ~20 recognizers' DFAs cost more than the scanning).
    let whole: Map<number, number> | undefined; // recognizer -> where its whole-text run starts
    for (let start = 0; start < buf.length; ) {
      const nl = buf.length - start <= chunkSize * 2 ? -1 : buf.indexOf(10, start + chunkSize);
      const end = nl < 0 ? buf.length : nl + 1;
      const firing = sets ? fire(sets.chunk, start === 0 && end === buf.length ? buf : buf.subarray(start, end)) : allIndexes;
      for (let f = 0; f < firing.length; f++) {
        const i = firing[f]!;
        const runs = compiled[i]!.runs;
        if (runs !== CHUNKS) {
          // Matches start with a prefilter match (`prefilterStarts`): none before the first chunk it fired in.
          if (!whole?.has(i)) (whole ??= new Map()).set(i, runs === FROM_FIRST ? start : 0);
        }
        else {
          // Runs of chunks where a recognizer fires are searched as one slice: fewer calls, same bytes.
          const f = fired[i]!;
          if (f.count > 0 && f.bounds[f.count - 1] === start) f.bounds[f.count - 1] = end;
          else {
            if (f.count + 2 > f.bounds.length) f.bounds = doubled(f.bounds);
            f.bounds[f.count++] = start;
            f.bounds[f.count++] = end;
          }
        }
      }
      start = end;
    }
    fired.forEach(({ bounds, count }, i) => {
      for (let k = 0; k < count; k += 2) run(i, buf.subarray(bounds[k], bounds[k + 1]), bounds[k]!);
    });
    if (sets) for (const i of fire(sets.whole, buf)) (whole ??= new Map()).set(i, 0);
    if (whole) for (const [i, from] of [...whole].sort(([a], [b]) => a - b)) run(i, from === 0 ? buf : buf.subarray(from), from);
    return bytesAreUnits;
  }

  /**
   * Evaluates one match of `c` (UTF-16 offsets) into `out`, unless the value it narrows to lies wholly under spans
   * of higher priority already taken: then it could never be kept, and its check (an entropy pass, a checksum) is
   * skipped. `cand` is one object per text, reset here for each match (checks may narrow it but never keep it).
   */
  function consider(out: Span[], c: Compiled, cand: Candidate, pos: number, end: number): void {
    const text = cand.text;
    cand.start = pos;
    cand.end = end;
    if (c.rec.locate !== undefined) c.rec.locate(cand);
    else if (c.rec.valueGroup !== undefined) {
      // re2 extracts the group. The last occurrence of the group's text is the group for patterns where it ends
      // the match or is followed by characters it cannot contain.
      const match = text.slice(pos, end);
      const group = c.re.exec(match)?.[c.rec.valueGroup];
      if (group === undefined || group.length === 0) return;
      cand.start = pos + match.lastIndexOf(group);
      cand.end = cand.start + group.length;
    }
    // Checks only narrow a candidate: one wholly covered now stays covered.
    if (cand.end <= cand.start || taken.covers(cand.start, cand.end)) return;
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

  const taken = new Coverage();
  const encode = createUtf8Encoder();
  let order = new Int32Array(256);

  /** `text` and `buf` hold the same characters; `bytesAreUnits` when a byte offset is a UTF-16 offset. */
  function detectIn(text: string, buf: Buffer, bytesAreUnits: boolean): Span[] {
    if (!found(buf, bytesAreUnits)) return evaluate(text, buf);
    return settled();
  }

  /** The C++ collector evaluated every match in `hits` and settled the overlaps: these are the spans, in text order. */
  function settled(): Span[] {
    const { data, count } = hits;
    const spans: Span[] = new Array(count);
    for (let k = 0, at = 0; k < count; k++, at += FIELDS) spans[k] = evaluated(compiled[data[at]!]!, data[at + 1]!, data[at + 2]!, data[at + 3] === VERDICT_SETTLED_BOOSTED);
    return spans;
  }

  /** A span the C++ collector evaluated (redact/native/checks.cc): narrowed, checked, above the threshold, not allowed. */
  const evaluated = ({ rec }: Compiled, start: number, end: number, boosted: boolean): Span => ({
    type: rec.type,
    start,
    end,
    score: boosted ? rec.score + CONTEXT_BOOST : rec.score,
    priority: rec.priority,
  });

  /** detectIn as PackedSpans, into an array the detector keeps (see Detector.detectPacked). */
  let packed = new Int32Array(PER_SPAN * 256);
  function detectPacked(text: string, buf: Buffer): PackedSpans {
    const spans = found(buf, buf.length === text.length) ? undefined : evaluate(text, buf);
    const count = spans === undefined ? hits.count : spans.length;
    if (packed.length < PER_SPAN * count) packed = new Int32Array(2 ** Math.ceil(Math.log2(PER_SPAN * count)));
    const pack = (k: number, type: number, start: number, end: number): void => {
      packed[PER_SPAN * k] = type;
      packed[PER_SPAN * k + 1] = start;
      packed[PER_SPAN * k + 2] = end;
    };
    if (spans === undefined) for (let k = 0, at = 0; k < count; k++, at += FIELDS) pack(k, typeOf[hits.data[at]!]!, hits.data[at + 1]!, hits.data[at + 2]!);
    else spans.forEach((s, k) => pack(k, typeIndex.get(s.type)!, s.start, s.end));
    return { data: packed, count };
  }

  /** Whether the offsets in `hits` are UTF-16 offsets (see collect). */
  let inUnits = true;
  /** Collects the matches into `hits`; true when the C++ collector settled them into the spans (VERDICT_SETTLED). */
  function found(buf: Buffer, bytesAreUnits: boolean): boolean {
    hits.count = 0;
    if (buf.length === 0 || compiled.length === 0) return false;
    if (gate !== undefined && gate.firstIn(buf) < 0) return false;
    inUnits = collect(buf, bytesAreUnits);
    return hits.count > 0 && hits.data[3]! >= VERDICT_SETTLED;
  }

  /**
   * Evaluates the matches in `hits` (collected from `buf`, the UTF-8 of `text`) in JavaScript, those the C++
   * collector evaluated aside. Overlaps are settled by priority, then score, then length (then position): matches
   * are evaluated a priority at a time, highest first, and a span is kept when it overlaps none kept before it.
   */
  function evaluate(text: string, buf: Buffer): Span[] {
    const { data, count } = hits;
    if (count === 0) return [];
    if (!inUnits) {
      let last = 0;
      for (let k = 0; k < FIELDS * count; k += FIELDS) if (data[k + 2]! > last) last = data[k + 2]!;
      const toUnit = utf16OffsetOf(text, buf, last);
      for (let k = 0; k < FIELDS * count; k += FIELDS) {
        data[k + 1] = toUnit(data[k + 1]!);
        data[k + 2] = toUnit(data[k + 2]!);
      }
    }
    // Matches by level of priority, highest first, in the order found within a level (a counting sort: V8 sorts
    // typed arrays with a comparator slowly).
    if (order.length < count) order = new Int32Array(2 ** Math.ceil(Math.log2(count)));
    levelStart.fill(0);
    for (let k = 0; k < count; k++) levelStart[levelOf[data[FIELDS * k]!]! + 1]!++;
    for (let l = 1; l < levelStart.length; l++) levelStart[l]! += levelStart[l - 1]!;
    levelFill.set(levelStart);
    for (let k = 0; k < count; k++) order[levelFill[levelOf[data[FIELDS * k]!]!]!++] = FIELDS * k;
    taken.reset(text.length);
    const out: Span[] = [];
    const cand: Candidate = { text, start: 0, end: 0 };
    const level: Span[] = [];
    for (let l = 0; l + 1 < levelStart.length; l++) {
      if (levelStart[l] === levelStart[l + 1]) continue;
      level.length = 0;
      let mixed = false;
      for (let k = levelStart[l]!; k < levelStart[l + 1]!; k++) {
        const at = order[k]!;
        mixed ||= data[at] !== data[order[levelStart[l]!]!];
        const c = compiled[data[at]!]!;
        const verdict = data[at + 3]!;
        if (verdict === VERDICT_JS) consider(level, c, cand, data[at + 1]!, data[at + 2]!);
        else level.push(evaluated(c, data[at + 1]!, data[at + 2]!, verdict === VERDICT_BOOSTED));
      }
      // One recognizer's matches never overlap one another: only a level shared by several needs the ranking.
      if (mixed) level.sort((a, b) => b.score - a.score || b.end - b.start - (a.end - a.start) || a.start - b.start);
      for (let k = 0; k < level.length; k++) {
        const s = level[k]!;
        if (taken.overlaps(s.start, s.end)) continue;
        taken.take(s.start, s.end, out.length);
        out.push(s);
      }
    }
    return taken.inOrder(out);
  }

  return {
    types,
    collector: engine === undefined ? 'js' : 'native',
    literalGate: gate !== undefined,
    detect(text: string, utf8?: Buffer): Span[] {
      const buf = utf8 ?? encode(text);
      return detectIn(text, buf, buf.length === text.length);
    },
    // The latin1 reading is made only when JavaScript has matches to evaluate: the C++ collector
    // settles most texts (and every text without a match) from the bytes alone.
    detectBytes(bytes) {
      if (!found(bytes, true)) return hits.count === 0 ? [] : evaluate(bytes.toString('latin1'), bytes);
      return settled();
    },
    detectPacked: (text, utf8) => detectPacked(text, utf8 ?? encode(text)),
  };
}

/** Patterns per RE2.Set where a recognizer has no prefilter of its own (custom ones): its full pattern is used. */
const SET_SIZE = 12;

interface SetGroup {
  readonly set: InstanceType<typeof RE2.Set>;
  /** Recognizer index of each pattern of the set. */
  readonly indexes: readonly number[];
}

interface Sets {
  readonly chunk: readonly SetGroup[];
  readonly whole: readonly SetGroup[];
}

const caseless = (c: Compiled, pattern: string): string => (c.rec.flags?.includes('i') ? `(?i:${pattern})` : pattern);

interface SetEntries {
  /** Per chunk: prefilters of every recognizer, and the full patterns of single-line ones without. */
  readonly chunk: readonly NativeSetGroup[];
  /** Once per text: multi-line recognizers and patterns with assertions, without a prefilter. */
  readonly whole: readonly NativeSetGroup[];
}

/**
 * Prefilters are short literals and small classes: one set over all of them keeps its DFA within re2's memory
 * budget on any text. Full patterns (custom recognizers) go in sets of SET_SIZE: one set over many full patterns
 * thrashes its DFA cache on text dense with entities and runs ~10x slower.
 */
function setEntries(compiled: readonly Compiled[]): SetEntries {
  const pre: [number, string][] = [];
  const full: [number, string][] = [];
  const wholeFull: [number, string][] = [];
  compiled.forEach((c, i) => {
    if (c.rec.prefilter !== undefined) pre.push([i, caseless(c, c.rec.prefilter)]);
    else (c.runs === CHUNKS ? full : wholeFull).push([i, caseless(c, c.rec.pattern)]);
  });
  const groups = (list: [number, string][], size: number): NativeSetGroup[] => {
    const out: NativeSetGroup[] = [];
    for (let from = 0; from < list.length; from += size) {
      const part = list.slice(from, from + size);
      out.push([part.map(([i]) => i), part.map(([, p]) => p)]);
    }
    return out;
  };
  return { chunk: [...groups(pre, pre.length), ...groups(full, SET_SIZE)], whole: groups(wholeFull, SET_SIZE) };
}

/** More literals make a search's table denser (more places to compare at) for no gain over re2's sets. */
const MAX_GATE_LITERALS = 256;

/**
 * A search for every literal the recognizers' prefilters can match (prefilter-literals.ts), when every
 * recognizer has a prefilter that is a finite set of literals and the search runs in C++ (which takes
 * literals of two bytes or more): a buffer where it finds none has no match, and re2 need not run over
 * it. The default egress types (secrets with a fixed prefix) have one; PII types (classes with
 * quantifiers) do not.
 */
function literalGate(compiled: readonly Compiled[]): LiteralSearch | undefined {
  const literals: string[] = [];
  for (const c of compiled) {
    const own = c.rec.prefilter === undefined ? undefined : prefilterLiterals(caseless(c, c.rec.prefilter));
    if (own === undefined) return undefined;
    literals.push(...own);
  }
  if (literals.length === 0 || literals.length > MAX_GATE_LITERALS) return undefined;
  const search = createLiteralSearch(literals);
  return search.native ? search : undefined;
}

function buildSets(entries: SetEntries): Sets | undefined {
  const build = (groups: readonly NativeSetGroup[]): SetGroup[] => groups.map(([indexes, patterns]) => ({ set: new RE2.Set(patterns), indexes }));
  try {
    return { chunk: build(entries.chunk), whole: build(entries.whole) };
  } catch {
    return undefined; // beyond re2's memory budget: run every recognizer instead
  }
}

/**
 * The same recognizers and sets for the C++ collector, in RE2's own syntax (node-re2 translates JS-isms such as
 * `(?<name>` and `\u{…}` first).
 */
function nativeEngine(
  collector: NativeCollector,
  compiled: readonly Compiled[],
  entries: SetEntries,
  chunkSize: number,
  evaluation: NativeEvaluation,
): NativeEngine {
  const translate = (groups: readonly NativeSetGroup[]): NativeSetGroup[] =>
    groups.map(([indexes, patterns]) => [indexes, patterns.map((p) => new RE2(p).internalSource)]);
  let chunkSets: NativeSetGroup[] | null;
  let wholeSets: NativeSetGroup[] | null;
  try {
    chunkSets = translate(entries.chunk);
    wholeSets = translate(entries.whole);
  } catch {
    chunkSets = wholeSets = null; // as buildSets: every recognizer runs
  }
  return collector.compile(
    compiled.map((c) => c.re.internalSource),
    compiled.map((c) => flagBits(c.rec.flags ?? '')),
    compiled.map((c) => c.runs),
    chunkSets,
    wholeSets,
    chunkSize,
    evaluation,
  );
}

/** Indexes of the recognizers that can match somewhere in `buf`, in no particular order. */
function fire(sets: readonly SetGroup[], buf: Buffer): number[] {
  if (sets.length === 1) {
    const g = sets[0]!;
    const hits = g.set.match(buf);
    for (let k = 0; k < hits.length; k++) hits[k] = g.indexes[hits[k]!]!;
    return hits;
  }
  const out: number[] = [];
  for (const g of sets) for (const i of g.set.match(buf)) out.push(g.indexes[i]!);
  return out;
}

/**
 * Whether `pattern` has no assertion (`\b`, `\B`, `\A`, `\z`, `^`, `$`, `(?m)`): then a match found in a slice of a
 * text is a match of the text. Character classes are skipped (a `^` or `$` in them is a character).
 */
export function assertionFree(pattern: string): boolean {
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '\\') {
      if (!inClass && 'bBAzZ'.includes(pattern[i + 1] ?? '')) return false;
      i++;
    } else if (inClass) {
      if (ch === '[' && pattern[i + 1] === ':') {
        const close = pattern.indexOf(':]', i + 2);
        if (close < 0) return false;
        i = close + 1;
      } else if (ch === ']') inClass = false;
    } else if (ch === '[') {
      inClass = true;
      if (pattern[i + 1] === '^') i++;
      if (pattern[i + 1] === ']') i++; // a leading `]` is a character
    } else if (ch === '^' || ch === '$') return false;
    else if (ch === '(' && pattern[i + 1] === '?' && /^\(\?[a-zA-Z-]*m/.test(pattern.slice(i, i + 12))) return false;
  }
  return true;
}

/**
 * A whole-text run may start where the prefilter first fired: the recognizer says its matches start with a
 * prefilter match, and the pattern has no assertion that would look at what comes before.
 */
const startsAfterPrefilter = (rec: Recognizer, assertions: boolean): boolean => rec.prefilterStarts === true && rec.prefilter !== undefined && !assertions;

/** A copy of `a` in twice the room. */
function doubled(a: Int32Array): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

/** The byte after the UTF-8 character that starts at `at`. */
function nextChar(buf: Buffer, at: number): number {
  let next = at + 1;
  while (next < buf.length && (buf[next]! & 0xc0) === 0x80) next++;
  return next;
}
