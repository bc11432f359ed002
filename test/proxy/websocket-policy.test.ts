import t from 'tap';
import { createTestCA } from '../helpers/tls.js';
import { startTestSluice } from '../helpers/sluice.js';
import { closed, nextMessage, opened, startWsUpstream, wssThroughProxy } from '../helpers/websocket.js';

// OpenShell's WebSocket rules enforced on relayed connections, message by message: the policy
// stage judges each client text message (rules/policy-stage.ts onWebSocketMessage) in the relay.

const ca = await createTestCA();
const up = await startWsUpstream({ cert: await ca.issue(['rt.example.test', 'gql.example.test']) });
t.teardown(() => up.close());
const sluice = await startTestSluice(`version: 1
network_policies:
  chat:
    endpoints:
      - host: rt.example.test
        port: ${up.port}
        protocol: websocket
        enforcement: enforce
        rules:
          - allow: { method: GET, path: "/v1/realtime/**" }
          - allow: { method: WEBSOCKET_TEXT, path: "/v1/realtime/**" }
        deny_rules:
          - { method: WEBSOCKET_TEXT, path: "/v1/realtime/admin/**" }
  graphql:
    endpoints:
      - host: gql.example.test
        port: ${up.port}
        path: /graphql
        protocol: websocket
        enforcement: enforce
        rules:
          - allow: { method: GET, path: /graphql }
          - allow: { operation_type: subscription, fields: [messageAdded] }
        deny_rules:
          - operation_type: mutation
`, { upstreamCA: [ca.caPem], resolve: { 'rt.example.test': '127.0.0.1', 'gql.example.test': '127.0.0.1' } });
t.teardown(() => sluice.close());
const url = (host: string, path: string) => `wss://${host}:${up.port}${path}`;

async function deniedMessages(): Promise<Array<Record<string, unknown>>> {
  for (let i = 0; i < 300; i++) {
    const events = (await sluice.readAudit()).filter((e) => (e.unmapped as { websocket?: unknown } | undefined)?.websocket !== undefined && e.action === 'Denied');
    if (events.length) return events;
    await new Promise((r) => setTimeout(r, 10));
  }
  return [];
}

t.test('WEBSOCKET_TEXT rules: an allowed path relays text messages; a denied one closes with 1008 before the message leaves', async (t) => {
  const ws = wssThroughProxy(sluice.url, sluice.caCertPem, url('rt.example.test', '/v1/realtime/room'));
  await opened(ws);
  ws.send('hello');
  t.same(await nextMessage(ws), { data: Buffer.from('hello'), binary: false }, 'allowed text message relayed and echoed');
  const bin = Buffer.from([0, 1, 2, 3]);
  ws.send(bin);
  t.same(await nextMessage(ws), { data: bin, binary: true }, 'binary messages are not judged, as in OpenShell');
  ws.close();
  await closed(ws);

  const before = up.received.length;
  const admin = wssThroughProxy(sluice.url, sluice.caCertPem, url('rt.example.test', '/v1/realtime/admin/x'));
  await opened(admin);
  const closing = closed(admin);
  admin.send('drop tables');
  const c = await closing;
  t.equal(c.code, 1008, 'policy violation');
  t.match(c.reason, /l7_denied|policy/);
  t.equal(up.received.length, before, 'the denied message never reached the upstream');
  const denied = await deniedMessages();
  t.ok(denied.length >= 1, 'the refused connection is audited as denied');

  const other = wssThroughProxy(sluice.url, sluice.caCertPem, url('rt.example.test', '/elsewhere'));
  const refused = await new Promise<number>((resolve) => other.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)).on('error', () => resolve(-1)));
  t.equal(refused, 403, 'an upgrade the rules do not allow is refused with a status');
});

t.test('GraphQL over WebSocket: each operation judged; a mutation closes the connection', async (t) => {
  const ws = wssThroughProxy(sluice.url, sluice.caCertPem, url('gql.example.test', '/graphql'));
  await opened(ws);
  const sub = JSON.stringify({ type: 'subscribe', id: '1', payload: { query: 'subscription { messageAdded }' } });
  ws.send(sub);
  t.equal((await nextMessage(ws)).data.toString(), sub, 'an allowed subscription is relayed');
  const closing = closed(ws);
  ws.send(JSON.stringify({ type: 'subscribe', id: '2', payload: { query: 'mutation { deleteAll }' } }));
  t.equal((await closing).code, 1008);
  t.notOk(up.received.some((m) => m.data.toString().includes('deleteAll')), 'the mutation never left');
});
