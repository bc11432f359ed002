import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { interceptedTo, startWorld } from './fixtures.js';
import type { World } from './fixtures.js';

// A request body of up to 64 KB (by Content-Length) is read whole before the upstream request starts
// (proxy/exchange.ts, SMALL_BODY: sent from a stream, every small POST's objects outlived the young
// generation); a larger one streams. Either way the upstream gets every byte, with its Content-Length.

const policy = (p: { api: number }) => `
version: 1
network_policies:
  api:
    endpoints: [{ host: api.example.test, port: ${p.api}, dlp: off }]
`;

/** Sends `size` bytes in two halves 400 ms apart; what the upstream had seen between them, and the answer. */
async function postInHalves(world: World, size: number): Promise<{ seenBetween: number; requestsBetween: number; status: string; received: number }> {
  const secure = await interceptedTo(world);
  const answer: Buffer[] = [];
  secure.on('data', (c: Buffer) => answer.push(c));
  const body = Buffer.alloc(size, 0x61);
  const half = size / 2;
  const before = world.api.requests.length;
  secure.write(`POST /upload HTTP/1.1\r\nHost: api.example.test:${world.api.port}\r\nContent-Length: ${size}\r\nContent-Type: application/octet-stream\r\n\r\n`);
  secure.write(body.subarray(0, half));
  await sleep(400);
  const started = world.api.requests.slice(before);
  const seenBetween = started.reduce((n, r) => n + r.body.length, 0);
  secure.write(body.subarray(half));
  for (let i = 0; i < 100 && !Buffer.concat(answer).toString('latin1').includes('\r\n\r\n{'); i++) await sleep(20);
  secure.destroy();
  const recorded = world.api.requests.slice(before);
  return { seenBetween, requestsBetween: started.length, status: Buffer.concat(answer).toString('latin1').split('\r\n')[0]!, received: recorded[0]?.complete ? recorded[0].body.length : -1 };
}

t.test('a small body reaches the upstream whole, once all of it arrived; a large one streams', async (t) => {
  const world = await startWorld(policy);
  t.teardown(() => world.close());

  const small = await postInHalves(world, 20_000);
  t.equal(small.requestsBetween, 0, 'nothing of a 20 KB body went upstream before its end arrived');
  t.equal(small.status, 'HTTP/1.1 200 OK');
  t.equal(small.received, 20_000, 'the upstream got all of it');
  t.equal(world.api.requests.at(-1)!.headers['content-length'], '20000', 'with its Content-Length');

  const edge = await postInHalves(world, 64 * 1024);
  t.equal(edge.requestsBetween, 0, 'nor of one of exactly 64 KB');
  t.equal(edge.received, 64 * 1024);

  const large = await postInHalves(world, 400_000);
  t.equal(large.requestsBetween, 1, 'a 400 KB body started upstream before its end arrived');
  t.ok(large.seenBetween > 0, `and its first bytes went ahead (${large.seenBetween})`);
  t.equal(large.status, 'HTTP/1.1 200 OK');
  t.equal(large.received, 400_000);
  t.equal(world.api.requests.at(-1)!.headers['content-length'], '400000');
});

t.test('a small body cut short by its client never reaches the upstream', async (t) => {
  const world = await startWorld(policy);
  t.teardown(() => world.close());
  const secure = await interceptedTo(world);
  secure.write(`POST /upload HTTP/1.1\r\nHost: api.example.test:${world.api.port}\r\nContent-Length: 10000\r\n\r\n`);
  secure.write(Buffer.alloc(4000, 0x62));
  await sleep(200);
  secure.destroy();
  await sleep(300);
  t.equal(world.api.requests.length, 0, 'no request upstream, not even its head');
  const audit = await world.sluice.readAudit();
  t.ok(audit.length > 0, 'the exchange is audited');
});

t.test('small bodies read whole are not charged to the buffered-body budget', async (t) => {
  // A budget that one inspected 1 KB body would spend (12 bytes a byte): small pass-through bodies never touch it.
  const world = await startWorld(policy, { limits: { bufferedBodyBudget: 8 * 1024 } });
  t.teardown(() => world.close());
  const results = await Promise.all(Array.from({ length: 8 }, () => postInHalves(world, 40_000)));
  t.same(results.map((r) => r.status), Array(8).fill('HTTP/1.1 200 OK'), 'eight concurrent 40 KB bodies all answered 200');
  t.same(results.map((r) => r.received), Array(8).fill(40_000));
});
