import t from 'tap';
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
