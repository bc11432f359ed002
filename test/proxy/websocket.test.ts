import t from 'tap';
import crypto from 'node:crypto';
import net from 'node:net';
import { createTestCA } from '../helpers/tls.js';
import { startTestSluice } from '../helpers/sluice.js';
import { closed, nextMessage, opened, startWsUpstream, wsThroughProxy, wssThroughProxy } from '../helpers/websocket.js';

// WebSockets through a real Sluice: wss:// in an intercepted tunnel and ws:// as a plain proxy
// request, relayed message by message to real ws servers on 127.0.0.1.

const SECRET = `wsk_${crypto.randomBytes(24).toString('hex')}`;
const ca = await createTestCA();
const cert = await ca.issue(['ws.example.test', 'other.example.test']);
const secure = await startWsUpstream({ cert, pick: (offered) => (offered.has('chat.v2') ? 'chat.v2' : false), refuse: (req) => (req.url?.startsWith('/private') ? { status: 401, body: '{"error":"no token"}' } : undefined) });
const plain = await startWsUpstream();
t.teardown(() => Promise.all([secure.close(), plain.close()]));

const sluice = await startTestSluice(`version: 1
network_policies:
  ws:
    endpoints:
      - host: ws.example.test
        port: ${secure.port}
        protocol: rest
        rules:
          - allow: { method: GET, path: "/socket/**" }
          - allow: { method: GET, path: "/private/**" }
      - { host: other.example.test, port: ${plain.port} }
providers:
  internal:
    from: env:WS_TOKEN
    endpoints: [{ host: ws.example.test, port: ${secure.port} }]
    inject: { header: authorization }
    env: WS_TOKEN
    placeholder: { prefix: "wsk_", length: 48, alphabet: hex }
    body: true
`, { upstreamCA: [ca.caPem], resolve: { 'ws.example.test': '127.0.0.1', 'other.example.test': '127.0.0.1' }, env: { WS_TOKEN: SECRET } });
t.teardown(() => sluice.close());
const placeholder = sluice.pipeline.envFor('default').WS_TOKEN!;
const secureUrl = (path: string) => `wss://ws.example.test:${secure.port}${path}`;

async function websocketEvents(): Promise<Array<Record<string, unknown>>> {
  return (await sluice.readAudit()).filter((e) => (e.unmapped as { websocket?: unknown } | undefined)?.websocket !== undefined);
}

t.test('wss:// in an intercepted tunnel: messages both ways, subprotocol, close codes, one audit event', async (t) => {
  const ws = wssThroughProxy(sluice.url, sluice.caCertPem, secureUrl('/socket/a?x=1'), { protocols: ['chat.v1', 'chat.v2'], headers: { 'x-agent': 'test', authorization: `Bearer ${placeholder}` } });
  await opened(ws);
  t.equal(ws.protocol, 'chat.v2', "the client gets the subprotocol the upstream chose");
  const hs = secure.handshakes.at(-1)!;
  t.equal(hs['x-agent'], 'test', 'request headers reach the upstream');
  t.equal(hs.authorization, `Bearer ${SECRET}`, 'the placeholder on the upgrade request became the real credential');
  t.equal(hs['proxy-authorization'], undefined);
  t.equal(secure.paths.at(-1), '/socket/a?x=1');

  ws.send('hello');
  t.same(await nextMessage(ws), { data: Buffer.from('hello'), binary: false });
  const blob = crypto.randomBytes(3 * 1024 * 1024);
  ws.send(blob);
  const back = await nextMessage(ws);
  t.equal(back.binary, true);
  t.ok(back.data.equals(blob), 'a 3 MiB binary message arrives intact both ways');

  // Many messages at once keep their order.
  const got: string[] = [];
  const all = new Promise<void>((resolve) => ws.on('message', (d: Buffer) => {
    got.push(d.toString());
    if (got.length === 200) resolve();
  }));
  for (let i = 0; i < 200; i++) ws.send(`m${i}`);
  await all;
  t.same(got, Array.from({ length: 200 }, (_, i) => `m${i}`));

  const done = closed(ws);
  ws.close(4001, 'bye now');
  t.same(await done, { code: 4001, reason: 'bye now' });
  for (let i = 0; i < 200 && secure.closes.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  t.same(secure.closes.at(-1), { code: 4001, reason: 'bye now' }, 'the close code and reason reach the upstream');

  let events = await websocketEvents();
  for (let i = 0; i < 100 && events.length === 0; i++) events = await websocketEvents();
  const ev = events.at(-1)!;
  t.equal((ev.http_response as { code: number }).code, 101);
  t.match(ev.traffic, { packets_out: 202, packets_in: 202, bytes_out: 5 + blob.length + got.join('').length });
  t.match(ev.unmapped, { websocket: { close_code: 4001, closed_by: 'client' } });
  t.equal((ev.http_request as { url: { path: string } }).url.path, '/socket/a', 'audited without the query');
  t.notMatch(JSON.stringify(await sluice.readAudit()), SECRET, 'the secret is in no audit event');
});

t.test('the upstream closes first: its code reaches the client', async (t) => {
  const ws = wssThroughProxy(sluice.url, sluice.caCertPem, secureUrl('/socket/b'));
  await opened(ws);
  const done = closed(ws);
  secure.sockets.at(-1)!.close(4002, 'server done');
  t.same(await done, { code: 4002, reason: 'server done' });
});

t.test('ws:// as a plain proxy request', async (t) => {
  const ws = wsThroughProxy(sluice.url, `ws://other.example.test:${plain.port}/feed`);
  await opened(ws);
  ws.send(JSON.stringify({ hi: 1 }));
  t.same(JSON.parse((await nextMessage(ws)).data.toString()), { hi: 1 });
  t.equal(plain.paths.at(-1), '/feed');
  ws.close();
  await closed(ws);
});

t.test('L7 rules apply to the upgrade request: refused with the reason, audited, never sent', async (t) => {
  const before = secure.handshakes.length;
  const ws = wssThroughProxy(sluice.url, sluice.caCertPem, secureUrl('/admin'));
  const err = await opened(ws).then(() => undefined, (e: { status?: number; body?: string; headers?: Record<string, string> }) => e);
  t.equal(err?.status, 403);
  // OpenShell's denial body (policy_denied, rule_missing …); Sluice's own code stays in the header.
  t.match(JSON.parse(err!.body!), { error: 'policy_denied' });
  t.equal(err?.headers?.['x-sluice-error'], 'l7_denied');
  t.equal(secure.handshakes.length, before, 'the upstream saw nothing');
  const audit = await sluice.readAudit();
  t.ok(audit.some((e) => (e.http_request as { url?: { path?: string } } | undefined)?.url?.path === '/admin' && e.action === 'Denied'), 'the refused upgrade is audited');
});

t.test("an upstream that answers the handshake with HTTP: the client gets that answer", async (t) => {
  const ws = wssThroughProxy(sluice.url, sluice.caCertPem, secureUrl('/private/x'));
  const err = await opened(ws).then(() => undefined, (e: { status?: number; body?: string }) => e);
  t.equal(err?.status, 401);
  t.equal(err?.body, '{"error":"no token"}');
});

t.test('messages pass the exfiltration guard and egress DLP; echoes are scrubbed', async (t) => {
  const ws = wssThroughProxy(sluice.url, sluice.caCertPem, secureUrl('/socket/c'));
  await opened(ws);
  ws.send(`token=${placeholder}`);
  const echoed = (await nextMessage(ws)).data.toString();
  t.equal(secure.received.at(-1)!.data.toString(), `token=${SECRET}`, 'a placeholder in a message to its own endpoint becomes the real value (body: true)');
  t.equal(echoed, `token=${placeholder}`, "the upstream's echo of the real value comes back as the placeholder");

  const count = secure.received.length;
  const done = closed(ws);
  ws.send(JSON.stringify({ leak: Buffer.from(SECRET).toString('base64') }));
  const result = await done;
  t.equal(result.code, 1008, 'closed as a policy violation');
  t.match(result.reason, /^secret_exfiltration/);
  t.equal(secure.received.length, count, 'the message never reached the upstream');
  t.notMatch(result.reason, SECRET);

  const ws2 = wsThroughProxy(sluice.url, `ws://other.example.test:${plain.port}/feed`);
  await opened(ws2);
  const done2 = closed(ws2);
  const before = plain.received.length;
  ws2.send('aws_access_key_id=AKIAIOSFODNN7EXAMPLF aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
  const r2 = await done2;
  t.equal(r2.code, 1008);
  t.match(r2.reason, /^dlp_blocked/);
  t.equal(plain.received.length, before);

  const events = await websocketEvents();
  t.ok(events.some((e) => (e.unmapped as { code?: string }).code === 'secret_exfiltration' && e.action === 'Denied'), 'the closed connection is audited as denied');
  t.notMatch(JSON.stringify(await sluice.readAudit()), SECRET);
});

t.test('upgrades that are not WebSocket, and malformed handshakes, get 400', async (t) => {
  const raw = async (head: string): Promise<string> => {
    const socket = net.connect(sluice.port, '127.0.0.1');
    socket.write(head);
    const chunks: Buffer[] = [];
    for await (const c of socket) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString();
  };
  const h2c = await raw(`GET http://other.example.test:${plain.port}/ HTTP/1.1\r\nHost: other.example.test:${plain.port}\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n`);
  t.match(h2c, /^HTTP\/1\.1 400/);
  t.match(h2c, /not supported through Sluice \(WebSocket is\)/);
  const badKey = await raw(`GET http://other.example.test:${plain.port}/ HTTP/1.1\r\nHost: other.example.test:${plain.port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  t.match(badKey, /^HTTP\/1\.1 400/);
  t.match(badKey, /malformed WebSocket handshake/);
});
