import t from 'tap';
import type { Test } from 'tap';
import type http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { interceptedTo, startWorld } from './fixtures.js';

// A response that passes response filters (here the credentials stage's scrub of echoed secrets) is
// pumped to the client by proxy/exchange.ts, without stream.pipeline. A client that leaves in the
// middle of it is not a refusal: the exchange is audited as allowed, with the upstream's status, as an
// unfiltered one is; and the upstream's side is let go.

// Any provider with a real value puts the scrub filter on its hosts' answers.
const policy = (p: { api: number }) => {
  const api = `{ host: api.example.test, port: ${p.api} }`;
  return `version: 1
network_policies: { a: { endpoints: [${api}] } }
providers:
  echo_guarded: { from: "env:ECHO_KEY", env: ECHO_KEY, endpoints: [${api}], inject: { header: x-api-key, format: "{}" } }
`;
};

t.test('a client that leaves in the middle of a filtered answer is audited as allowed, and the upstream is let go', async (t) => {
  const world = await startWorld(policy, { env: { ECHO_KEY: 'sk-echoGuardedValue0123456789abcdefABCDEF' } });
  t.teardown(() => world.close());
  let upstreamClosed = false;
  // The upstream answers slowly: a chunk every 50 ms for 5 s.
  world.api.server.removeAllListeners('request');
  world.api.server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    let n = 0;
    const timer = setInterval(() => {
      if (++n > 100) {
        clearInterval(timer);
        res.end();
      } else res.write(`line ${n}\n`);
    }, 50);
    res.on('close', () => {
      clearInterval(timer);
      upstreamClosed = true;
    });
  });

  const secure = await interceptedTo(world);
  const got: Buffer[] = [];
  secure.on('data', (c: Buffer) => got.push(c));
  secure.write(`GET /slow HTTP/1.1\r\nHost: api.example.test:${world.api.port}\r\n\r\n`);
  for (let i = 0; i < 100 && !Buffer.concat(got).toString().includes('line 3'); i++) await sleep(20);
  t.match(Buffer.concat(got).toString(), /^HTTP\/1\.1 200/, 'the answer started');
  secure.destroy();
  for (let i = 0; i < 100 && !upstreamClosed; i++) await sleep(20);
  t.ok(upstreamClosed, 'the upstream request was dropped');

  const audit = await world.sluice.readAudit();
  const slow = audit.filter((e) => (e.http_request as { url?: { path?: string } } | undefined)?.url?.path === '/slow');
  t.equal(slow.length, 1, 'audited once');
  t.equal(slow[0]!.action, 'Allowed', 'not as a refusal');
  t.equal((slow[0]!.http_response as { code?: number } | undefined)?.code, 200, "with the upstream's status");
});

// A client that stops reading must stop the upstream too: Sluice holds a few socket buffers of
// the answer, never the answer. Without backpressure the whole 64 MiB would be read into memory.
const ANSWER = 64 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 'a');

async function stalledClient(t: Test, filtered: boolean): Promise<void> {
  const world = await startWorld(filtered ? policy : (p) => `version: 1\nnetwork_policies: { a: { endpoints: [{ host: api.example.test, port: ${p.api} }] } }\n`, filtered ? { env: { ECHO_KEY: 'sk-echoGuardedValue0123456789abcdefABCDEF' } } : {});
  t.teardown(() => world.close());
  let written = 0;
  world.api.server.removeAllListeners('request');
  world.api.server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(ANSWER) });
    const more = () => {
      while (written < ANSWER) {
        written += CHUNK.length;
        if (!res.write(CHUNK)) return void res.once('drain', more);
      }
      res.end();
    };
    more();
  });
  const secure = await interceptedTo(world);
  secure.write(`GET /big HTTP/1.1\r\nHost: api.example.test:${world.api.port}\r\n\r\n`);
  // Read the head (and whatever body came with it), then nothing for a while.
  const first = await new Promise<Buffer>((r) => secure.once('data', r));
  secure.pause();
  const headEnd = first.indexOf('\r\n\r\n');
  t.ok(headEnd > 0, 'the head arrived');
  let last = -1;
  for (let i = 0; i < 50 && written !== last; i++) {
    last = written;
    await sleep(100);
  }
  t.ok(written < 16 * 1024 * 1024, `the upstream stopped with ${(written / 1048576).toFixed(1)} MiB of 64 written while the client read nothing`);
  // Then the client reads it all, and all of it arrives.
  let got = first.length - (headEnd + 4);
  secure.on('data', (c: Buffer) => (got += c.length));
  secure.resume();
  for (let i = 0; i < 600 && got < ANSWER + (filtered ? 4096 : 0); i++) await sleep(50);
  // A filtered answer is re-framed as chunked (its length may change), so it arrives with chunk heads.
  if (filtered) t.ok(got >= ANSWER, 'every byte reached the client once it read again');
  else t.equal(got, ANSWER, 'every byte reached the client once it read again');
  secure.destroy();
}

t.test('a client that stops reading stops the upstream: unfiltered answer', (t) => stalledClient(t, false));
t.test('a client that stops reading stops the upstream: filtered answer', (t) => stalledClient(t, true));
