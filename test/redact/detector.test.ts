import { readFileSync } from 'node:fs';
import RE2 from 're2';
import t from 'tap';
import { BUILTIN_RECOGNIZERS, PLACEHOLDER_PATTERN, PLACEHOLDER_PREFILTER } from '../../redact/builtin-recognizers.js';
import { assertionFree, createDetector } from '../../redact/detector.js';
import { createRedactor } from '../../redact/index.js';
import type { Recognizer } from '../../redact/recognizer.js';
import { HARD_CASES } from './corpus/hard-cases.js';

// Long texts are cut into chunks, and per chunk one set pass over the recognizers' prefilters picks the
// recognizers to run there. Whatever the cuts, the spans must be those of a single pass over the whole text.

const samples = readFileSync(new URL('corpus/corpus.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => (JSON.parse(l) as { text: string }).text);
const FILLER = [
  'The service reads its configuration at startup and refuses to start when a field is unknown.\n',
  'for (let i = 0; i < attempts; i++) { try { return await fn(); } catch (err) { last = err; } }\n',
  'Ünïcödé prose ✓ 😀 with no entities at all, version 2.4.1 of the client is pinned.\n',
];
const recognizers: Recognizer[] = [
  ...BUILTIN_RECOGNIZERS,
  { name: 'placeholder', type: 'placeholder', pattern: PLACEHOLDER_PATTERN, prefilter: PLACEHOLDER_PREFILTER, score: 1, priority: 200 },
];

let seed = 99;
// High bits: the low bits of this generator cycle through few values for small n.
const rand = (n: number) => Math.floor(((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * n);

/** About `size` characters: a corpus sample (from `pool`) every `every` characters of filler, or back to back. */
function build(pool: readonly string[], size: number, every: number): string {
  let text = '';
  let since = every;
  while (text.length < size) {
    if (since >= every) {
      text += pool[rand(pool.length)]! + '\n\n';
      since = 0;
    } else {
      const f = FILLER[rand(FILLER.length)]!;
      text += f;
      since += f.length;
    }
  }
  return text;
}

t.test('long texts, dense or sparse: chunked detection equals one whole-text pass', async (t) => {
  const chunked = createDetector({ recognizers, threshold: 0.5, allow: [] });
  const whole = createDetector({ recognizers, threshold: 0.5, allow: [], chunkSize: 1e9 });
  // Samples with digits only: every recognizer that fires then sits in the second set of the built-ins.
  const numeric = samples.filter((s) => /\d{3}/.test(s) && !/sk-|gh[pousr]_|xox|AKIA|AIza|eyJ|BEGIN|:\/\/|password|secret|token|key/i.test(s));
  t.ok(numeric.length > 20, 'enough numeric samples');
  let spans = 0;
  for (const every of [0, 300, 1500, 4000]) {
    for (const pool of [samples, numeric]) {
      for (let run = 0; run < 12; run++) {
        const text = build(pool, 4000 + rand(12_000), every);
        const expected = whole.detect(text);
        spans += expected.length;
        t.same(chunked.detect(text), expected, `every ${every}, run ${run}`);
      }
    }
  }
  t.ok(spans > 1000, `the texts carry entities (${spans})`);
});

t.test('many custom recognizers: more sets, same spans', async (t) => {
  const custom: Recognizer[] = Array.from({ length: 30 }, (_, i) => ({
    name: `c${i}`, type: `c${i}`, pattern: `ZQ${i}-[0-9]{${1 + (i % 5)}}`, score: 0.9, priority: 65, multiline: true,
  }));
  const all = [...recognizers, ...custom];
  const chunked = createDetector({ recognizers: all, threshold: 0.5, allow: [] });
  const whole = createDetector({ recognizers: all, threshold: 0.5, allow: [], chunkSize: 1e9 });
  const refs = custom.map((_, i) => `ref ZQ${i}-12345 done`);
  // Mixed with the corpus, and dense runs of a dozen custom types only, so that only some sets fire.
  const pools = [[...samples.slice(0, 60), ...refs, ...refs], refs.slice(0, 12), refs.slice(2, 14), refs.slice(14, 26), refs.slice(18)];
  for (const pool of pools) {
    for (let run = 0; run < 4; run++) {
      const text = build(pool, 8000, run % 2 === 0 ? 0 : 500);
      const expected = whole.detect(text);
      t.ok(expected.some((s) => /^c\d/.test(s.type)), 'custom types found');
      t.same(chunked.detect(text), expected, `run ${run}`);
    }
  }
});

// Per chunk, one RE2.Set looks for each recognizer's prefilter instead of its pattern. A prefilter that some
// match lacks would make the detector miss that match: every match of every built-in, on the corpus, the hard
// cases and random texts built from the pieces entities are made of, must contain its prefilter.
t.test('every match of a built-in pattern contains its prefilter', async (t) => {
  const pieces = [
    ...'0123456789  ..--::@@__++//==()<>\'"\n', 'AKIA', 'ASIA', 'A3TX', 'ghp_', 'gho_', 'github_pat_', 'sk-', 'sk-ant-api03-',
    'sk-proj-', 'T3BlbkFJ', 'xoxb-', 'sk_live_', 'rk_test_', 'AIza', 'eyJ', '://', 'https://', 'aws', 'AWS_', 'password',
    'Passwd', 'api_key', 'token', 'secret', 'ssn', 'SSN ', 'tin', 'phone', 'Tel', 'call', 'x', 'ext.', 'DE89', 'GB', 'NWBK',
    'ab', 'Zq8v', 'fe80', 'ffff', '234567891', 'social security number: ', 'taxpayer id ', '-----BEGIN RSA PRIVATE KEY-----', '-----END RSA PRIVATE KEY-----', '<EMAIL_', '_1>',
  ];
  const texts = [...samples, ...HARD_CASES.map((h) => h.replace(/⟦[a-z_]+:|⟧/g, ''))];
  for (let i = 0; i < 4000; i++) texts.push(Array.from({ length: 20 + rand(60) }, () => pieces[rand(pieces.length)]).join(''));
  for (const rec of recognizers) {
    const pattern = new RE2(rec.pattern, `g${rec.flags ?? ''}`);
    const prefilter = new RE2(rec.prefilter ?? rec.pattern, rec.flags ?? '');
    // `prefilterStarts`: the match begins with a prefilter match.
    const starts = new RE2(`^(?:${rec.prefilter ?? rec.pattern})`, rec.flags ?? '');
    let matches = 0;
    let missing = 0;
    for (const text of texts) {
      for (const m of pattern.match(text) ?? []) {
        matches++;
        if (!prefilter.test(m) || (rec.prefilterStarts === true && !starts.test(m))) {
          missing++;
          if (missing <= 3) t.fail(`${rec.name}: ${JSON.stringify(m)} lacks ${rec.prefilter}${rec.prefilterStarts ? ' at its start' : ''}`);
        }
      }
    }
    t.equal(missing, 0, `${rec.name}: all ${matches} matches contain the prefilter`);
    t.ok(matches >= 5, `${rec.name}: the texts exercise it (${matches} matches)`);
  }
});

t.test('assertion-free patterns are told apart from those with assertions', async (t) => {
  for (const p of ['[^0-9\\n]{0,16}', '[$^]x', '\\$5', '\\\\b', '[]^]', '[[:alpha:]^]+', '(?i:ab)c', '(?s:.)']) t.ok(assertionFree(p), p);
  for (const p of ['^a', 'a$', '\\bword', 'x\\B', '\\Astart', 'end\\z', '(?m)a', '(?im:x)', '[]]^', 'a|^b']) t.notOk(assertionFree(p), p);
});

t.test('patterns with assertions see the whole text, not a chunk', async (t) => {
  const custom: Recognizer[] = [
    { name: 'head', type: 'head', pattern: '^HEAD-[0-9]{3}', score: 0.9, priority: 65 },
    { name: 'tail', type: 'tail', pattern: 'TAIL-[0-9]{3}$', score: 0.9, priority: 65 },
    { name: 'word', type: 'word', pattern: '\\bZQ[0-9]{3}\\b', score: 0.9, priority: 65 },
    { name: 'line', type: 'line', pattern: '(?m)^ID-[0-9]{4}$', score: 0.9, priority: 65 },
  ];
  const lines = ['HEAD-123 at a line start but not the text start\n', 'ZQ123 and xZQ456 and ZQ789\n', 'ID-2024\n', 'TAIL-999 mid-text\n', 'plain text\n'];
  let text = 'HEAD-001 opens the text\n';
  while (text.length < 5000) text += lines[rand(lines.length)];
  text += 'and TAIL-002';
  const chunked = createDetector({ recognizers: custom, threshold: 0.5, allow: [], chunkSize: 16 });
  const spans = chunked.detect(text).map((s) => `${s.type}:${text.slice(s.start, s.end)}`);
  const expected: string[] = [];
  for (const rec of custom) {
    const re = new RE2(rec.pattern, 'g');
    for (let m = re.exec(text); m !== null; m = re.exec(text)) expected.push(`${rec.type}:${m[0]}`);
  }
  t.same([...spans].sort(), [...expected].sort());
  t.equal(spans.filter((s) => s.startsWith('head:')).length, 1, 'only the text start is ^');
  t.equal(spans.filter((s) => s.startsWith('tail:')).length, 1, 'only the text end is $');
});

t.test('a custom multi-line pattern is found when its match spans chunks', async (t) => {
  const r = createRedactor({ recognizers: [{ name: 'ticket', pattern: 'TICKET-BEGIN[\\s\\S]{0,800}?TICKET-END' }] });
  t.teardown(() => r.close());
  // Entities of many types around it, so that detection takes the per-chunk path.
  const filler = samples.slice(0, 30).join('\n') + '\n';
  const block = 'TICKET-BEGIN\n' + 'customer said the usual things\n'.repeat(20) + 'TICKET-END';
  const text = `${filler}${block}\n${filler}`;
  t.ok(block.length > 512, 'the block is longer than two chunks');
  const spans = r.detect(text).filter((s) => s.type === 'ticket');
  t.same(spans.map((s) => text.slice(s.start, s.end)), [block]);
});

t.test('overlaps: higher priority wins, and a span overlapping only a loser is kept', async (t) => {
  let lowChecks = 0;
  const recs: Recognizer[] = [
    { name: 'a', type: 'a', pattern: '0123456789', score: 0.9, priority: 50 },
    { name: 'b', type: 'b', pattern: '89ab', score: 0.9, priority: 60 },
    { name: 'c', type: 'c', pattern: 'bcdefghij', score: 0.9, priority: 70 },
    // wholly inside c: never kept, so its check never runs
    { name: 'low', type: 'low', pattern: 'def', score: 0.9, priority: 10, check: (_c, s) => (lowChecks++, s) },
    // same priority: the higher score wins whatever its position, then the longer
    { name: 'p1', type: 'p1', pattern: 'PQRS', score: 0.6, priority: 40 },
    { name: 'p2', type: 'p2', pattern: 'RSTU', score: 0.9, priority: 40 },
    { name: 'q1', type: 'q1', pattern: 'VWX', score: 0.9, priority: 40 },
    { name: 'q2', type: 'q2', pattern: 'WXYZ', score: 0.9, priority: 40 },
  ];
  const text = '0123456789abcdefghij PQRSTU VWXYZ';
  for (const jsCollector of [false, true]) {
    const d = createDetector({ recognizers: recs, threshold: 0.5, allow: [], jsCollector });
    const spans = d.detect(text).map((s) => `${s.type}:${text.slice(s.start, s.end)}`);
    // Settling overlaps left to right against the last kept span alone dropped `a` here: b beat a, then c beat b.
    t.same(spans, ['a:0123456789', 'c:bcdefghij', 'p2:RSTU', 'q2:WXYZ'], jsCollector ? 'JS collector' : 'native collector');
  }
  t.equal(lowChecks, 0, 'the covered candidate was not checked');
});
