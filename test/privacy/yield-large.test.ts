import t from 'tap';
import type { Test } from 'tap';
import { YIELD_BYTES, yieldIfLarge } from '../../core/index.js';
import { createBackend } from '../../privacy/backend.js';
import { executeCall, type RoutedCall } from '../../privacy/call.js';
import { CallStats } from '../../privacy/stats.js';
import { codecs } from '../../privacy/translate/index.js';
import { createRedactor } from '../../redact/index.js';

// An agent's turn resends its whole context (100-500 KB): parsing, scanning and serialising it are
// phases of ~1 ms each. Between them the event loop is given back, so that other connections'
// small requests wait for one phase, not for the whole chain; a small call loses no turn of the loop.

/** Counts turns of the event loop (one setImmediate per turn) until stopped. */
function loopTurns(t: Test): { readonly count: number } {
  const turns = { count: 0 };
  let on = true;
  const tick = (): void => {
    turns.count++;
    if (on) setImmediate(tick);
  };
  setImmediate(tick);
  t.teardown(() => {
    on = false;
  });
  return turns;
}

t.test('yieldIfLarge gives a turn of the loop back from YIELD_BYTES on, and nothing below', async (t) => {
  t.equal(yieldIfLarge(YIELD_BYTES - 1), undefined);
  t.equal(yieldIfLarge(0), undefined);
  const turns = loopTurns(t);
  await new Promise((r) => setImmediate(r));
  const before = turns.count;
  await yieldIfLarge(YIELD_BYTES);
  t.ok(turns.count > before, 'a turn ran while it waited');
});

t.test('a large request whose texts are all remembered still gives the loop back once it has hashed them', async (t) => {
  const redactor = createRedactor({ redact: 'all', mode: 'pseudonymize' });
  t.teardown(() => redactor.close());
  const message = (i: number) => ({ role: 'user', content: `turn ${i}: ${'the build log says nothing new here. '.repeat(60)} mail ana${i}@example.com` });
  const large = { model: 'm', messages: Array.from({ length: 60 }, (_, i) => message(i)) };
  const small = { model: 'm', messages: [message(1)] };
  t.ok(JSON.stringify(large).length > 100 * 1024);
  await redactor.findInLlmRequest('openai-chat', large); // scanned, and remembered
  await redactor.findInLlmRequest('openai-chat', small);
  const turns = loopTurns(t);
  await new Promise((r) => setImmediate(r));

  let before = turns.count;
  const found = await redactor.findInLlmRequest('openai-chat', large);
  t.equal(found.counts.email, 60, 'every address found (from the cache)');
  t.ok(turns.count > before, 'the loop turned during the large request');

  before = turns.count;
  await redactor.findInLlmRequest('openai-chat', small);
  t.equal(turns.count, before, 'a small request is answered within the same turn');
});

t.test('a routed call gives the loop back before it serialises a large body for the backend, not a small one', async (t) => {
  const turns = loopTurns(t);
  const backend = createBackend('local', { type: 'openai-compatible', url: 'http://127.0.0.1:9/v1' });
  t.teardown(() => backend.close());
  const call = async (requestBytes: number): Promise<number> => {
    let seen = -1;
    const recording = {
      ...backend,
      pathFor: backend.pathFor.bind(backend),
      request: async () => {
        seen = turns.count;
        throw new Error('no backend in this test');
      },
    };
    const stats = new CallStats();
    stats.requestBytes = requestBytes;
    const routed: RoutedCall = {
      route: 'r', clientShape: 'openai', client: codecs.openai, kind: 'chat', body: { model: 'm', messages: [{ role: 'user', content: 'x' }] },
      requestedModel: 'm', stream: false, clientHeaders: {}, signal: new AbortController().signal, stats, done: () => undefined,
    };
    await new Promise((r) => setImmediate(r));
    const before = turns.count;
    const { response } = await executeCall(routed, [{ backend: recording, model: 'm' }], undefined);
    t.equal(response.status, 503, 'the backend that threw is reported unreachable');
    return seen - before;
  };
  t.ok((await call(YIELD_BYTES)) >= 1, 'a large body: the loop turned before the backend request');
  t.equal(await call(YIELD_BYTES - 1), 0, 'a small one: no turn lost');
});
