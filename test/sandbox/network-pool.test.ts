import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import t, { type Test } from 'tap';
import { buildBaseImage, ensureDocker, prepareSandbox, type PreparedSandbox, type SandboxDriver } from '../../sandbox/index.js';
import { listFirewallTables } from '../../sandbox/firewall.js';
import { listSandboxNetworks } from '../../sandbox/netns.js';
import { createNetworkPool, type NetworkPool } from '../../sandbox/network-pool.js';
import { isPoolEntry, listStateDirs, readState, stateDir, type SandboxState } from '../../sandbox/sandbox-state.js';
import { uniqueName } from '../helpers/gateway.js';

// Warm sandbox networks (sandbox/network-pool.ts) against the real kernel and Docker engine:
// a warm namespace or network reaches one sandbox only, is destroyed with it and never handed
// out again; a pool that cannot make entries, or whose entry vanished, costs a cold start and
// nothing else; closing it leaves nothing behind.

t.setTimeout(300_000);

/** The pool entries this process owns, as their states list them. */
async function poolStates(): Promise<SandboxState[]> {
  const states = await Promise.all((await listStateDirs()).filter(isPoolEntry).map((d) => readState(d)));
  return states.filter((s): s is SandboxState => !!s && s.owner.pid === process.pid);
}

async function ready(t: Test, pool: NetworkPool, driver: SandboxDriver, count: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (pool.ready(driver) < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.equal(pool.ready(driver), count, `${count} warm ${driver} networks ready`);
}

/** Starts a prepared sandbox with a bare listener as its proxy; resolves with its output once it exits. */
async function runPrepared(prepared: PreparedSandbox): Promise<string> {
  const listener = net.createServer((s) => s.destroy());
  await new Promise<void>((resolve) => listener.listen(0, prepared.proxyListen.host, resolve));
  try {
    const running = await prepared.start({ proxy: { host: prepared.proxyListen.host, port: (listener.address() as net.AddressInfo).port, caCertPem: '' }, stdio: 'pipe' });
    running.stdin?.end();
    let out = '';
    running.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    const ended = new Promise((resolve) => running.stdout?.once('end', resolve));
    await running.wait();
    await ended;
    return out;
  } finally {
    listener.close();
  }
}

async function dockerNetworks(): Promise<Map<string, number>> {
  const docker = await ensureDocker();
  const out = new Map<string, number>();
  for (const n of await docker.listNetworks({ filters: { label: ['sluice.sandbox'] } })) {
    // a test file running alongside may remove its network between the listing and this look
    const inspected = (await docker.getNetwork(n.Id).inspect().catch((err: { statusCode?: number }) => {
      if (err.statusCode === 404) return undefined;
      throw err;
    })) as { Name: string; Containers?: Record<string, unknown> } | undefined;
    if (inspected) out.set(inspected.Name, Object.keys(inspected.Containers ?? {}).length);
  }
  return out;
}

async function containersNamed(name: string): Promise<string[]> {
  const found = await (await ensureDocker()).listContainers({ all: true, filters: { name: [name] } });
  return found.flatMap((c) => c.Names);
}

if (process.getuid?.() !== 0) {
  t.plan(0, 'network namespaces, nftables and dockerd need root; CI runs this as root');
} else {
  t.test('bwrap: each warm namespace goes to one sandbox, once, and goes with it', async (t) => {
    const pool = createNetworkPool({ size: 2, onError: (_d, err) => t.fail(`pool: ${(err as Error).message}`) });
    t.teardown(() => pool.close());
    pool.fill('bwrap');
    await ready(t, pool, 'bwrap', 2);
    const warm = (await poolStates()).filter((s) => s.driver === 'bwrap').map((s) => s.network);
    t.equal(warm.length, 2, 'each warm namespace is recorded by a state of its own');
    t.ok(warm.every((n) => fs.existsSync(`/run/netns/${n}`)), 'and exists');

    // five sandboxes at once on a pool of two: two take the warm ones, three make their own
    const prepared = await Promise.all(Array.from({ length: 5 }, (_, i) => prepareSandbox({ driver: 'bwrap', name: uniqueName(`wp${i}`), command: ['readlink', '/proc/self/ns/net'], pool })));
    t.teardown(() => Promise.all(prepared.map((p) => p.remove())));
    const networks = await Promise.all(prepared.map(async (p) => (await readState(p.name))!.network));
    t.equal(new Set(networks).size, 5, 'five sandboxes, five namespaces');
    t.same(networks.filter((n) => warm.includes(n)).sort(), [...warm].sort(), 'both warm ones were taken, each by one sandbox');
    t.same(await poolStates(), [], 'the pool lists neither any more: each is listed by the sandbox that took it alone');
    t.equal(new Set(prepared.map((p) => p.proxyListen.host)).size, 5, 'five proxy addresses');

    // all five exist together while they run: distinct namespace inodes, each the one its state names
    const inodes = networks.map((n) => fs.statSync(`/run/netns/${n}`).ino);
    t.equal(new Set(inodes).size, 5, 'five distinct namespaces in the kernel');
    const seen = await Promise.all(prepared.map((p) => runPrepared(p)));
    t.same(seen.map((s) => s.trim()), inodes.map((ino) => `net:[${ino}]`), 'each command ran in the namespace its own state lists');

    await Promise.all(prepared.map((p) => p.remove()));
    const left = new Set((await listSandboxNetworks()).map((n) => n.name));
    t.same(warm.filter((n) => left.has(n)), [], 'a used warm namespace is destroyed with its sandbox');
    t.equal(pool.ready('bwrap'), 0, 'and nothing went back into the pool');
  });

  t.test('a pool that cannot make entries, or whose entry vanished, costs a cold start only', async (t) => {
    const errors: string[] = [];
    const broken = createNetworkPool({ size: 1, run: async () => Promise.reject(new Error('ip: no answer after 30000 ms')), onError: (_d, err) => errors.push((err as Error).message) });
    t.teardown(() => broken.close());
    broken.fill('bwrap');
    const deadline = Date.now() + 60_000;
    while (errors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    t.match(errors, [/no answer/], 'the failed refill is reported');
    t.same(await poolStates(), [], 'and left nothing recorded');
    const cold = await prepareSandbox({ driver: 'bwrap', name: uniqueName('wpcold'), command: ['true'], pool: broken });
    t.teardown(() => cold.remove());
    t.ok(fs.existsSync(`/run/netns/${(await readState(cold.name))!.network}`), 'the sandbox made its own namespace');
    t.equal(await runPrepared(cold), '', 'and ran');

    const pool = createNetworkPool({ size: 1 });
    t.teardown(() => pool.close());
    pool.fill('bwrap');
    await ready(t, pool, 'bwrap', 1);
    const [entry] = await poolStates();
    // deleted behind the pool's back (root can)
    execFileSync('ip', ['netns', 'del', entry!.network]);
    const fresh = await prepareSandbox({ driver: 'bwrap', name: uniqueName('wpgone'), command: ['true'], pool });
    t.teardown(() => fresh.remove());
    const network = (await readState(fresh.name))!.network;
    t.not(network, entry!.network, 'a warm namespace that is gone is not used');
    t.ok(fs.existsSync(`/run/netns/${network}`), 'the sandbox made its own');
    t.notOk(fs.existsSync(stateDir(entry!.name)), 'and the vanished entry is no longer recorded');
  });

  t.test('a warm firewall lets through the port it was made for, and is replaced for any other', async (t) => {
    const pool = createNetworkPool({ size: 2, onError: (_d, err) => t.fail(`pool: ${(err as Error).message}`) });
    t.teardown(() => pool.close());
    pool.fill('bwrap');
    await ready(t, pool, 'bwrap', 2);
    const rules = (table: string) => execFileSync('nft', ['list', 'table', 'inet', table], { encoding: 'utf8' });
    const [same, other] = await Promise.all([0, 1].map((i) => prepareSandbox({ driver: 'bwrap', name: uniqueName(`wpf${i}`), command: ['true'], pool })));
    t.teardown(() => Promise.all([same!.remove(), other!.remove()]));
    for (const p of [same!, other!]) {
      const table = (await readState(p.name))!.network;
      t.type(p.proxyListen.port, 'number', 'a warm network names its proxy port');
      t.match(rules(table), new RegExp(`ip daddr ${p.proxyListen.host.replace(/\./g, '\\.')} tcp dport ${p.proxyListen.port} accept`), 'its firewall is in place, for that port only');
    }
    // the proxy got the warm port: nothing to install; it did not (taken meanwhile): replaced
    const listener = net.createServer((c) => c.destroy());
    await new Promise<void>((resolve) => listener.listen(same!.proxyListen.port, same!.proxyListen.host, resolve));
    t.teardown(() => listener.close());
    const running = await same!.start({ proxy: { host: same!.proxyListen.host, port: same!.proxyListen.port!, caCertPem: '' }, stdio: 'pipe' });
    running.stdin?.end();
    await running.wait();
    const warmPort = other!.proxyListen.port!;
    const out = await runPrepared(other!);
    t.equal(out, '');
    const table = (await readState(other!.name))!.network;
    const now = rules(table);
    t.notMatch(now, new RegExp(`dport ${warmPort} accept`), 'started with another port: the warm port is no longer let through');
    t.match(now, /tcp dport \d+ accept/, 'the port the proxy got is');
  });

  t.test('docker: each warm network is attached to one container, once', async (t) => {
    await buildBaseImage();
    const pool = createNetworkPool({ size: 2, onError: (_d, err) => t.fail(`pool: ${(err as Error).message}`) });
    t.teardown(() => pool.close());
    pool.fill('docker');
    await ready(t, pool, 'docker', 2);
    const warm = (await poolStates()).filter((s) => s.driver === 'docker').map((s) => s.dockerNetwork!);
    t.equal(warm.length, 2);
    const prepared = await Promise.all(Array.from({ length: 3 }, (_, i) => prepareSandbox({ driver: 'docker', name: uniqueName(`wpd${i}`), command: ['sleep', '120'], pool })));
    t.teardown(() => Promise.all(prepared.map((p) => p.remove())));
    const networks = await Promise.all(prepared.map(async (p) => (await readState(p.name))!.dockerNetwork!));
    t.equal(new Set(networks).size, 3, 'three containers, three networks');
    t.same(networks.filter((n) => warm.includes(n)).sort(), [...warm].sort(), 'both warm ones taken, each by one sandbox');
    t.same(await poolStates(), [], 'the pool lists neither any more');
    // the engine lists a network's containers while they run: all three run now
    const listener = net.createServer((c) => c.destroy());
    await new Promise<void>((resolve) => listener.listen(0, '0.0.0.0', resolve));
    t.teardown(() => listener.close());
    const port = (listener.address() as net.AddressInfo).port;
    await Promise.all(prepared.map((p) => p.start({ proxy: { host: p.proxyListen.host, port, caCertPem: '' }, stdio: 'pipe' })));
    const attached = await dockerNetworks();
    t.same(networks.map((n) => attached.get(n)), [1, 1, 1], 'each network has exactly one container: a warm one its holder, the cold one the sandbox');
    const docker = await ensureDocker();
    for (const p of prepared) {
      const state = (await readState(p.name))!;
      const inspected = await docker.getContainer(p.name).inspect();
      if (!warm.includes(state.dockerNetwork!)) {
        t.equal(inspected.HostConfig.NetworkMode, state.dockerNetwork, 'cold: the container is on its own network');
        continue;
      }
      const holder = await docker.getContainer(state.netHolder!).inspect();
      t.equal(inspected.HostConfig.NetworkMode, `container:${holder.Id}`, 'warm: the container joins the holder of the network it took');
      t.same(Object.keys(holder.NetworkSettings.Networks), [state.dockerNetwork], 'and the holder is on that network only');
      t.match(holder, { Config: { User: '65534:65534' }, HostConfig: { CapDrop: ['ALL'], ReadonlyRootfs: true, PidsLimit: 4 } }, 'the holder runs as nobody with nothing');
    }
    await Promise.all(prepared.map((p) => p.remove()));
    const after = await dockerNetworks();
    t.same(warm.filter((n) => after.has(n)), [], 'a used warm network is removed with its sandbox');
    for (const n of warm) t.same(await containersNamed(n), [], 'and its holder');
    t.equal(pool.ready('docker'), 0, 'and nothing went back into the pool');
  });

  t.test('docker: the image is looked up while the network is taken or made; a missing one removes it', async (t) => {
    const pool = createNetworkPool({ size: 1, onError: (_d, err) => t.fail(`pool: ${(err as Error).message}`) });
    t.teardown(() => pool.close());
    pool.fill('docker');
    await ready(t, pool, 'docker', 1);
    const [entry] = (await poolStates()).filter((s) => s.driver === 'docker');
    for (const how of ['warm', 'cold']) {
      const name = uniqueName(`wpi-${how}`);
      await t.rejects(prepareSandbox({ driver: 'docker', name, image: `sluice-missing-${process.pid}:404`, command: ['true'], pool }), /image sluice-missing-\d+:404 not found: run `sluice image build`/, `${how}: refused, naming the fix`);
      t.notOk(fs.existsSync(stateDir(`sluice-${name}`)), `${how}: no state left`);
    }
    const networks = await dockerNetworks();
    t.notOk(networks.has(entry!.dockerNetwork!), 'the warm network the refused sandbox took is removed, not handed out again');
    t.notOk([...networks.keys()].some((n) => n.includes('wpi-')), 'and the one the cold start made');
  });

  t.test('closing the pool removes every entry no sandbox took', async (t) => {
    const pool = createNetworkPool({ size: 2, onError: (_d, err) => t.fail(`pool: ${(err as Error).message}`) });
    pool.fill('bwrap');
    pool.fill('docker');
    await ready(t, pool, 'bwrap', 2);
    await ready(t, pool, 'docker', 2);
    const states = await poolStates();
    t.equal(states.length, 4);
    await pool.close();
    const netns = new Set((await listSandboxNetworks()).map((n) => n.name));
    const tables = new Set(await listFirewallTables());
    const docker = await dockerNetworks();
    for (const s of states) {
      t.notOk(fs.existsSync(stateDir(s.name)), `${s.name}: no state`);
      if (s.network) t.notOk(netns.has(s.network), `${s.name}: no namespace`);
      if (s.dockerNetwork) t.notOk(docker.has(s.dockerNetwork), `${s.name}: no docker network`);
      if (s.container) t.same(await containersNamed(s.container), [], `${s.name}: no holder container`);
      for (const table of s.firewallTables) t.notOk(tables.has(table), `${s.name}: no nft table ${table}`);
    }
  });
}
