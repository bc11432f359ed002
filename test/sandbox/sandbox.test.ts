import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { buildBaseImage, ensureDocker, listSandboxes, stopSandbox, type SandboxDriver, type SandboxSpec } from '../../sandbox/index.js';
import { listFirewallTables } from '../../sandbox/firewall.js';
import { listSandboxNetworks } from '../../sandbox/netns.js';
import { runInSandbox } from './run-in-sandbox.js';

const variants: Array<{ driver: SandboxDriver; label: string; extra: Partial<SandboxSpec> }> = [
  { driver: 'bwrap', label: 'bwrap (veth)', extra: {} },
  { driver: 'bwrap', label: 'bwrap (unix-socket)', extra: { bwrapNetwork: 'unix-socket' } },
  { driver: 'docker', label: 'docker', extra: {} },
];

if (process.getuid?.() !== 0) {
  t.plan(0, 'sandbox drivers need root here (network namespaces, nftables, dockerd); CI runs this as root');
} else {
  for (const { driver, label, extra } of variants) {
    t.test(label, async (t) => {
      if (driver === 'docker') {
        await ensureDocker();
        await buildBaseImage();
      }

      t.test('exit code, stdin and stdout pass through', async (t) => {
        const run = await runInSandbox({ ...extra, driver, command: ['sh', '-c', 'cat; echo err >&2; exit 7'] }, 'hello\n');
        const { code, out, err } = await run.finish();
        t.equal(code, 7);
        t.equal(out, 'hello\n');
        t.equal(err, 'err\n');
      });

      t.test('kill() signals CMD itself', async (t) => {
        const run = await runInSandbox({ ...extra, driver, command: ['sleep', '30'] });
        await new Promise((r) => setTimeout(r, 300));
        run.running.kill('SIGTERM');
        const { code } = await run.finish();
        t.equal(code, 143, 'sleep died of SIGTERM (128 + 15)');
      });

      t.test('filesystem: read-only root, writable tmp and workdir, secrets masked', async (t) => {
        const workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-wd-'));
        fs.chmodSync(workdir, 0o777);
        t.teardown(() => fs.rmSync(workdir, { recursive: true, force: true }));
        const script = [
          'touch /usr/sluice-x 2>/dev/null && echo usr-writable',
          'touch /sluice-x 2>/dev/null && echo root-writable',
          'echo tmp > /tmp/x && echo tmp-ok',
          'echo from-sandbox > out.txt && echo wd-ok',
          'pwd',
          'cat /etc/shadow 2>/dev/null | head -c 20 | grep -q . && echo shadow-readable',
          'ls /var/run/docker.sock 2>/dev/null && echo docker-sock',
          'id -u',
          'grep CapEff /proc/self/status',
          'grep NoNewPrivs /proc/self/status',
        ].join('; ');
        const run = await runInSandbox({ ...extra, driver, command: ['sh', '-c', script], workdir, process: { run_as_user: '65534', run_as_group: '65534' } });
        const { out } = await run.finish();
        t.notMatch(out, /usr-writable|root-writable|shadow-readable|docker-sock/, out);
        t.match(out, /tmp-ok/);
        t.match(out, /wd-ok/);
        t.match(out, new RegExp(`^${workdir}$`, 'm'), 'the workdir is the working directory');
        t.equal(fs.readFileSync(path.join(workdir, 'out.txt'), 'utf8'), 'from-sandbox\n', 'workdir writes reach the host');
        t.match(out, /^65534$/m, 'runs as the requested user');
        t.match(out, /CapEff:\s+0000000000000000/, 'no capabilities');
        t.match(out, /NoNewPrivs:\s+1/, 'no new privileges');
      });

      t.test('pids limit', async (t) => {
        const py = 'import os, time\nn = 0\ntry:\n    for i in range(200):\n        if os.fork() == 0:\n            time.sleep(2); os._exit(0)\n        n += 1\nexcept OSError as e:\n    print("limited", n, e.errno)\n';
        const run = await runInSandbox({ ...extra, driver, command: ['python3', '-c', py], limits: { pids: 24, memoryMb: 256, cpus: 1 } });
        const { out } = await run.finish();
        const m = /limited (\d+) 11/.exec(out);
        t.ok(m, `fork was refused with EAGAIN: ${out}`);
        t.ok(Number(m?.[1]) < 24, 'before reaching the limit');
      });

      t.test('listSandboxes and stopSandbox', async (t) => {
        const name = `ps-${label.replace(/\W+/g, '')}-${process.pid}`;
        const run = await runInSandbox({ ...extra, driver, name, command: ['sleep', '30'] });
        const listed = await listSandboxes();
        t.ok(listed.some((s) => s.name === `sluice-${name}` && s.driver === driver && s.running), 'listed as running');
        await stopSandbox(name, { graceMs: 2000 });
        const { code } = await run.finish();
        t.not(code, 0, 'the command was stopped');
        t.notOk((await listSandboxes()).some((s) => s.name === `sluice-${name}`), 'gone from the list');
      });
    });
  }

  t.test('nothing is left behind', async (t) => {
    const networks = await listSandboxNetworks();
    const tables = await listFirewallTables();
    t.same(networks.filter((n) => tables.includes(n)), [], 'no sandbox netns with a firewall table');
  });
}
