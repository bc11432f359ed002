import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { buildBaseImage, defaultLimits, ensureDocker, type SandboxDriver } from '../../sandbox/index.js';
import { cgroupDirs, isCgroupV2 } from '../../sandbox/cgroup.js';
import { dockerClient } from '../../sandbox/docker-engine.js';
import { tempDir } from '../helpers/sluice.js';
import { sluiceCli } from './sluice-cli.js';

// Default limits on both drivers, a fork bomb and a memory bomb, and the policy's overrides.
// Every bomb is bounded in time and size by itself, so that CI stays safe even if a limit failed.

const MIB = 1024 * 1024;

/** The host still forks and runs a program while the sandbox is at its limits. */
function hostStillRuns(t: Test): void {
  const r = spawnSync('/bin/sh', ['-c', 'echo alive'], { encoding: 'utf8', timeout: 30_000 });
  t.equal(r.stdout, 'alive\n', 'the host forks and runs a program meanwhile');
}

if (process.getuid?.() !== 0) {
  t.plan(0, 'limits need root (cgroups; CI runs this as root)');
} else {
  t.setTimeout(600_000); // a dozen `sluice run`s on shared CI cores
  const drivers: SandboxDriver[] = ['bwrap', 'docker'];
  // The drivers side by side (each its own home and names); a driver's bombs one after another.
  t.test('limits on each driver', async (t) => {
    t.jobs = 2;
    for (const driver of drivers) {
      t.test(`${driver}: limits`, async (t) => {
        if (driver === 'docker') {
          await ensureDocker();
          await buildBaseImage();
        }
        const home = tempDir('sluice-limits-');
        t.teardown(() => fs.rmSync(home, { recursive: true, force: true }));
        const policy = (name: string, limits: string) => {
          const file = path.join(home, `${name}.yaml`);
          fs.writeFileSync(file, `version: 1\nprocess:\n  limits: ${limits}\n`);
          return file;
        };
        const defaults = defaultLimits();
        const base = ['run', '--driver', driver, '--home', home];

        t.test('defaults apply with no limits in the policy', async (t) => {
          const name = `sluice-lim-${driver}-${process.pid}`;
          const run = sluiceCli([...base, '--name', name, '--', 'sh', '-c', 'ulimit -Sn; ulimit -Hn; echo ready; sleep 30']);
          await run.waitFor(/ready/, 'stdout');
          if (driver === 'bwrap') {
            const [pids, memory, cpu] = isCgroupV2() ? [cgroupDirs(name)[0]!, cgroupDirs(name)[0]!, cgroupDirs(name)[0]!] : cgroupDirs(name);
            const read = (dir: string, file: string) => fs.readFileSync(path.join(dir, file), 'utf8').trim();
            t.equal(read(pids!, 'pids.max'), String(defaults.pids), 'processes');
            t.equal(read(memory!, isCgroupV2() ? 'memory.max' : 'memory.limit_in_bytes'), String(defaults.memoryMb * MIB), 'memory');
            if (isCgroupV2()) t.equal(read(cpu!, 'cpu.max'), `${defaults.cpus * 100000} 100000`, 'CPU');
            else t.equal(read(cpu!, 'cpu.cfs_quota_us'), String(defaults.cpus * 100000), 'CPU');
          } else {
            const info = await dockerClient().getContainer(name).inspect();
            t.equal(info.HostConfig.PidsLimit, defaults.pids, 'processes');
            t.equal(info.HostConfig.Memory, defaults.memoryMb * MIB, 'memory');
            t.equal(info.HostConfig.MemorySwap, defaults.memoryMb * MIB, 'no swap beyond it');
            t.equal(info.HostConfig.NanoCpus, defaults.cpus * 1e9, 'CPU');
          }
          t.equal(run.stdout().split('\n').slice(0, 2).join(' '), `${defaults.openFiles} ${defaults.openFiles}`, 'open files, soft and hard');
          run.child.kill('SIGTERM');
          await run.done;
          if (driver === 'bwrap') t.notOk(cgroupDirs(name).some((d) => fs.existsSync(d)), 'the cgroup goes with the sandbox');
        });

        t.test('a fork bomb stops at the process limit; sluice run returns and says why', async (t) => {
          // the bomb runs for 8 s: the timer is forked before it (nothing forks after), and when the
          // shell exits the sandbox's init ends the rest
          const bomb = 'sleep 8 & timer=$!; echo started; exec 2>/dev/null; b(){ b|b& }; b; wait $timer; echo done';
          const run = sluiceCli([...base, '--', 'bash', '-c', bomb]);
          await run.waitFor(/started/, 'stdout');
          hostStillRuns(t);
          const r = await run.done;
          t.match(r.stdout, /done/, 'the command itself finished');
          t.match(r.stderr, new RegExp(`reached its process limit \\(${defaults.pids}\\); \\d+ fork\\(s\\) failed`), r.stderr.slice(-500));
        });

        t.test('a memory bomb is killed at the memory limit; the host keeps its memory', async (t) => {
          // at most 1 GiB whatever happens; the limit is 128 MiB
          const bomb = 'chunks = []\nfor i in range(64):\n    chunks.append(bytearray(16 * 1024 * 1024))\nprint("survived", flush=True)';
          const r = await sluiceCli([...base, '--policy', policy('mem', '{ memory_mb: 128 }'), '--', 'python3', '-c', bomb]).done;
          hostStillRuns(t);
          t.notMatch(r.stdout, /survived/, 'the allocation did not complete');
          t.equal(r.code, 137, 'killed (SIGKILL from the OOM killer)');
          t.match(r.stderr, /reached its memory limit \(128 MiB\); the kernel killed \d+ process/, r.stderr.slice(-500));
        });

        t.test('the policy overrides processes and open files', async (t) => {
          // it stays at the limit for a second: docker's counters are sampled (docker-running.ts)
          const forks = 'import os, time\nn = 0\ntry:\n    for i in range(500):\n        if os.fork() == 0:\n            time.sleep(3); os._exit(0)\n        n += 1\nexcept OSError as e:\n    print("limited", n, e.errno, flush=True)\ntime.sleep(1)';
          const p = await sluiceCli([...base, '--policy', policy('pids', '{ processes: 40 }'), '--', 'python3', '-c', forks]).done;
          const m = /limited (\d+) 11/.exec(p.stdout);
          t.ok(m && Number(m[1]) < 40, `fork refused with EAGAIN before 40 processes: ${p.stdout}`);
          t.match(p.stderr, /reached its process limit \(40\)/);
          const files = 'import os\nfds = []\ntry:\n    for i in range(5000):\n        fds.append(os.open("/dev/null", os.O_RDONLY))\nexcept OSError as e:\n    print("limited", len(fds), e.errno)';
          const f = await sluiceCli([...base, '--policy', policy('files', '{ open_files: 200 }'), '--', 'python3', '-c', files]).done;
          const n = /limited (\d+) 24/.exec(f.stdout);
          t.ok(n && Number(n[1]) < 200, `open() refused with EMFILE below 200 files: ${f.stdout}`);
        });

        t.test('a limit the policy cannot have is an error with its position', async (t) => {
          const r = await sluiceCli([...base, '--policy', policy('bad', '{ processes: 0, memory: 5 }'), '--', 'true']).done;
          t.equal(r.code, 1);
          t.match(r.stderr, /bad\.yaml:\d+:\d+: .*processes.*at least 1/);
          t.match(r.stderr, /memory/);
        });
      });
    }
  });
  t.test('the host is not left holding a sluice cgroup of ours', async (t) => {
    const ours = execFileSync('sh', ['-c', `ls -d /sys/fs/cgroup/*/sluice-lim-*-${process.pid} /sys/fs/cgroup/sluice-lim-*-${process.pid} 2>/dev/null || true`], { encoding: 'utf8' });
    t.equal(ours.trim(), '');
  });
}
