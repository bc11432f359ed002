import { readFileSync } from 'node:fs';
import t from 'tap';
import { BUILTIN_RECOGNIZERS, PLACEHOLDER_PATTERN, PLACEHOLDER_PREFILTER } from '../../redact/builtin-recognizers.js';
import { createDetector } from '../../redact/detector.js';
import type { Detector, DetectorOptions } from '../../redact/detector.js';
import { VERDICT_JS, native } from '../../redact/native-collector.js';
import type { NativeEngine } from '../../redact/native-collector.js';
import type { Recognizer } from '../../redact/recognizer.js';
import { HARD_CASES } from './corpus/hard-cases.js';

// The C++ collector (redact/native/collector.cc) replaces the detector's JavaScript loop over re2: same chunks,
// same sets, same matches. Every text below goes through both, and the spans must be identical.

const samples = readFileSync(new URL('corpus/corpus.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => (JSON.parse(l) as { text: string }).text);
const builtins: Recognizer[] = [
  ...BUILTIN_RECOGNIZERS,
  { name: 'placeholder', type: 'placeholder', pattern: PLACEHOLDER_PATTERN, prefilter: PLACEHOLDER_PREFILTER, score: 1, priority: 200 },
];

let seed = 7;
const rand = (n: number) => Math.floor(((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * n);
const join = (pool: readonly string[], count: number, sep = '') => Array.from({ length: count }, () => pool[rand(pool.length)]).join(sep);

function pair(options: DetectorOptions): [native: Detector, js: Detector] {
  return [createDetector(options), createDetector({ ...options, jsCollector: true })];
}

t.test('the native collector is built and used (SLUICE_NATIVE_COLLECTOR=0 turns it off)', async (t) => {
  if (process.env.SLUICE_NATIVE_COLLECTOR === '0') {
    t.equal(native.collector, undefined);
    t.equal(createDetector({ recognizers: builtins, threshold: 0.5, allow: [] }).collector, 'js');
    return;
  }
  t.ok(native.collector, native.reason);
  t.equal(createDetector({ recognizers: builtins, threshold: 0.5, allow: [] }).collector, 'native');
  t.equal(createDetector({ recognizers: builtins, threshold: 0.5, allow: [], jsCollector: true }).collector, 'js');
});

t.test('built-ins: the same spans from both collectors, whatever the chunk size', { skip: native.collector ? false : native.reason }, async (t) => {
  const texts = [
    ...samples,
    ...HARD_CASES.map((h) => h.replace(/⟦[a-z_]+:|⟧/g, '')),
    // entity-dense prompts, and prose with a sample now and then, with non-ASCII text around
    ...Array.from({ length: 40 }, () => join(samples, 60 + rand(40), '\n')),
    ...Array.from({ length: 20 }, () => join([...samples.slice(0, 50), ...Array<string>(50).fill('Ünïcödé prose ✓ 😀, version 2.4.1 of the client.')], 80, '\n')),
  ];
  let spans = 0;
  for (const chunkSize of [undefined, 1, 7, 64, 256, 1e9]) {
    const [n, js] = pair({ recognizers: builtins, threshold: 0.5, allow: [], ...(chunkSize ? { chunkSize } : {}) });
    let differences = 0;
    for (const text of texts) {
      const expected = js.detect(text);
      spans += expected.length;
      if (JSON.stringify(n.detect(text)) !== JSON.stringify(expected)) {
        differences++;
        if (differences <= 3) t.same(n.detect(text), expected, `chunk ${chunkSize}: ${JSON.stringify(text.slice(0, 60))}`);
      }
    }
    t.equal(differences, 0, `chunk ${chunkSize ?? 'default'}: ${texts.length} texts, no difference`);
  }
  t.ok(spans > 30_000, `the texts carry entities (${spans} spans)`);
});

t.test('raw bytes (invalid UTF-8 included) and random texts from the pieces entities are made of', { skip: native.collector ? false : native.reason }, async (t) => {
  const pieces = [
    ...'0123456789  ..--::@@__++//==()<>\'"\n', 'AKIA', 'ghp_', 'github_pat_', 'sk-', 'sk-ant-api03-', 'T3BlbkFJ', 'xoxb-', 'sk_live_',
    'AIza', 'eyJ', '://', 'aws', 'password', 'token', 'ssn', 'phone', 'DE89', 'fe80', '-----BEGIN RSA PRIVATE KEY-----',
    '<EMAIL_', '_1>', 'é', '😀', '\ud800', 'Zq8v', '4111111111111111', 'a@b.co',
  ];
  const [n, js] = pair({ recognizers: builtins, threshold: 0.5, allow: [], chunkSize: 16 });
  for (let run = 0; run < 2000; run++) {
    const text = join(pieces, 10 + rand(120));
    t.same(n.detect(text), js.detect(text), JSON.stringify(text));
    if (t.passing() === false) break;
  }
  for (let run = 0; run < 200; run++) {
    const bytes = Buffer.from(join(pieces, 40));
    for (let k = 0; k < 4; k++) bytes[rand(bytes.length)] = 0x80 + rand(0x80); // stray continuation and lead bytes
    t.same(n.detectBytes(bytes), js.detectBytes(bytes), `bytes ${bytes.toString('hex').slice(0, 40)}`);
  }
});

t.test('custom recognizers: many sets, assertions, multi-line, flags, empty matches', { skip: native.collector ? false : native.reason }, async (t) => {
  const custom: Recognizer[] = [
    ...Array.from({ length: 30 }, (_, i) => ({ name: `c${i}`, type: `c${i}`, pattern: `ZQ${i}-[0-9]{${1 + (i % 5)}}`, score: 0.9, priority: 65 })),
    { name: 'head', type: 'head', pattern: '^HEAD-[0-9]{3}', score: 0.9, priority: 65 },
    { name: 'word', type: 'word', pattern: '\\bWQ[0-9]{3}\\b', score: 0.9, priority: 65 },
    { name: 'line', type: 'line', pattern: '(?m)^ID-[0-9]{4}$', score: 0.9, priority: 65 },
    { name: 'ticket', type: 'ticket', pattern: 'TICKET-BEGIN[\\s\\S]{0,300}?TICKET-END', score: 0.9, priority: 65, multiline: true },
    { name: 'caseless', type: 'caseless', pattern: 'order-[a-z]{2}[0-9]{3}', flags: 'i', score: 0.9, priority: 65 },
    { name: 'empty', type: 'empty', pattern: 'q*', score: 0.9, priority: 65 },
    { name: 'named', type: 'named', pattern: '(?<year>20[0-9]{2})-Q[1-4]', score: 0.9, priority: 65, valueGroup: 1 },
    { name: 'escape', type: 'escape', pattern: '\\u00e9t\\u00e9-[0-9]{2}', score: 0.9, priority: 65 },
  ];
  const lines = [
    ...custom.slice(0, 30).map((_, i) => `ref ZQ${i}-12345 done\n`), 'HEAD-123 not at the start\n', 'WQ123 and xWQ456\n', 'ID-2024\n',
    'TICKET-BEGIN\nsaid things\nTICKET-END\n', 'ORDER-Ab123 and order-zz999\n', 'qqq q\n', '2026-Q3 and 1999-Q1\n', 'été-42 ✓\n',
    ...samples.slice(0, 40).map((s) => `${s}\n`),
  ];
  for (const chunkSize of [1, 16, 64, 256]) {
    const [n, js] = pair({ recognizers: [...builtins, ...custom], threshold: 0.5, allow: ['a@example.com'], chunkSize });
    for (let run = 0; run < 15; run++) {
      const text = `HEAD-001 opens\n${join(lines, 30 + rand(200))}`;
      const expected = js.detect(text);
      t.ok(expected.some((s) => /^c\d|head|line|ticket|caseless|named|escape/.test(s.type)), 'custom types found');
      t.same(n.detect(text), expected, `chunk ${chunkSize}, run ${run}`);
    }
  }
});

t.test('matches as short as they can be, at the very end of a line, a chunk or the text: none is skipped', { skip: native.collector ? false : native.reason }, async (t) => {
  // The C++ collector does not search a range shorter than the fewest bytes a match can span (counted from the
  // pattern, a rune as one byte). Multi-byte runes, case folding (K matches U+212A, s matches U+017F), optional
  // parts and alternations put matches right at that bound, or above it in bytes while at it in runes.
  const custom: Recognizer[] = [
    { name: 'kelvin', type: 'kelvin', pattern: 'kelvin', flags: 'i', score: 0.9, priority: 65 },
    { name: 'longs', type: 'longs', pattern: 's{3}', flags: 'i', score: 0.9, priority: 65 },
    { name: 'accents', type: 'accents', pattern: 'é{2}x', score: 0.9, priority: 65 },
    { name: 'optional', type: 'optional', pattern: 'a(?:bc|d)?e', score: 0.9, priority: 65 },
    { name: 'digits', type: 'digits', pattern: '[0-9]{4}', score: 0.9, priority: 65 },
    { name: 'either', type: 'either', pattern: 'tok|t', score: 0.9, priority: 65 },
    { name: 'emoji', type: 'emoji', pattern: '😀+', score: 0.9, priority: 65 },
    // Runes of two and three bytes that fold onto one-byte letters: a bound counted in bytes would skip these.
    { name: 'folds', type: 'folds', pattern: 'ſ{3}', flags: 'i', score: 0.9, priority: 65 },
    { name: 'sign', type: 'sign', pattern: '\\u212A', flags: 'i', score: 0.9, priority: 65 },
    // ẞ (three bytes) folds onto ß (two) alone: re2 keeps it a literal, not a class.
    { name: 'eszett', type: 'eszett', pattern: 'ẞ', flags: 'i', score: 0.9, priority: 65 },
    { name: 'street', type: 'street', pattern: 'straẞe', flags: 'i', score: 0.9, priority: 65 },
  ];
  // Each recognizer alone (they would otherwise take one another's matches), with the values it must find.
  const ends: Record<string, string[]> = {
    kelvin: ['\u212Aelvin', 'KELVIN'], longs: ['ſſſ', 'SſS', 'sss'], accents: ['ééx'], optional: ['ae', 'abce'], digits: ['2024'],
    either: ['t', 'tok'], emoji: ['😀'], folds: ['sss', 'ſſſ'], sign: ['k', 'K', '\u212A'], eszett: ['ß', 'ẞ'], street: ['straße', 'STRAßE'],
  };
  for (const chunkSize of [1, 2, 3, 5, 8, 64]) {
    for (const rec of custom) {
      const [n, js] = pair({ recognizers: [rec], threshold: 0.5, allow: [], chunkSize });
      for (const end of ends[rec.type]!) {
        for (const text of [end, `— ${end}`, `${end}\n`, `pad ${end}\nnow ${end}`]) {
          const spans = n.detect(text);
          t.same(spans, js.detect(text), `chunk ${chunkSize}: ${rec.type} in ${JSON.stringify(text)}`);
          t.equal(spans.length, text.split(end).length - 1, `chunk ${chunkSize}: every ${rec.type} in ${JSON.stringify(text)}`);
        }
      }
    }
  }
});

t.test('more matches than the detector has room for: it grows and asks again', { skip: native.collector ? false : native.reason }, async (t) => {
  const [n, js] = pair({ recognizers: builtins, threshold: 0.5, allow: [] });
  const text = Array.from({ length: 5000 }, (_, i) => `user${i}@example.com 10.0.${i % 250}.${(i * 7) % 250}`).join('\n');
  const spans = n.detect(text);
  t.equal(spans.length, 10_000, 'every e-mail and every address');
  t.same(spans, js.detect(text));
  t.same(n.detect('short a@example.com'), js.detect('short a@example.com'), 'and smaller texts after it');
});

t.test('the addon refuses bad arguments with a clear error', { skip: native.collector ? false : native.reason }, async (t) => {
  const c = native.collector!;
  t.throws(() => c.compile(['a'], [], [0], [], [], 64, null), /different lengths/);
  t.throws(() => c.compile(['(unclosed'], [0], [0], [], [], 64, null), /re2 rejected/);
  // Malformed sets: errors, never a read outside the recognizers.
  const bad = (group: unknown) => () => c.compile(['a'], [0], [0], [group] as never, [], 64, null);
  t.throws(bad([[0]]), /\[indexes, patterns\]/);
  t.throws(bad([[0, 1], ['a']]), /as many indexes as patterns/);
  t.throws(bad([[5], ['a']]), /not there/);
  t.throws(bad([[-1], ['a']]), /not there/);
  t.throws(() => c.compile(['a'], [0], [0], [], [[[1], ['a']]], 64, null), /not there/, 'whole-text sets too');
  const engine = c.compile(['a+'], [0], [0], [[[0], ['a']]], [], 64, null);
  t.throws(() => c.collect(engine, 'aaa' as unknown as Uint8Array, new Int32Array(3), false), /Uint8Array/);
  t.throws(() => c.collect(engine, Buffer.from('aaa'), new Float64Array(3) as unknown as Int32Array, false), /Int32Array/);
  t.throws(() => c.collect({} as NativeEngine, Buffer.from('aaa'), new Int32Array(3), false), /engine/);
  // An external made elsewhere (here: the environment's own kind of value that is not ours) is refused too.
  t.throws(() => c.collect(c.compile as unknown as NativeEngine, Buffer.from('aaa'), new Int32Array(3), false), /engine made by compile/);
  const out = new Int32Array(4);
  t.equal(c.collect(engine, Buffer.from('aa b aaa'), out, false), 2, 'two matches counted');
  t.same([...out], [0, 0, 0, 0], 'none written: they did not all fit');
  const room = new Int32Array(8);
  t.equal(c.collect(engine, Buffer.from('aa b aaa'), room, false), 2);
  t.same([...room], [0, 0, 2, VERDICT_JS, 0, 5, 8, VERDICT_JS], 'both, unevaluated (no evaluation given)');
  t.throws(() => (c.collect as (...args: unknown[]) => number)(engine, Buffer.from('aaa'), out), /4 arguments/);
  const wide = new Int32Array(8);
  t.equal(c.collect(engine, Buffer.from('é😀a \ud800aa'), wide, true), 2);
  t.same([...wide], [0, 3, 4, VERDICT_JS, 0, 6, 8, VERDICT_JS], 'UTF-16 offsets: é is one unit, 😀 two, a lone surrogate (as U+FFFD) one');
});
