import t from 'tap';
import tls from 'node:tls';
import net from 'node:net';
import { Readable } from 'node:stream';
import { ProxyAgent, request } from 'undici';
import { createFakeOpenAI } from '../fakes/index.js';
import type { FakeBackend } from '../fakes/index.js';
import { startTestSluice } from '../helpers/sluice.js';
import type { TestSluice } from '../helpers/sluice.js';
import { readResponse } from './wire.js';
import { COST_PER_BYTE } from '../../proxy/body-budget.js';

/**
 * A request refused while its body is still arriving (over the inspected-body cap, or over the
 * budget all buffered bodies share) must reach its client as an answer: the client is still
 * writing, and a socket closed under it turns the answer into a reset (27 of 40 clients saw one
 * before the rest of the body was drained). The drain is bounded: a body that never ends costs
 * its sender the connection, not Sluice a socket.
 */
const CAP = 64 * 1024; // and a budget for six such bodies at once
let fake: FakeBackend;
let sluice: TestSluice;
let agent: ProxyAgent;

t.before(async () => {
  fake = await createFakeOpenAI({});
  sluice = await startTestSluice(`version: 1
network_policies: {}
inference:
  backends:
    cloud: { type: openai, url: "${fake.url}/v1" }
  routes:
    - { match: {}, backend: cloud }
`, { healthIntervalMs: 0, limits: { maxBufferedBody: CAP, bufferedBodyBudget: 6 * CAP * COST_PER_BYTE } });
  agent = new ProxyAgent({ uri: sluice.url, requestTls: { ca: sluice.caCertPem }, connections: 32 });
});

t.teardown(async () => {
  await agent?.close();
  await sluice?.close();
  await fake?.close();
});

const chat = (bytes: number) => JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(bytes) }] });

async function send(body: string | Readable): Promise<{ status: number; error?: string }> {
  try {
    const res = await request('https://api.openai.com/v1/chat/completions', { dispatcher: agent, method: 'POST', body, headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test' } });
    await res.body.text();
    return { status: res.statusCode };
  } catch (err) {
    return { status: 0, error: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
  }
}

t.test('a body over the cap is answered 413, with its length declared or chunked', async (t) => {
  t.same(await send(chat(4 * CAP)), { status: 413 }, 'declared length: refused before a byte is read, and answered');
  async function* chunked() {
    for (let i = 0; i < 64; i++) yield Buffer.alloc(16 * 1024, 0x20);
  }
  t.same(await send(Readable.from(chunked())), { status: 413 }, 'chunked: refused mid-body, and answered');
  t.same(await send(chat(100)), { status: 200 }, 'the next request is served');
});

t.test('bodies the budget cannot take are answered 503, none is cut', async (t) => {
  // Each client sends half its body, then waits until the budget has refused someone: 24 half
  // bodies are more than the budget holds, so the refusals come while bodies are still arriving.
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const half = Buffer.from(chat(CAP - 1024));
  async function* held() {
    yield half.subarray(0, half.length / 2);
    await released;
    yield half.subarray(half.length / 2);
  }
  const outcomes = await Promise.all(Array.from({ length: 24 }, () => send(Readable.from(held())).then((o) => {
    if (o.status !== 200) release();
    return o;
  })));
  const by = (s: number) => outcomes.filter((o) => o.status === s).length;
  t.comment(`${by(200)} answered, ${by(503)} refused, ${by(0)} cut: ${outcomes.filter((o) => o.error).map((o) => o.error).join(', ')}`);
  t.ok(by(503) >= 1, 'the budget refused some');
  t.equal(by(200) + by(503), outcomes.length, 'every client read an answer');
});

t.test('a refused body that never ends loses its connection', async (t) => {
  const socket = net.connect(sluice.port, '127.0.0.1');
  socket.on('error', () => undefined);
  socket.write('CONNECT api.openai.com:443 HTTP/1.1\r\nHost: api.openai.com:443\r\n\r\n');
  const connected = await new Promise<string>((resolve) => socket.once('data', (d: Buffer) => resolve(d.toString('latin1'))));
  t.match(connected, /^HTTP\/1\.1 200 /, 'the tunnel opens');
  const secure = tls.connect({ socket, ca: sluice.caCertPem, servername: 'api.openai.com' });
  secure.on('error', () => undefined);
  await new Promise<void>((resolve) => secure.once('secureConnect', () => resolve()));
  secure.write('POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n');
  const chunk = `4000\r\n${' '.repeat(0x4000)}\r\n`;
  const closed = new Promise<void>((resolve) => secure.once('close', () => resolve()));
  let writing = true;
  void closed.then(() => (writing = false));
  const answer = readResponse(secure, 30_000);
  // Writes on, well past the cap and after the answer, until Sluice cuts the connection.
  void (async () => {
    while (writing) {
      if (!secure.write(chunk)) {
        // one listener pair per wait, removed after it: the loop waits many times on the same socket
        await new Promise<void>((resolve) => {
          const done = (): void => {
            secure.off('drain', done).off('close', done);
            resolve();
          };
          secure.once('drain', done).once('close', done);
        });
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const started = Date.now();
  t.equal((await answer).status, 413, 'the client reads its answer while still writing');
  await closed;
  t.comment(`closed ${Date.now() - started} ms after the request`);
  t.pass('and Sluice closed the connection the endless body held');
});
