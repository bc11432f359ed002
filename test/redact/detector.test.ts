import { readFileSync } from 'node:fs';
import t from 'tap';
import { BUILTIN_RECOGNIZERS, PLACEHOLDER_PATTERN } from '../../redact/builtin-recognizers.js';
import { createDetector } from '../../redact/detector.js';
import type { Recognizer } from '../../redact/recognizer.js';

// Long texts take the detector's other paths: a whole-text set pass, then per chunk either one set over every
// recognizer (sparse texts) or only the smaller sets that fired (dense texts). Whatever the path, the spans
// must be those of a single pass over the whole text.

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
  { name: 'placeholder', type: 'placeholder', pattern: PLACEHOLDER_PATTERN, score: 1, priority: 200 },
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
