import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { request } from 'undici';
import { buildBaseImage, ensureDocker } from '../../sandbox/index.js';
import { listFirewallTables } from '../../sandbox/firewall.js';
import { listSandboxNetworks } from '../../sandbox/netns.js';
import { sluiceRunDir } from '../../sandbox/sandbox-files.js';
import { runCommand } from '../../sandbox/run-command.js';
import { tempDir } from '../helpers/sluice.js';
import { spawnGateway as up, uniqueName } from '../helpers/gateway.js';
import type { SpawnedGateway as Up } from '../helpers/gateway.js';

// Real sandboxes and sluice processes: the file's wall time follows the shared machine's load
// (over the default 120 s at a load average of 25), as test/cli/run.test.ts found.
t.setTimeout(360_000);
/**
 * `kill -9` of a gateway with a bwrap and a docker sandbox running, then a restart on the same
 * state folder: every sandbox it owned is accounted for (recorded as lost) and nothing it made is
 * left: no network namespace, veth, nftables table, container or docker network. Then SIGTERM:
 * the gateway stops its sandboxes before it exits.
 */
async function api(gw: Up, method: string, route: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await request(`http://sluice${route}`, { method: method as 'GET', dispatcher: gw.agent, ...(body ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}) });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
}

const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));

/** Everything a sandbox holds on the host, by name, as the host tools see it. */
async function leftovers(names: { bwrapNetns: string; bridge: string; docker: string }): Promise<string[]> {
  const found: string[] = [];
  if ((await listSandboxNetworks()).some((n) => n.name === names.bwrapNetns)) found.push(`netns ${names.bwrapNetns}`);
  const tables = await listFirewallTables();
  for (const table of [names.bwrapNetns, names.bridge]) if (tables.includes(table)) found.push(`nft table ${table}`);
  for (const link of [names.bwrapNetns, names.bridge]) {
    if (await runCommand('ip', ['link', 'show', link]).then(() => true, () => false)) found.push(`link ${link}`);
  }
  const docker = await ensureDocker();
  if ((await docker.listContainers({ all: true, filters: { label: [`sluice.sandbox=${names.docker}`] } })).length) found.push(`container ${names.docker}`);
  if ((await docker.listNetworks({ filters: { label: [`sluice.sandbox=${names.docker}`] } })).length) found.push(`network ${names.docker}`);
  return found;
}

if (process.getuid?.() !== 0) {
  t.plan(0, 'the gateway runs sandboxes: needs root here; CI runs this as root');
} else {
  t.test('kill -9, restart: every sandbox re-found and cleaned up, with both drivers', async (t) => {
    await buildBaseImage();
    const home = tempDir('sluice-recover-');
    t.teardown(() => fs.rmSync(home, { recursive: true, force: true }));
    const first = await up(home);
    const bwrap = `sluice-${uniqueName('rb')}`;
    const docker = `sluice-${uniqueName('rd')}`;
    const ended = `sluice-${uniqueName('re')}`;
    t.equal((await api(first, 'POST', '/v1/sandboxes', { name: ended, command: ['sh', '-c', 'echo done'] })).status, 201);
    await api(first, 'GET', `/v1/sandboxes/${ended}/wait`);
    for (const [name, driver] of [[bwrap, 'bwrap'], [docker, 'docker']]) {
      const res = await api(first, 'POST', '/v1/sandboxes', { name, driver, command: ['sleep', '600'] });
      t.equal(res.status, 201, JSON.stringify(res.json));
    }
    const bwrapNetns = (JSON.parse(fs.readFileSync(path.join(sluiceRunDir(), bwrap, 'state.json'), 'utf8')) as { network: string }).network;
    const [net] = await (await ensureDocker()).listNetworks({ filters: { label: [`sluice.sandbox=${docker}`] } });
    const names = { bwrapNetns, bridge: net?.Labels?.['sluice.bridge'] ?? '', docker };
    t.match(names, { bwrapNetns: /^sluice-/, bridge: /^sluice-b/ });
    t.same((await leftovers(names)).sort(), [`container ${docker}`, `link ${names.bridge}`, `link ${bwrapNetns}`, `netns ${bwrapNetns}`, `network ${docker}`, `nft table ${names.bridge}`, `nft table ${bwrapNetns}`].sort(), 'while it runs, everything is there');

    first.child.kill('SIGKILL');
    await exited(first.child);
    await first.agent.close();

    const second = await up(home);
    t.teardown(async () => {
      second.child.kill('SIGKILL');
      await second.agent.close();
    });
    t.match(second.stderr(), new RegExp(`a previous gateway stopped while 2 sandbox\\(es\\) ran \\(.*${bwrap}.*\\)`), 'the restart says what it found');
    t.same(await leftovers(names), [], 'nothing of either sandbox is left on the host');
    const list = ((await api(second, 'GET', '/v1/sandboxes')).json.sandboxes as Array<{ name: string; state: string; exit_code?: number | null; reason?: string }>);
    for (const name of [bwrap, docker]) {
      t.match(list.find((s) => s.name === name), { state: 'lost', exit_code: null, reason: /stopped while the sandbox was running/ }, `${name} is recorded as lost`);
    }
    t.match(list.find((s) => s.name === ended), { state: 'exited', exit_code: 0 }, 'an ended sandbox keeps its record');
    const logs = await request(`http://sluice/v1/sandboxes/${ended}/logs?format=raw`, { dispatcher: second.agent });
    t.equal(await logs.body.text(), 'done\n', 'and its output');

    // A clean stop: the gateway stops what runs before it exits.
    const stopping = `sluice-${uniqueName('rs')}`;
    t.equal((await api(second, 'POST', '/v1/sandboxes', { name: stopping, command: ['sleep', '600'] })).status, 201);
    const stoppingNetns = (JSON.parse(fs.readFileSync(path.join(sluiceRunDir(), stopping, 'state.json'), 'utf8')) as { network: string }).network;
    second.child.kill('SIGTERM');
    t.equal(await exited(second.child), 0, 'SIGTERM: a clean exit');
    t.notOk((await listSandboxNetworks()).some((n) => n.name === stoppingNetns), 'its sandbox was stopped and removed');
    const record = JSON.parse(fs.readFileSync(path.join(home, 'gateway', 'sandboxes', stopping, 'sandbox.json'), 'utf8')) as { state: string };
    t.equal(record.state, 'stopped');
    t.notOk(fs.existsSync(path.join(home, 'gateway', 'api.sock')), 'its socket is gone');
    t.notOk(fs.existsSync(path.join(home, 'gateway', 'gateway.lock')), 'and its lock');
  });

  // The gateway's one reaper (sandbox/reaper.ts startOwnerReaper): no restart is needed for
  // the host to be clean, and removing one sandbox does not stop it for the others.
  t.test('kill -9, no restart: the gateway\'s reaper removes its sandboxes and warm networks', async (t) => {
    await buildBaseImage();
    const home = tempDir('sluice-reap-');
    t.teardown(() => fs.rmSync(home, { recursive: true, force: true }));
    const gw = await up(home);
    t.teardown(async () => {
      if (gw.child.exitCode === null) gw.child.kill('SIGKILL');
      await gw.agent.close();
    });
    const gone = `sluice-${uniqueName('kg')}`;
    t.equal((await api(gw, 'POST', '/v1/sandboxes', { name: gone, command: ['true'] })).status, 201);
    await api(gw, 'GET', `/v1/sandboxes/${gone}/wait`);
    t.equal((await api(gw, 'DELETE', `/v1/sandboxes/${gone}`)).status, 200, 'one sandbox removed first');
    const bwrap = `sluice-${uniqueName('kb')}`;
    const docker = `sluice-${uniqueName('kd')}`;
    for (const [name, driver] of [[bwrap, 'bwrap'], [docker, 'docker']]) {
      const res = await api(gw, 'POST', '/v1/sandboxes', { name, driver, command: ['sleep', '600'] });
      t.equal(res.status, 201, JSON.stringify(res.json));
    }
    const state = (name: string) => JSON.parse(fs.readFileSync(path.join(sluiceRunDir(), name, 'state.json'), 'utf8')) as { network: string; dockerNetwork: string; firewallTables: string[]; reaper?: unknown };
    t.notOk(state(bwrap).reaper, 'a gateway\'s sandbox lists no reaper of its own');
    const [bridge] = state(docker).firewallTables;
    const names = { bwrapNetns: state(bwrap).network, bridge: bridge ?? '', docker };
    const owned = () => fs.readdirSync(sluiceRunDir()).filter((d) => {
      const file = path.join(sluiceRunDir(), d, 'state.json');
      return fs.existsSync(file) && (JSON.parse(fs.readFileSync(file, 'utf8')) as { owner: { pid: number } }).owner.pid === gw.child.pid;
    });
    // the warm networks refilled after the creates are the gateway's too
    for (const deadline = Date.now() + 60_000; owned().filter((d) => d.startsWith('sluice-pool-')).length < 2 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 100));
    const before = owned();
    t.ok(before.filter((d) => d.startsWith('sluice-pool-')).length >= 2, `warm networks made: ${before.join(', ')}`);
    t.equal((await leftovers(names)).length, 7, 'while it runs, everything is there');
    // what else runs `sluice ps` or `sluice run` on this host would clean up too: the reaper must be there
    const reapers = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      const argv = (() => {
        try {
          return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
        } catch {
          return [];
        }
      })();
      return argv[1] === '-c' && argv.includes('sluice-reaper') && argv.includes('--owner') && argv.includes(String(gw.child.pid));
    });
    t.equal(reapers.length, 1, 'one reaper waits for the gateway, after one of its sandboxes was removed');

    gw.child.kill('SIGKILL');
    await exited(gw.child);
    let left: string[] = [];
    for (const deadline = Date.now() + 90_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 250))) {
      left = [...(await leftovers(names)), ...owned().map((d) => `state ${d}`)];
      if (left.length === 0) break;
    }
    t.same(left, [], 'with no restart, nothing the gateway made is left: sandboxes, warm networks, their states');
  });
}
