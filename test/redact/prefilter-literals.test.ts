import { readFileSync } from 'node:fs';
import RE2 from 're2';
import t from 'tap';
import { BUILTIN_RECOGNIZERS } from '../../redact/builtin-recognizers.js';
import { createDetector } from '../../redact/detector.js';
import { DEFAULT_EGRESS_TYPES, PII_TYPES, expandTypes } from '../../redact/entities.js';
import { prefilterLiterals } from '../../redact/prefilter-literals.js';
import { recognizersFor } from '../../redact/privacy-detector.js';

// A buffer in which no literal of any recognizer's prefilter occurs is not scanned by re2 at all (the
// exfiltration guard's scan of uploads). That is only sound when the literals are exactly what re2's
// prefilter matches, case folding included; these tests hold the expansion to re2 and the gated
// detector to the ungated one.

let seed = 7;
const rand = (n: number) => Math.floor(((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * n);
const latin1 = (s: string) => Buffer.from(s, 'utf8').toString('latin1');

t.test('finite prefilters expand to their literals; anything else is not expanded', async (t) => {
  t.same(prefilterLiterals('A(?:3T|KIA|SIA)'), ['A3T', 'AKIA', 'ASIA']);
  t.same(prefilterLiterals('gh[pous]_|github_pat_'), ['ghp_', 'gho_', 'ghu_', 'ghs_', 'github_pat_']);
  t.same(prefilterLiterals('x[a-c]\\-'), ['xa-', 'xb-', 'xc-']);
  t.same(prefilterLiterals('(?i:ab)')?.sort(), ['AB', 'Ab', 'aB', 'ab']);
  const s = ['s', 'S', latin1('ſ')];
  const k = ['k', 'K', latin1('\u212a')];
  t.same(prefilterLiterals('(?i:sk)')!.sort(), s.flatMap((a) => k.map((b) => a + b)).sort(), 'the long s and the Kelvin sign fold with s and k (as UTF-8 bytes)');
  for (const p of ['ab?', 'a+', 'a*b', 'a{2}', 'a.b', '^ab', 'ab$', '\\bab', '\\d\\d', '[^a]b', '(?m:ab)', '(?P<n>ab)', '(?i)ab', 'ab|', '|ab', '(?:)', '', 'é', '[[:alpha:]]', 'a[', '(ab', 'ab)']) {
    t.equal(prefilterLiterals(p), undefined, `${JSON.stringify(p)} is not a finite set of literals`);
  }
  t.equal(prefilterLiterals('[a-z][a-z]'), undefined, 'more than the limit');
  t.equal(prefilterLiterals('[a-z]', 26)?.length, 26);
});

t.test('the literals match exactly where re2 finds the prefilter, on any bytes', async (t) => {
  const patterns = [
    ...BUILTIN_RECOGNIZERS.filter((r) => r.prefilter !== undefined).map((r) => (r.flags?.includes('i') ? `(?i:${r.prefilter})` : r.prefilter!)),
    '(?i:ks|sk)', '(?i:[k-m]s)', 'a[-b]c', '(?i:x(?:y|z))w',
  ];
  let expanded = 0;
  for (const pattern of patterns) {
    const literals = prefilterLiterals(pattern);
    if (literals === undefined) continue;
    expanded++;
    const re = new RE2(pattern);
    // Fragments: the literals, their cuts and case flips, the non-ASCII folds, and noise.
    const pieces = [...literals, ...literals.map((l) => Buffer.from(l, 'latin1').toString('utf8')), ...literals.map((l) => l.slice(0, -1)), ...literals.map((l) => l.slice(1)), ...literals.map((l) => l.toUpperCase()), ...literals.map((l) => l.toLowerCase()), 'ſ', '\u212a', '\u212b', 'K', 'x', ' ', '-', '_', '\n', 'é'];
    let hits = 0;
    for (let k = 0; k < 400; k++) {
      let s = '';
      for (let n = rand(6); n >= 0; n--) s += pieces[rand(pieces.length)]!;
      const bytes = Buffer.from(s, 'utf8');
      const viaRe2 = re.test(bytes);
      const viaLiterals = literals.some((l) => bytes.toString('latin1').includes(l));
      if (viaRe2 !== viaLiterals) t.fail(`${pattern} on ${JSON.stringify(s)}: re2 ${viaRe2}, literals ${viaLiterals}`);
      if (viaRe2) hits++;
    }
    t.ok(hits > 50 && hits < 400, `${pattern}: ${hits} of 400 texts hold it`);
  }
  t.ok(expanded >= 12, `${expanded} prefilters expanded`);
});

t.test('the egress detector is gated and finds exactly what it finds ungated', async (t) => {
  const recognizers = recognizersFor(new Set(expandTypes(DEFAULT_EGRESS_TYPES)), []);
  const gated = createDetector({ recognizers, threshold: 0.5, allow: [] });
  const plain = createDetector({ recognizers, threshold: 0.5, allow: [], literalGate: false });
  t.ok(gated.literalGate, 'every default egress type has literal prefilters');
  t.notOk(plain.literalGate);
  t.notOk(createDetector({ recognizers: recognizersFor(new Set(PII_TYPES), []), threshold: 0.5, allow: [] }).literalGate, 'PII prefilters are classes with quantifiers: no gate');

  const corpus = readFileSync(new URL('corpus/corpus.jsonl', import.meta.url), 'utf8').split('\n').filter((l) => l.trim()).map((l) => (JSON.parse(l) as { text: string }).text);
  const secrets = [
    'ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8', 'AKIAZ2R7Q3M5N6P4T7XY', 'AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q',
    'xoxb-123456789012-abcdefghijkl', 'sk_live_a1B2c3D4e5F6g7H8i9J0k1L2',
    '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIIrYSSNQFaA2Hwf1duRSxKtLYX5CB04fSeQ6tF1aY/PuoAoGCCqGSM49\n-----END EC PRIVATE KEY-----',
    'aws_secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq8Wd3Lm2Q"',
    'awſ_secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq8Wd3Lm2Q"',
    'AWS secret: Zq8Wd3Lm2QwJalrXUtnFEMI/K7MDENG/bPxRfiCY9',
  ];
  const misses = ['task-list', 'awk ', 'AKIB', 'ghx_', 'xoxz-', 'sk_dev_', '-----BEGIN CERTIFICATE-----', 'ſ', '\u212a', '\u00ff\u00fe', 'drawstring', 'a w s'];
  const noise = () => Buffer.from(Array.from({ length: rand(200) }, () => (rand(4) === 0 ? rand(256) : 32 + rand(95)))).toString('latin1');
  let found = 0;
  let skipped = 0;
  for (let k = 0; k < 1500; k++) {
    const parts: string[] = [];
    for (let n = rand(5); n >= 0; n--) {
      const pick = rand(10);
      parts.push(pick < 2 ? secrets[rand(secrets.length)]! : pick < 4 ? misses[rand(misses.length)]! : pick < 5 ? corpus[rand(corpus.length)]! : noise());
    }
    // Mostly apart, as in a body (a secret glued to letters fails its boundary checks), sometimes glued.
    const seps = [' ', '\n', '", "', '=', ''];
    const bytes = Buffer.concat(parts.map((p, i) => Buffer.from(seps[rand(seps.length)]! + p, i % 2 ? 'latin1' : 'utf8')));
    const expected = plain.detectBytes(bytes);
    t.same(gated.detectBytes(bytes), expected, `case ${k}`);
    found += expected.length;
    if (expected.length === 0) skipped++;
  }
  t.ok(found > 300, `${found} secrets found`);
  t.ok(skipped > 200, `${skipped} buffers with none`);
  const aws = gated.detectBytes(Buffer.from(secrets[7]!, 'utf8'));
  t.same(aws.map((s) => s.type), ['aws_secret_key'], 'a prefilter fired through case folding (the long s) is not skipped');
});
