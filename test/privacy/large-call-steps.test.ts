import { randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import { Cancellation, allow, createEventBus, makeDestination } from '../../core/index.js';
import type { Classification, RequestContext } from '../../core/index.js';
import { createPrivacyRouter } from '../../privacy/index.js';
import type { PrivacyRouter } from '../../privacy/index.js';
import { YIELD_BODY_BYTES } from '../../privacy/router.js';
import { inferenceSchema } from '../../privacy/schema.js';
import { createRedactor } from '../../redact/index.js';
import { OFFLOAD_CHARS } from '../../redact/redactor.js';
import { createFakeOpenAI } from '../fakes/index.js';

/**
 * A call with a long conversation gives the event loop back between its steps (parsing the body, finding what
 * to redact, rewriting it, serialising it for the backend), so the proxy's other connections are served
 * between them instead of waiting out the whole chain; a small call goes through without a pause. Counted in
 * turns of the event loop (a setImmediate chain), not in time.
 */

/** Turns of the event loop (check phases) that pass while `work` runs. */
async function loopTurnsDuring<T>(work: () => Promise<T>): Promise<{ turns: number; value: T }> {
  let turns = 0;
  let running = true;
  const tick = (): void => {
    if (!running) return;
    turns++;
    setImmediate(tick);
  };
  setImmediate(tick);
  const start = turns;
  try {
    const value = await work();
    return { turns: turns - start, value };
  } finally {
    running = false;
  }
}

/** A user message with an e-mail address and a phone number every ~100 characters, different per `n`. */
function message(n: number, chars: number): string {
  let out = `Turn ${n}. `;
  for (let i = 0; out.length < chars; i++) out += `Write to user${n}x${i}@example.com or call +1 (555) 123-${String(1000 + ((n * 31 + i) % 9000))}. `;
  return out;
}

/** A request on api.openai.com as the proxy hands it to the router, its headers already seen. */
function contextFor(router: PrivacyRouter, body: Buffer, dest = makeDestination('api.openai.com', 443)): RequestContext {
  const classification: Classification = { hostClass: 'provider', path: '/v1/chat/completions', api: 'openai-chat', shape: 'openai' };
  const cancel = new Cancellation();
  const ctx = {
    id: 'test',
    src: { ip: '127.0.0.1', port: 1 },
    dest,
    scheme: 'https',
    sandbox: undefined,
    bus: createEventBus(),
    cancel,
    signal: cancel.signal(),
    method: 'POST',
    hasBody: body.length > 0,
    classification,
    query: '',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-placeholder' },
    requestFilters: [],
    responseFilters: [],
    state: new Map(),
    network: allow('test: the network policy allows the host'),
  } as unknown as RequestContext;
  void router.stage.onRequestHeaders!(ctx);
  return ctx;
}

async function routerFor(t: Test, route: 'local' | 'provider') {
  const backend = await createFakeOpenAI({ reply: { tokens: ['Hello', ' there'], usage: { input: 10, output: 2 } } });
  t.teardown(() => backend.close());
  const inference = inferenceSchema.parse(route === 'local'
    ? { backends: { local: { type: 'openai-compatible', url: backend.url } }, routes: [{ match: { api: 'openai' }, backend: 'local' }] }
    : { routes: [{ match: { api: 'openai' }, action: 'allow' }] });
  const redactor = createRedactor({ redact: 'all', mode: 'pseudonymize' }, { hmacKey: randomBytes(32), detectThreads: 0 });
  const router = createPrivacyRouter({ config: inference, bus: createEventBus(), redactor, healthIntervalMs: 0 });
  t.teardown(async () => {
    await router.close();
    redactor.close();
  });
  return { router, backend };
}

function chatBody(history: string[]): Buffer {
  const messages = [{ role: 'system', content: 'be brief' }, ...history.map((content, i) => ({ role: i % 2 ? 'assistant' : 'user', content }))];
  return Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', stream: false, messages }));
}

t.test('a long conversation routed to a local backend is decided in steps, with the loop turning between them', async (t) => {
  const { router, backend } = await routerFor(t, 'local');
  const history: string[] = [];
  // A growing conversation: after the first turn, most of each body is history the detection cache remembers.
  for (let n = 0; n < 4; n++) {
    history.push(message(n, 20_000));
    const body = chatBody(history);
    const ctx = contextFor(router, body);
    const decided = await loopTurnsDuring(async () => router.stage.onRequestBody!(ctx, body));
    const large = body.length >= YIELD_BODY_BYTES;
    if (large) t.ok(decided.turns >= 2, `turn ${n} (${body.length} bytes): the loop turned ${decided.turns} times while the call was decided`);
    else t.equal(decided.turns, 0, `turn ${n} (${body.length} bytes): decided in one go`);
    t.equal(ctx.decision?.action, 'allow', `turn ${n}: routed`);
    const answered = await router.stage.respond!(ctx, body);
    t.equal(answered?.status, 200, `turn ${n}: the backend answered`);
  }
  t.equal(backend.requests.length, 4, 'every turn reached the backend');
  t.ok(JSON.stringify(backend.requests.at(-1)!.body).includes('user3x0@example.com'), 'a local backend gets the original text');
});

t.test('a long conversation let out to the provider is redacted in steps too, and leaves with no address in it', async (t) => {
  const { router } = await routerFor(t, 'provider');
  const body = chatBody([message(0, YIELD_BODY_BYTES), 'Noted.', message(1, 2_000)]);
  const ctx = contextFor(router, body);
  const decided = await loopTurnsDuring(async () => router.stage.onRequestBody!(ctx, body));
  t.ok(decided.turns >= 3, `the loop turned ${decided.turns} times while the call was decided and rewritten`);
  const out = decided.value as Buffer | undefined;
  t.ok(out instanceof Buffer, 'the rewritten body to send');
  const text = out!.toString('utf8');
  t.notOk(text.includes('@example.com'), 'no address leaves');
  t.ok(text.includes('Turn 1.'), 'the text around them does');

  const small = chatBody(['mail user9@example.com please']);
  const smallCtx = contextFor(router, small);
  const quick = await loopTurnsDuring(async () => router.stage.onRequestBody!(smallCtx, small));
  t.equal(quick.turns, 0, 'a small call is rewritten in one go');
  t.notOk((quick.value as Buffer).toString('utf8').includes('user9@example.com'), 'and redacted as well');
});

t.test('finding what to redact in a long history gives the loop back between hashing it and scanning what is new', async (t) => {
  const redactor = createRedactor({ redact: 'all', mode: 'pseudonymize' }, { hmacKey: randomBytes(32), detectThreads: 0 });
  t.teardown(() => redactor.close());
  const history = [message(0, OFFLOAD_CHARS), message(1, 3_000)];
  const chat = (h: string[]) => ({ model: 'm', messages: h.map((content) => ({ role: 'user', content })) });
  await redactor.findInLlmRequest('openai-chat', chat(history));
  history.push(message(2, 3_000));
  const found = await loopTurnsDuring(() => redactor.findInLlmRequest('openai-chat', chat(history)));
  t.ok(found.turns >= 1, `the loop turned ${found.turns} times`);
  t.ok(found.value.counts.email! > OFFLOAD_CHARS / 100, `every address found (${found.value.counts.email})`);
  const small = await loopTurnsDuring(() => redactor.findInLlmRequest('openai-chat', chat(['mail a@example.com'])));
  t.equal(small.turns, 0, 'a small request is scanned in one go');
  t.equal(small.value.counts.email, 1);
});
