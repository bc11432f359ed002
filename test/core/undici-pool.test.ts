import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import * as Undici from 'undici';
import { undiciPool } from '../../core/index.js';

// The forwarder and the router's backends load undici's pool, its request API and its connector, not the
// package's index (fetch, WebSocket, EventSource, cache and mock agents: 110 modules, ~70 ms and ~6 MB on the
// event loop of the first request). Checked in a fresh process: this one has loaded the whole of undici already.

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const CHILD = `
import http from 'node:http';
import { createRequire } from 'node:module';
import { makeDestination } from './core/index.ts';
import { createForwarder } from './proxy/forward.ts';
import { createBackend } from './privacy/backend.ts';
const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => res.end(JSON.stringify({ method: req.method, url: req.url, body })));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const port = server.address().port;
const cache = () => Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes('/node_modules/undici/'));
const before = cache().length;
const forwarder = createForwarder();
const res = await forwarder.request({ scheme: 'http', dest: makeDestination('api.example.test', port), address: '127.0.0.1' }, { method: 'POST', path: '/forwarded', headers: { host: 'api.example.test' }, body: 'from the forwarder' });
let forwarded = '';
for await (const c of res.body) forwarded += c;
const backend = createBackend('local', { type: 'openai-compatible', url: 'http://127.0.0.1:' + port });
const answer = await backend.request({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: '{"model":"m"}' });
const routed = await answer.body.text();
console.log(JSON.stringify({ before, status: res.status, forwarded, routed, modules: cache() }));
await forwarder.close();
await backend.close();
server.close();
`;

t.test('forwarding and a backend call load undici\'s pool, not its index', async (t) => {
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  t.equal(child.status, 0, child.stderr);
  const out = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as { before: number; status: number; forwarded: string; routed: string; modules: string[] };
  t.equal(out.before, 0, 'nothing of undici is loaded before the first request');
  t.equal(out.status, 200);
  t.same(JSON.parse(out.forwarded), { method: 'POST', url: '/forwarded', body: 'from the forwarder' }, 'the forwarder sent the request and its body');
  t.same(JSON.parse(out.routed), { method: 'POST', url: '/v1/chat/completions', body: '{"model":"m"}' }, 'the backend did too');
  const rel = out.modules.map((m) => m.slice(m.indexOf('/node_modules/undici/') + '/node_modules/undici/'.length));
  t.notOk(rel.includes('index.js'), 'undici\'s index is not loaded');
  for (const part of ['lib/web/fetch/index.js', 'lib/web/websocket/websocket.js', 'lib/mock/mock-agent.js', 'lib/dispatcher/proxy-agent.js']) t.notOk(rel.includes(part), `nor ${part}`);
  t.ok(rel.length < 50, `${rel.length} of undici's modules loaded`);
});

t.test('the pool is undici\'s own, whichever way undici was loaded', async (t) => {
  const pool = undiciPool();
  t.equal(pool.Pool, Undici.Pool, 'the same Pool class as the package exports');
  t.equal(pool.buildConnector, Undici.buildConnector, 'the same connector');
  const made = new pool.Pool('http://127.0.0.1:1');
  t.equal(typeof made.request, 'function', 'with the request API');
  await made.close();
});
