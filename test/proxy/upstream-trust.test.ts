import tls from 'node:tls';
import t from 'tap';
import { makeDestination } from '../../core/index.js';
import { createForwarder } from '../../proxy/forward.js';
import { createTestCA } from '../helpers/tls.js';
import { startUpstream } from '../helpers/upstream.js';

// The forwarder's trust store (system bundle, Node's roots, NODE_EXTRA_CA_CERTS, extra CAs: ~300
// certificates, 20-40 ms and ~1.5 MB) is built on the first HTTPS upstream, once, and shared;
// a Sluice that is idle, or only forwards plain HTTP, never builds it.

t.test('the trust store is built on the first HTTPS upstream, once', async (t) => {
  const ca = await createTestCA();
  const secure = await startUpstream({ cert: await ca.issue(['api.example.test', 'other.example.test']) });
  const other = await startUpstream({ cert: await ca.issue(['other.example.test']) });
  const plain = await startUpstream();
  t.teardown(() => Promise.all([secure.close(), other.close(), plain.close()]));

  const made: Array<readonly unknown[]> = [];
  const original = tls.createSecureContext;
  tls.createSecureContext = (options) => {
    made.push(([] as unknown[]).concat(options?.ca ?? []));
    return original(options);
  };
  t.teardown(() => {
    tls.createSecureContext = original;
  });

  const forwarder = createForwarder({ extraCA: [ca.caPem] });
  t.teardown(() => forwarder.close());
  t.equal(made.length, 0, 'nothing built when the forwarder is made');

  const get = async (scheme: 'http' | 'https', host: string, port: number) => {
    const res = await forwarder.request({ scheme, dest: makeDestination(host, port), address: '127.0.0.1' }, { method: 'GET', path: '/x', headers: { host: `${host}:${port}` }, body: null });
    for await (const _ of res.body) void _;
    return res.status;
  };
  t.equal(await get('http', 'plain.example.test', plain.port), 200);
  t.equal(made.length, 0, 'a plain HTTP upstream needs none');

  t.equal(await get('https', 'api.example.test', secure.port), 200);
  t.equal(made.length, 1, 'built for the first HTTPS upstream');
  t.ok(made[0]!.length > 100, `with the roots (${made[0]!.length} CA entries)`);
  t.ok(made[0]!.includes(ca.caPem), 'and the extra CA');

  t.equal(await get('https', 'other.example.test', other.port), 200);
  const socket = await forwarder.connect({ scheme: 'https', dest: makeDestination('api.example.test', secure.port), address: '127.0.0.1' });
  socket.destroy();
  t.equal(made.length, 1, 'shared by every later upstream and connection');

  // Trust is not widened by being late: an upstream whose certificate no trusted CA signed is refused.
  const stranger = await createTestCA('Not Trusted CA');
  const untrusted = await startUpstream({ cert: await stranger.issue(['api.example.test']) });
  t.teardown(() => untrusted.close());
  await t.rejects(get('https', 'api.example.test', untrusted.port), { code: 'SLUICE_UPSTREAM_TLS' });
});
