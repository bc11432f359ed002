import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import t, { type Test } from 'tap';
import { engineGet, engineSocketPath, ensureDocker } from '../../sandbox/docker-engine.js';
import { LABEL, LABEL_BRIDGE, LABEL_OWNER_PID, LABEL_OWNER_START, listDockerObjects } from '../../sandbox/docker-objects.js';
import { tempDir } from '../helpers/sluice.js';

// Every `sluice run` starts a clean-up that lists the engine's Sluice containers and networks, and
// `sluice ps` lists them too. They list over the engine's unix socket with two GETs, not through
// dockerode (whose ssh2, gRPC and protobuf were compiled on the event loop of every bwrap sandbox's
// start): same objects, same answers when no engine is there, and dockerode is not loaded.

const required = createRequire(import.meta.url);
const dockerodeLoaded = () => Object.keys(required.cache).some((k) => k.includes(`${path.sep}node_modules${path.sep}dockerode${path.sep}`));

interface FakeEngine {
  socket: string;
  /** Every request's path and query, in order. */
  seen: string[];
  close(): Promise<void>;
}

/** An Engine API on a unix socket: answers GET /containers/json and /networks from the lists given, filtered by label as dockerd does. */
async function fakeEngine(containers: object[], networks: object[], answer?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean): Promise<FakeEngine> {
  const socket = path.join(tempDir('docker-engine-'), 'docker.sock');
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.url ?? '');
    if (answer?.(req, res)) return;
    const url = new URL(req.url ?? '/', 'http://docker');
    const filters = JSON.parse(url.searchParams.get('filters') ?? '{}') as { label?: string[] };
    const matches = (o: { Labels?: Record<string, string> | null }) =>
      (filters.label ?? []).every((f) => {
        const [k, v] = f.split('=');
        return o.Labels?.[k!] !== undefined && (v === undefined || o.Labels[k!] === v);
      });
    const list = url.pathname === '/containers/json' ? containers : url.pathname === '/networks' ? networks : undefined;
    if (req.method !== 'GET' || !list) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"page not found"}');
      return;
    }
    if (url.pathname === '/containers/json' && url.searchParams.get('all') !== '1') {
      res.writeHead(400).end('{"message":"the test engine wants all=1"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(list.filter((o) => matches(o as { Labels?: Record<string, string> }))));
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return { socket, seen, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

function withDockerHost(value: string | undefined, t: Test): void {
  const before = process.env.DOCKER_HOST;
  if (value === undefined) delete process.env.DOCKER_HOST;
  else process.env.DOCKER_HOST = value;
  t.teardown(() => {
    if (before === undefined) delete process.env.DOCKER_HOST;
    else process.env.DOCKER_HOST = before;
  });
}

t.test('the socket comes from DOCKER_HOST; transports only dockerode speaks have none', async (t) => {
  t.equal(engineSocketPath({}), '/var/run/docker.sock');
  t.equal(engineSocketPath({ DOCKER_HOST: '' }), '/var/run/docker.sock');
  t.equal(engineSocketPath({ DOCKER_HOST: 'unix:///run/user/1000/docker.sock' }), '/run/user/1000/docker.sock');
  t.equal(engineSocketPath({ DOCKER_HOST: 'tcp://10.0.0.2:2376' }), undefined);
  t.equal(engineSocketPath({ DOCKER_HOST: 'ssh://me@build.example.com' }), undefined);
  t.equal(engineSocketPath({ DOCKER_HOST: 'npipe:////./pipe/docker_engine' }), undefined);
});

t.test("an engine's listing, merged by sandbox name, without loading dockerode", async (t) => {
  const owner = { [LABEL_OWNER_PID]: '4242', [LABEL_OWNER_START]: '987654' };
  const engine = await fakeEngine(
    [
      { Id: 'c1', Names: ['/sluice-aaaa'], Command: 'sh -c true', Created: 1_700_000_000, State: 'running', Labels: { [LABEL]: 'sluice-aaaa', [LABEL_BRIDGE]: 'slb-aaaa', ...owner } },
      { Id: 'c2', Names: ['/sluice-bbbb'], Command: '', Created: 1_700_000_100, State: 'exited', Labels: { [LABEL]: 'sluice-bbbb' } },
      { Id: 'c3', Names: ['/someone-else'], Command: 'nginx', Created: 1_700_000_200, State: 'running', Labels: { 'com.example.app': 'web' } },
    ],
    [
      { Id: 'n1', Name: 'sluice-aaaa', Labels: { [LABEL]: 'sluice-aaaa', [LABEL_BRIDGE]: 'slb-aaaa', ...owner } },
      { Id: 'n9', Name: 'sluice-cccc', Labels: { [LABEL]: 'sluice-cccc', [LABEL_BRIDGE]: 'slb-cccc' } },
      { Id: 'n0', Name: 'bridge', Labels: {} },
    ],
  );
  t.teardown(() => engine.close());
  withDockerHost(`unix://${engine.socket}`, t);

  const all = await listDockerObjects();
  t.same(
    all.sort((a, b) => a.name.localeCompare(b.name)),
    [
      { name: 'sluice-aaaa', container: 'c1', network: 'n1', bridge: 'slb-aaaa', ownerPid: 4242, ownerStart: 987654, running: true, createdAt: '2023-11-14T22:13:20.000Z', command: ['sh -c true'] },
      { name: 'sluice-bbbb', container: 'c2', bridge: undefined, ownerPid: undefined, ownerStart: undefined, running: false, createdAt: '2023-11-14T22:15:00.000Z', command: [] },
      { name: 'sluice-cccc', network: 'n9', bridge: 'slb-cccc', ownerPid: undefined, ownerStart: undefined },
    ],
  );
  t.same(engine.seen.map((u) => decodeURIComponent(u)), [`/containers/json?all=1&filters={"label":["${LABEL}"]}`, `/networks?filters={"label":["${LABEL}"]}`], 'two GETs, filtered by the label');

  const one = await listDockerObjects('sluice-aaaa');
  t.same(one.map((o) => [o.name, o.container, o.network]), [['sluice-aaaa', 'c1', 'n1']], "a sandbox's own objects, by its label's value");
  t.match(decodeURIComponent(engine.seen.at(-1)!), `"${LABEL}=sluice-aaaa"`);
  t.notOk(dockerodeLoaded(), 'dockerode was not loaded to list');
});

t.test('no engine on the socket is no objects, at once', async (t) => {
  withDockerHost(`unix://${path.join(tempDir('docker-engine-'), 'absent.sock')}`, t);
  t.same(await listDockerObjects(), []);
  // A file that is not a socket, as a stale path can be.
  const file = path.join(tempDir('docker-engine-'), 'not-a-socket');
  fs.writeFileSync(file, '');
  process.env.DOCKER_HOST = `unix://${file}`;
  t.same(await listDockerObjects(), []);
  t.notOk(dockerodeLoaded());
});

t.test('an engine that accepts and never answers is no engine after the timeout', async (t) => {
  const engine = await fakeEngine([], [], () => true);
  t.teardown(() => engine.close());
  const started = Date.now();
  t.equal(await engineGet(engine.socket, '/_ping', { timeoutMs: 200 }), undefined);
  t.ok(Date.now() - started < 5_000);
});

t.test('answers that are not a listing are errors that say so, never a silent empty list', async (t) => {
  const engine = await fakeEngine([], [], (req, res) => {
    if (req.url?.startsWith('/containers/json')) {
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"message":"database is locked"}');
      return true;
    }
    if (req.url === '/not-json') {
      res.writeHead(200).end('<html>proxy error</html>');
      return true;
    }
    if (req.url === '/big') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(`[${'0,'.repeat(10_000)}0]`);
      return true;
    }
    return false;
  });
  t.teardown(() => engine.close());
  await t.rejects(engineGet(engine.socket, '/containers/json?all=1'), /answered 500 to GET \/containers\/json\?all=1: \{"message":"database is locked"\}/);
  await t.rejects(engineGet(engine.socket, '/not-json'), /is not JSON/);
  await t.rejects(engineGet(engine.socket, '/big', { maxBytes: 1024 }), /is over 1024 bytes/);
  t.same(await engineGet(engine.socket, '/big'), Array(10_001).fill(0));
  withDockerHost(`unix://${engine.socket}`, t);
  await t.rejects(listDockerObjects(), /answered 500/, 'the clean-up reports it and skips docker rather than take it for none');

  const odd = await fakeEngine([], [], (req, res) => {
    if (!req.url?.startsWith('/networks')) return false;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"not":"a list"}');
    return true;
  });
  t.teardown(() => odd.close());
  process.env.DOCKER_HOST = `unix://${odd.socket}`;
  await t.rejects(listDockerObjects(), /something other than a list/);
});

t.test('against the real engine: the same objects dockerode lists', { timeout: 120_000 }, async (t) => {
  let docker;
  try {
    docker = await ensureDocker();
  } catch (err) {
    t.fail(`no Docker engine: ${(err as Error).message}`);
    return;
  }
  withDockerHost(undefined, t);
  const name = `sluice-listing-${process.pid}`;
  const network = await docker.createNetwork({ Name: name, Labels: { [LABEL]: name, [LABEL_BRIDGE]: 'slb-listing', [LABEL_OWNER_PID]: String(process.pid), [LABEL_OWNER_START]: '1' } });
  t.teardown(() => network.remove().catch(() => undefined));
  const raw = await listDockerObjects(name);
  const viaDockerode = await docker.listNetworks({ filters: { label: [`${LABEL}=${name}`] } });
  t.same(raw, [{ name, network: viaDockerode[0]?.Id, bridge: 'slb-listing', ownerPid: process.pid, ownerStart: 1 }]);
});
