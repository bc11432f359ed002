import fs from 'node:fs';
import t from 'tap';
import { buildBaseImage, ensureDocker, type SandboxDriver } from '../../sandbox/index.js';
import { dockerClient } from '../../sandbox/docker-engine.js';
import { descendants } from '../../sandbox/owner.js';
import { readState, stateDir } from '../../sandbox/sandbox-state.js';
import { tempDir } from '../helpers/sluice.js';
import { sluiceCli } from './sluice-cli.js';

// SIGTERM and SIGINT always end `sluice run`, whatever the sandbox does to its init or to the
// signal: the first is passed on, and what has not exited after the grace period is killed
// from the host.

/** Ignores SIGTERM/SIGINT, tries to stop its init with ptrace (refused), then waits. */
const STUBBORN = [
  'import ctypes, signal, time',
  'signal.signal(signal.SIGTERM, signal.SIG_IGN); signal.signal(signal.SIGINT, signal.SIG_IGN)',
  'libc = ctypes.CDLL(None, use_errno=True)',
  'r = libc.ptrace(16, 1, 0, 0)',
  'print("ptrace-init", r, ctypes.get_errno(), flush=True)',
  'print("ready", flush=True)',
  'time.sleep(300)',
].join('\n');

if (process.getuid?.() !== 0) {
  t.plan(0, 'needs root to create sandboxes (CI runs this as root)');
} else {
  t.setTimeout(600_000);
  const drivers: SandboxDriver[] = ['bwrap', 'docker'];
  for (const driver of drivers) {
    t.test(`${driver}: sluice run always ends on a signal`, async (t) => {
      if (driver === 'docker') {
        await ensureDocker();
        await buildBaseImage();
      }
      const home = tempDir('sluice-signals-');
      t.teardown(() => fs.rmSync(home, { recursive: true, force: true }));
      const base = ['run', '--driver', driver, '--home', home];

      t.test('a command that ignores SIGTERM after trying to ptrace its init', async (t) => {
        const name = `sluice-sig1-${driver}-${process.pid}`;
        const run = sluiceCli([...base, '--name', name, '--', 'python3', '-c', STUBBORN]);
        await run.waitFor(/ready/, 'stdout');
        t.match(run.stdout(), /ptrace-init -1 1\n/, 'ptrace of the init is refused with EPERM');
        run.child.kill('SIGTERM');
        const r = await run.done;
        t.comment(`returned ${r.ms} ms after start`);
        t.equal(r.code, 143, 'exit status 128 + SIGTERM');
        t.match(r.stderr, /stopped by SIGTERM \(the command did not exit within 5 s of it: killed\)/);
        t.notOk(fs.existsSync(stateDir(name)), 'and the sandbox is gone');
      });

      t.test('an init stopped (SIGSTOP from the host, as a tracer that left would leave it)', async (t) => {
        const name = `sluice-sig2-${driver}-${process.pid}`;
        const run = sluiceCli([...base, '--name', name, '--', 'sh', '-c', 'echo ready; sleep 300']);
        await run.waitFor(/ready/, 'stdout');
        const state = await readState(name);
        const inside =
          driver === 'bwrap' ? descendants(state?.pid ?? 0) : [(await dockerClient().getContainer(name).inspect()).State.Pid];
        t.ok(inside.length > 0, `stopping ${inside.join(', ')}`);
        for (const pid of inside) process.kill(pid, 'SIGSTOP');
        run.child.kill('SIGTERM');
        const r = await run.done;
        t.equal(r.code, 143, 'sluice run returned anyway');
        t.match(r.stderr, /stopped by SIGTERM \(the command did not exit within 5 s of it: killed\)/);
        t.notOk(fs.existsSync(stateDir(name)), 'and the sandbox is gone');
      });

      t.test('SIGINT to a command that exits on it', async (t) => {
        const run = sluiceCli([...base, '--', 'sh', '-c', 'trap "echo got-int; exit 3" INT; echo ready; while :; do sleep 1; done']);
        await run.waitFor(/ready/, 'stdout');
        run.child.kill('SIGINT');
        const r = await run.done;
        t.match(r.stdout, /got-int/, 'the command got it');
        t.equal(r.code, 130, 'exit status 128 + SIGINT');
        t.match(r.stderr, /stopped by SIGINT\n/);
        t.notMatch(r.stderr, /killed/, 'it exited within the grace period: nothing was killed');
      });

      t.test('a second SIGTERM kills at once', async (t) => {
        const run = sluiceCli([...base, '--', 'python3', '-c', STUBBORN]);
        await run.waitFor(/ready/, 'stdout');
        run.child.kill('SIGTERM');
        await run.waitFor(/./, 'stdout');
        run.child.kill('SIGTERM');
        const r = await run.done;
        t.equal(r.code, 143);
        t.match(r.stderr, /killed/);
      });
    });
  }
}
