import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import t, { type Test } from 'tap';
import { request } from 'undici';
import { buildBaseImage, ensureDocker } from '../../sandbox/index.js';
import { listFirewallTables } from '../../sandbox/firewall.js';
import { listSandboxNetworks } from '../../sandbox/netns.js';
import { isPoolEntry, listStateDirs, readState, type SandboxState } from '../../sandbox/sandbox-state.js';
import { tempDir } from '../helpers/sluice.js';
import { spawnGateway as up, uniqueName } from '../helpers/gateway.js';
import type { SpawnedGateway as Up } from '../helpers/gateway.js';

// A gateway's warm sandbox networks (`sluice up --warm-networks`), with both drivers: sandboxes
// take them, the gateway refills, and nothing of them is left after `kill -9` and a restart, nor
// after a clean stop.

t.setTimeout(480_000);

async function api(gw: Up, method: string, route: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await request(`http://sluice${route}`, { method: method as 'GET', dispatcher: gw.agent, ...(body ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}) });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
}

const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));

async function poolOf(pid: number): Promise<SandboxState[]> {
  const states = await Promise.all((await listStateDirs()).filter(isPoolEntry).map((d) => readState(d)));
  return states.filter((s): s is SandboxState => !!s && s.owner.pid === pid);
}

/** Waits until the gateway keeps `count` warm networks of each driver. */
async function warm(t: Test, gw: Up, count: number): Promise<SandboxState[]> {
  const deadline = Date.now() + 180_000;
  let states: SandboxState[] = [];
  const full = () => ['bwrap', 'docker'].every((d) => states.filter((s) => s.driver === d && (s.network || s.dockerNetwork)).length === count);
  while (Date.now() < deadline) {
    states = await poolOf(gw.child.pid!);
    if (full()) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  t.ok(full(), `${count} warm networks of each driver`);
  return states;
}

/** Whatever of these states' resources still exists on the host. */
async function leftovers(states: SandboxState[]): Promise<string[]> {
  const netns = new Set((await listSandboxNetworks()).map((n) => n.name));
  const tables = new Set(await listFirewallTables());
  const docker = new Set((await (await ensureDocker()).listNetworks()).map((n) => n.Name));
  const found: string[] = [];
  for (const s of states) {
    if (s.network && netns.has(s.network)) found.push(`netns ${s.network}`);
    if (s.dockerNetwork && docker.has(s.dockerNetwork)) found.push(`docker network ${s.dockerNetwork}`);
    for (const table of s.firewallTables) if (tables.has(table)) found.push(`nft table ${table}`);
    if (isPoolEntry(s.name) && (await readState(s.name))) found.push(`state ${s.name}`);
  }
  return found;
}

async function runAndWait(t: Test, gw: Up, driver: string): Promise<void> {
  const name = `sluice-${uniqueName(`wn${driver[0]}`)}`;
  t.equal((await api(gw, 'POST', '/v1/sandboxes', { name, driver, command: ['true'] })).status, 201);
  await api(gw, 'GET', `/v1/sandboxes/${name}/wait`);
}

if (process.getuid?.() !== 0) {
  t.plan(0, 'the gateway runs sandboxes: needs root here; CI runs this as root');
} else {
  t.test('warm networks: taken, refilled, and gone after kill -9 + restart and after a clean stop', async (t) => {
    await buildBaseImage();
    const home = tempDir('sluice-warm-');
    t.teardown(() => fs.rmSync(home, { recursive: true, force: true }));
    const first = await up(home, ['--warm-networks', '2']);
    t.teardown(async () => {
      if (first.child.exitCode === null) first.child.kill('SIGKILL');
      await first.agent.close();
    });
    // a driver's first sandbox starts its pool
    for (const driver of ['bwrap', 'docker']) await runAndWait(t, first, driver);
    const before = await warm(t, first, 2);

    const running: Record<string, string> = {};
    for (const driver of ['bwrap', 'docker']) {
      running[driver] = `sluice-${uniqueName(`wr${driver[0]}`)}`;
      const res = await api(first, 'POST', '/v1/sandboxes', { name: running[driver], driver, command: ['sleep', '600'] });
      t.equal(res.status, 201, JSON.stringify(res.json));
    }
    const bwrapState = (await readState(running.bwrap!))!;
    const dockerState = (await readState(running.docker!))!;
    t.ok(before.some((s) => s.network === bwrapState.network), 'the bwrap sandbox runs in a warm namespace');
    t.ok(before.some((s) => s.dockerNetwork === dockerState.dockerNetwork), 'the docker sandbox on a warm network');
    const refilled = await warm(t, first, 2);
    t.same(refilled.filter((s) => s.network === bwrapState.network || s.dockerNetwork === dockerState.dockerNetwork), [], 'the pool never lists what a sandbox took');
    const owned = [...refilled, bwrapState, dockerState];
    t.ok((await leftovers(owned)).length >= 8, 'while it runs, all of it is there');

    first.child.kill('SIGKILL');
    await exited(first.child);
    const second = await up(home, ['--warm-networks', '2']);
    t.teardown(async () => {
      if (second.child.exitCode === null) second.child.kill('SIGKILL');
      await second.agent.close();
    });
    t.same(await leftovers(owned), [], 'after kill -9 and a restart: no warm or taken network, table or state is left');
    t.same(await poolOf(first.child.pid!), [], 'no pool entry of the dead gateway is recorded');

    // No sandbox runs now: only recovery, seeing the stale lock, can find the warm ones (they have no reaper).
    for (const driver of ['bwrap', 'docker']) await runAndWait(t, second, driver);
    const idle = await warm(t, second, 2);
    second.child.kill('SIGKILL');
    await exited(second.child);
    const third = await up(home, ['--warm-networks', '2']);
    t.teardown(async () => {
      if (third.child.exitCode === null) third.child.kill('SIGKILL');
      await third.agent.close();
    });
    t.same(await leftovers(idle), [], 'kill -9 of an idle gateway, restart: its warm networks are removed');

    for (const driver of ['bwrap', 'docker']) await runAndWait(t, third, driver);
    const last = await warm(t, third, 2);
    third.child.kill('SIGTERM');
    t.equal(await exited(third.child), 0, 'SIGTERM: a clean exit');
    t.same(await leftovers(last), [], 'after a clean stop nothing of its warm networks is left');
  });
}
