import t from 'tap';
import { BUILTIN_RECOGNIZERS } from '../../redact/builtin-recognizers.js';
import { PER_SPAN, createDetector } from '../../redact/detector.js';
import { SLICE_CHARS, detectSliced } from '../../redact/sliced-detect.js';
import { createRedactor } from '../../redact/index.js';

const detector = createDetector({ recognizers: [...BUILTIN_RECOGNIZERS], threshold: 0.5, allow: [] });
const whole = (text: string) => {
  const { data, count } = detector.detectPacked(text);
  return Array.from(data.subarray(0, PER_SPAN * count));
};

t.test('a long text detected in slices finds what the whole-text scan finds, values across every cut included', async (t) => {
  const values = ['alice@example.com', 'call +1 (555) 123-4567 now', 'card 4111 1111 1111 1111', 'AKIAZ7QWERTYUIOPASD2', 'ip 192.168.10.20',
    '-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi1mFDFiMEbGSBlpMpGJgoLqyI8\n-----END RSA PRIVATE KEY-----'];
  const filler = 'The quick brown fox jumps over the lazy dog. ';
  // Value i straddles the cut after slice i+1; another copy sits in the middle of that slice.
  const placed: Array<[number, string]> = [];
  for (const [i, value] of values.entries()) {
    placed.push([(i + 1) * SLICE_CHARS - SLICE_CHARS / 2, value], [(i + 1) * SLICE_CHARS - Math.floor(value.length / 2), value]);
  }
  let text = '';
  for (const [at, value] of placed) {
    while (text.length < at - 1) text += filler;
    text = `${text.slice(0, at - 1)} ${value} `;
  }
  text += filler.repeat(100);
  const sliced = Array.from(await detectSliced((piece) => detector.detectPacked(piece), text));
  t.ok(text.length > values.length * SLICE_CHARS);
  t.ok(sliced.length / PER_SPAN >= values.length * 2, `${sliced.length / PER_SPAN} spans`);
  t.same(sliced, whole(text), 'identical spans');
});

t.test('the event loop turns while a long text is detected', async (t) => {
  const text = 'Write to bob@example.com about it. '.repeat(Math.ceil((3 * SLICE_CHARS) / 35));
  let turns = 0;
  let spinning = true;
  const spin = () => {
    turns++;
    if (spinning) setImmediate(spin);
  };
  setImmediate(spin);
  await detectSliced((piece) => detector.detectPacked(piece), text);
  spinning = false;
  t.ok(turns >= 2, `the loop turned ${turns} times during the detection`);
});

t.test('redactLlmRequestAsync redacts a large request as the synchronous path does', async (t) => {
  // No worker threads: this is the event loop's own path (test/redact/detect-pool.test.ts has the pool's).
  const redactor = createRedactor({ redact: 'all', mode: 'pseudonymize' }, { detectThreads: 0 });
  t.equal(redactor.detectPool, undefined);
  t.teardown(() => redactor.close());
  const content = 'Mail carol@example.com or dave@example.org, card 4111 1111 1111 1111. '.repeat(Math.ceil((1.5 * SLICE_CHARS) / 70));
  const body = () => ({ model: 'm', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content }] });
  const a = body();
  const b = body();
  const sync = redactor.redactLlmRequest('openai-chat', a, redactor.vault('one'));
  const async = await redactor.redactLlmRequestAsync('openai-chat', b, redactor.vault('two'));
  t.same(async, sync, 'same counts');
  t.equal(JSON.stringify(b), JSON.stringify(a), 'same text (each vault numbers its values from 1)');
  t.notOk(JSON.stringify(b).includes('carol@example.com'));
});
