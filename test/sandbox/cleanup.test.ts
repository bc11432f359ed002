import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import t, { type Test } from 'tap';
import { buildBaseImage, cleanupLeftovers, ensureDocker, listSandboxes, type SandboxDriver } from '../../sandbox/index.js';
import { cgroupDirs } from '../../sandbox/cgroup.js';
import { removeSandbox } from '../../sandbox/cleanup.js';
import { listDockerObjects } from '../../sandbox/docker-objects.js';
import { listFirewallTables } from '../../sandbox/firewall.js';
import { mountPoints } from '../../sandbox/host-mounts.js';
import { createSandboxNetwork, listSandboxNetworks, slotName } from '../../sandbox/netns.js';
import { currentProcess, isRunning } from '../../sandbox/owner.js';
import { claimSandbox, readState, recordState, stateDir, type SandboxState } from '../../sandbox/sandbox-state.js';
import { ownRunDir, tempDir } from '../helpers/sluice.js';
import { sluiceCli } from './sluice-cli.js';

// A `sluice run` killed outright leaves nothing behind for long: its reaper removes the sandbox at
// once, and if the reaper is gone too, the next `sluice run` or `sluice ps` does. Clean-up never
// touches what a live owner holds, and knows an owner by pid and start time.

/** Everything a sandbox holds on the host, by its state file. */
async function holdings(state: SandboxState) {
  const netns = (await listSandboxNetworks()).map((n) => n.name);
  const tables = await listFirewallTables();
  const docker = await listDockerObjects(state.name);
  const mounts = [...mountPoints()].filter((m) => state.hostMounts.includes(m));
  return {
    stateDir: fs.existsSync(stateDir(state.name)),
    netns: !!state.network && netns.includes(state.network),
    tables: state.firewallTables.filter((x) => tables.includes(x)),
    cgroup: state.cgroup ? cgroupDirs(state.cgroup).filter((d) => fs.existsSync(d)) : [],
    container: docker.filter((o) => o.container).length,
    network: docker.filter((o) => o.network).length,
    mounts,
    process: state.pid ? isRunning({ pid: state.pid, start: state.pidStart }) : false,
  };
}
const NOTHING = { stateDir: false, netns: false, tables: [], cgroup: [], container: 0, network: 0, mounts: [], process: false };

async function eventually(t: Test, what: string, check: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  t.fail(`${what}: not within ${ms / 1000} s`);
}

/** A `sluice run` with a workdir (docker: a host mount of ours), running until killed. */
async function startRun(t: Test, driver: SandboxDriver, tag: string, env: NodeJS.ProcessEnv = {}) {
  const home = tempDir('sluice-orphan-');
  const workdir = tempDir('sluice-orphan-wd-');
  fs.chownSync(workdir, 4242, 4242);
  t.teardown(() => [home, workdir].forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  const name = `sluice-${tag}-${driver}-${process.pid}`;
  const run = sluiceCli(['run', '--driver', driver, '--home', home, '--workdir', workdir, '--name', name, '--', 'sh', '-c', 'echo ready; sleep 120'], { env });
  await run.waitFor(/ready/, 'stdout');
  const state = await readState(name);
  if (!state) throw new Error(`no state for ${name}`);
  return { run, state, name };
}

if (process.getuid?.() !== 0) {
  t.plan(0, 'needs root to create sandboxes (CI runs this as root)');
} else {
  t.setTimeout(600_000);
  const drivers: SandboxDriver[] = ['bwrap', 'docker'];
  for (const driver of drivers) {
    t.test(`${driver}: kill -9 of sluice run`, async (t) => {
      if (driver === 'docker') {
        await ensureDocker();
        await buildBaseImage();
      }
      t.test('the reaper removes everything at once', async (t) => {
        const { run, state } = await startRun(t, driver, 'kill9');
        const before = await holdings(state);
        t.ok(before.stateDir && before.tables.length === 1, 'it held a state dir and a firewall table');
        if (driver === 'bwrap') t.ok(before.netns && before.cgroup.length > 0 && before.process, 'a netns, a cgroup and processes');
        else t.ok(before.container === 1 && before.network === 1 && before.mounts.length === 1, 'a container, a network and a nosuid mount');
        run.child.kill('SIGKILL');
        await run.done;
        await eventually(t, 'everything removed', async () => JSON.stringify(await holdings(state)) === JSON.stringify(NOTHING));
        t.same(await holdings(state), NOTHING, 'nothing left');
      });

      t.test('with the reaper killed too, sluice ps shows the orphan and removes it', async (t) => {
        // a run dir of its own: the clean-ups of concurrent runs (which read /run/sluice) do not
        // see this orphan, so it is `sluice ps` that finds it (docker objects are the engine's
        // and shared: another clean-up may remove the container first, which is as good)
        const env = { SLUICE_RUN_DIR: ownRunDir(t, 'sluice-orphan-run-') };
        const { run, state, name } = await startRun(t, driver, 'noreaper', env);
        t.ok(state.reaper && isRunning(state.reaper), 'a reaper watches it');
        process.kill(state.reaper!.pid, 'SIGKILL');
        run.child.kill('SIGKILL');
        await run.done;
        t.ok((await listSandboxes()).some((s) => s.name === name && s.orphaned), 'listed as an orphan');
        const ps = await sluiceCli(['ps'], { env }).done;
        t.match(ps.stdout, new RegExp(`${name}\\t${driver}\\t.*\\torphan, removed now\\t`), ps.stdout);
        t.same(await holdings(state), NOTHING, 'nothing left');
        t.notMatch((await sluiceCli(['ps'], { env }).done).stdout, new RegExp(name), 'and no longer listed');
      });

      if (driver === 'docker') {
        t.test('two clean-ups at once, one that knows the sandbox and one that sees only its container: both finish', async (t) => {
          // Any Sluice removes a container whose owner is dead; the engine refuses a second removal
          // while one is under way (409). The clean-up that holds the state must still take back the
          // rest (the mount, the table, the state), not stop at the container.
          const env = { SLUICE_RUN_DIR: ownRunDir(t, 'sluice-orphan-run-') };
          const otherRunDir = tempDir('sluice-orphan-other-');
          t.teardown(() => fs.rmSync(otherRunDir, { recursive: true, force: true }));
          const { run, state, name } = await startRun(t, driver, 'race', env);
          process.kill(state.reaper!.pid, 'SIGKILL');
          run.child.kill('SIGKILL');
          await run.done;
          const [ours, other, again] = await Promise.all([
            sluiceCli(['ps'], { env }).done,
            sluiceCli(['ps'], { env: { SLUICE_RUN_DIR: otherRunDir } }).done,
            sluiceCli(['ps'], { env }).done,
          ]);
          for (const ps of [ours, other, again]) t.equal(ps.stderr.match(/could not remove.*/)?.[0], undefined, `no clean-up failed: ${ps.stderr.slice(0, 400)}`);
          t.match(`${ours.stdout}${again.stdout}`, new RegExp(`${name}\\t${driver}\\t.*\\torphan, removed now\\t`), 'one that knows it removed it');
          t.same(await holdings(state), NOTHING, 'nothing left');
        });
      }
    });
  }

  t.test('an owner is a pid and a start time; a live owner\'s sandbox is never touched', async (t) => {
    const me = currentProcess();
    const make = async (tag: string, owner: { pid: number; start: number }) => {
      const state = await claimSandbox({ driver: 'bwrap', name: `sluice-${tag}-${process.pid}`, command: ['test'] });
      await recordState(state, { owner, ownerPid: owner.pid });
      await createSandboxNetwork((n) => recordState(state, { network: n, firewallTables: [] }));
      return state;
    };
    const reused = await make('pidreuse', { pid: me.pid, start: me.start - 1 });
    const live = await make('live', me);
    t.teardown(() => removeSandbox(live));
    const report = await cleanupLeftovers();
    t.ok(report.removed.includes(reused.name), 'a state whose pid now belongs to another process (a different start time) is an orphan');
    t.same(await holdings(reused), NOTHING, 'and its netns is gone');
    t.notOk(report.removed.includes(live.name), 'the live owner\'s sandbox stays');
    const kept = await holdings(live);
    t.ok(kept.stateDir && kept.netns, 'with its netns');
  });

  t.test('a young sluice- netns no state lists is left for its creator', async (t) => {
    const name = slotName(0x3ffe);
    execFileSync('ip', ['netns', 'add', name]);
    t.teardown(() => execFileSync('ip', ['netns', 'del', name]));
    const report = await cleanupLeftovers();
    t.notOk(report.unlisted.includes(name), 'not removed within the grace period');
    t.ok((await listSandboxNetworks()).some((n) => n.name === name), 'still there');
  });
}
