import t from 'tap';
import { createRedactor } from '../../redact/index.js';
import { BUILTIN_RECOGNIZERS } from '../../redact/builtin-recognizers.js';
import { createDetector } from '../../redact/detector.js';

const r = createRedactor({});
t.teardown(() => r.close());

let seed = 1234;
const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);

t.test('multi-megabyte strings, with and without newlines', async (t) => {
  const line = 'user a@example.com paid 4111 1111 1111 1111 from 203.0.113.9 — ok\n';
  const big = line.repeat(60_000); // ~4 MB
  const out = r.redactText(big, r.vault('big'));
  t.same(out.counts, { email: 60_000, credit_card: 60_000, ip_address: 60_000 });
  t.equal(r.restoreText(out.text, r.vault('big')), big);
  const oneLine = big.replace(/\n/g, ' ');
  t.equal(r.redactText(oneLine, r.vault('big2')).counts.email, 60_000, 'no newlines: one chunk, same result');
  for (const junk of ['9'.repeat(3_000_000), 'a@'.repeat(1_000_000), '<'.repeat(2_000_000), ':'.repeat(2_000_000), '-----BEGIN PRIVATE KEY-----'.repeat(50_000)]) {
    t.doesNotThrow(() => r.redactText(junk, r.vault('junk')), `${junk.slice(0, 12)}… × ${junk.length}`);
  }
  const s = r.createRestorer(r.vault('big'));
  t.equal(s.push('<'.repeat(1_000_000)) + s.flush(), '<'.repeat(1_000_000));
});

t.test('deep JSON in requests and responses: iterative, no stack overflow', async (t) => {
  let input: unknown = 'a@example.com';
  for (let i = 0; i < 200_000; i++) input = { k: [input] };
  const body = { messages: [{ role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'x', input }] }] };
  t.doesNotThrow(() => r.redactLlmRequest('anthropic-messages', body, r.vault('deep')));
  let node: unknown = body.messages[0]!.content[0]!.input;
  while (typeof node !== 'string') node = (node as { k: unknown[] }).k[0];
  t.equal(node, '<EMAIL_1>');

  const deepArgs = '['.repeat(100_000) + '"a@example.com"' + ']'.repeat(100_000);
  const openai = { messages: [{ role: 'assistant', tool_calls: [{ function: { name: 'f', arguments: deepArgs } }] }] };
  t.doesNotThrow(() => r.redactLlmRequest('openai-chat', openai, r.vault('deep2')));
  t.notMatch(openai.messages[0]!.tool_calls[0]!.function.arguments, 'a@example.com');
  t.doesNotThrow(() => r.restoreJson(body, r.vault('deep')));
});

t.test('lone surrogates, control characters and replacement characters keep offsets right', async (t) => {
  const nasty = '\ud800 a@example.com \udfff\u0000 b@example.com \ufffd\ud83d 203.0.113.9 \u202e';
  const v = r.vault('utf');
  const out = r.redactText(nasty, v);
  t.equal(out.text, '\ud800 <EMAIL_1> \udfff\u0000 <EMAIL_2> \ufffd\ud83d <IP_ADDRESS_1> \u202e');
  t.equal(r.restoreText(out.text, v), nasty);
});

t.test('pathological custom patterns run in linear time (re2) and never crash', async (t) => {
  const evil = createRedactor({
    recognizers: [
      { name: 'nested', pattern: '(a+)+$' },
      { name: 'alternation', pattern: '(a|a)*b' },
      { name: 'stars', pattern: '(x+x+)+y' },
      { name: 'anchored', pattern: '^\\s*(\\w+\\s*)*!$' },
      { name: 'optional', pattern: '(?:a?){40}a{40}' },
    ],
  });
  t.teardown(() => evil.close());
  // Each of these takes exponential time in a backtracking engine; here the whole test stays fast.
  const inputs = ['a'.repeat(200_000) + 'X', 'x'.repeat(200_000), 'word '.repeat(40_000) + '?', 'a'.repeat(40)];
  for (const s of inputs) t.doesNotThrow(() => evil.redactText(s, evil.vault('e')));
  t.equal(evil.redactText('a'.repeat(40), evil.vault('e2')).text, '<NESTED_1>', 'they still match');
});

t.test('chunked detection finds exactly what a whole-text pass finds', async (t) => {
  const whole = createDetector({ recognizers: BUILTIN_RECOGNIZERS, threshold: 0.5, allow: [], chunkSize: 1e9 });
  const pieces = [
    'mail a@example.com\n', 'card 4111 1111 1111 1111\n', 'phone: 030 1234567\n', 'SSN 123-45-6789\n',
    '-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAK==\n-----END RSA PRIVATE KEY-----\n', 'key AKIAZ2R7Q3M5N6P4T7XY\n',
    'ip 203.0.113.9 and fe80::1ff:fe23:4567:890a\n', 'password=Tr0ub4dor&3xK9!\n', 'Ünïcödé ✓ 😀\n', '\n', 'x',
  ];
  for (let run = 0; run < 40; run++) {
    const text = Array.from({ length: 5 + rand(30) }, () => pieces[rand(pieces.length)]).join('');
    const expected = whole.detect(text);
    for (const chunkSize of [1, 2, 7, 16, 64]) {
      const chunked = createDetector({ recognizers: BUILTIN_RECOGNIZERS, threshold: 0.5, allow: [], chunkSize });
      t.same(chunked.detect(text), expected, `run ${run}, chunk ${chunkSize}`);
    }
  }
});

t.test('fuzz: pseudonymize then restore gives the input back, for any input', async (t) => {
  const atoms = ['a@example.com', '4111 1111 1111 1111', '<EMAIL_1>', '<PLACEHOLDER_1>', '<', '>', '_1', 'AKIAZ2R7Q3M5N6P4T7XY', '203.0.113.9', ' ', '\n', 'é', '😀', '\ud800', 'password=Tr0ub4dor&3xK9!', '<EMAIL_', '0', ':', '::1', '-'];
  for (let run = 0; run < 400; run++) {
    const text = Array.from({ length: rand(25) }, () => atoms[rand(atoms.length)]).join('');
    const v = r.vault(`fuzz-${run % 7}`);
    const red = r.redactText(text, v).text;
    t.equal(r.restoreText(red, v), text, JSON.stringify(text));
    const s = r.createRestorer(v);
    const cut = rand(red.length + 1);
    t.equal(s.push(red.slice(0, cut)) + s.push(red.slice(cut)) + s.flush(), text);
  }
});
