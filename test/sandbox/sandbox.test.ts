import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { text } from 'node:stream/consumers';
import { buildBaseImage, ensureDocker, listSandboxes, prepareSandbox, stopSandbox, type SandboxDriver, type SandboxSpec } from '../../sandbox/index.js';
import { sluiceRunDir } from '../../sandbox/sandbox-files.js';
import { runInSandbox } from './run-in-sandbox.js';

const here = path.dirname(fileURLToPath(import.meta.url));

const variants: Array<{ driver: SandboxDriver; label: string; extra: Partial<SandboxSpec> }> = [
  { driver: 'bwrap', label: 'bwrap (veth)', extra: {} },
  { driver: 'bwrap', label: 'bwrap (unix-socket)', extra: { bwrapNetwork: 'unix-socket' } },
  { driver: 'docker', label: 'docker', extra: {} },
];

if (process.getuid?.() !== 0) {
  t.plan(0, 'sandbox drivers need root here (network namespaces, nftables, dockerd); CI runs this as root');
} else {
  t.setTimeout(600_000); // many sandboxes, started one after another on shared CI cores
  for (const { driver, label, extra } of variants) {
    t.test(label, async (t) => {
      if (driver === 'docker') {
        await ensureDocker();
        await buildBaseImage();
      }

      t.test('exit code, stdin and stdout pass through', async (t) => {
        const run = await runInSandbox({ ...extra, driver, command: ['sh', '-c', 'cat; echo err >&2; exit 7'] }, 'hello\n');
        const { code, out, err } = await run.finish();
        t.notOk(fs.existsSync(path.join(sluiceRunDir(), run.running.name)), 'its files are gone once removed');
        t.notOk((await listSandboxes()).some((s) => s.name === run.running.name), 'and it is no longer listed');
        t.equal(code, 7);
        t.equal(out, 'hello\n');
        t.equal(err, 'err\n');
      });

      t.test('output of a CMD that exits before anyone reads it is kept', async (t) => {
        const prepared = await prepareSandbox({ ...extra, driver, command: ['sh', '-c', 'echo fast; echo late >&2'] });
        const listener = net.createServer((s) => s.destroy());
        await new Promise<void>((resolve) => listener.listen(0, prepared.proxyListen.host, resolve));
        t.teardown(() => listener.close());
        const port = (listener.address() as net.AddressInfo).port;
        const running = await prepared.start({ proxy: { host: prepared.proxyListen.host, port, caCertPem: '' }, stdio: 'pipe' });
        running.stdin?.end();
        t.equal(await running.wait(), 0);
        // Only now does anything read.
        const read = (s: Readable | null) => (s ? text(s) : Promise.resolve(''));
        t.same(await Promise.all([read(running.stdout), read(running.stderr)]), ['fast\n', 'late\n']);
        await running.remove();
      });

      t.test('kill() signals CMD itself', async (t) => {
        // Wait until CMD itself runs (a fixed delay flaked under load: the signal could arrive first).
        const run = await runInSandbox({ ...extra, driver, command: ['sh', '-c', 'echo ready; exec sleep 30'] });
        for (let i = 0; i < 200 && !run.output().includes('ready'); i++) await new Promise((r) => setTimeout(r, 50));
        t.match(run.output(), /ready/, 'CMD started');
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

      t.test('the policy user "sandbox" is never root', async (t) => {
        const run = await runInSandbox({ ...extra, driver, command: ['id', '-u'], process: { run_as_user: 'sandbox', run_as_group: 'sandbox' } });
        const { code, out } = await run.finish();
        t.equal(code, 0);
        t.match(out, /^[1-9]\d*\n$/, `uid ${out.trim()}`);
      });

      t.test('pids limit', async (t) => {
        const py = 'import os, time\nn = 0\ntry:\n    for i in range(200):\n        if os.fork() == 0:\n            time.sleep(2); os._exit(0)\n        n += 1\nexcept OSError as e:\n    print("limited", n, e.errno)\n';
        const run = await runInSandbox({ ...extra, driver, command: ['python3', '-c', py], limits: { pids: 24, memoryMb: 256, cpus: 1 } });
        const { out } = await run.finish();
        if (driver === 'bwrap') {
          const dirs = ['/sys/fs/cgroup', '/sys/fs/cgroup/pids'].map((root) => path.join(root, run.running.name));
          t.notOk(dirs.some((d) => fs.existsSync(d)), 'its cgroup is removed with it');
        }
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

  t.test('bwrap without root: a non-root user gets a sandbox with the unix-socket network', async (t) => {
    const child = spawnSync(
      '/usr/bin/setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', '--', process.execPath, '--import', 'tsx', path.join(here, 'unprivileged-run.ts'), 'run'],
      { cwd: path.resolve(here, '../..'), env: { PATH: process.env.PATH, HOME: '/tmp', TMPDIR: os.tmpdir() }, encoding: 'utf8', timeout: 90_000 },
    );
    const line = child.stdout.split('\n').find((l) => l.startsWith('{'));
    t.ok(line, line ? 'the child reported' : `the child reported nothing: ${child.stderr.slice(-500)}`);
    const result = JSON.parse(line ?? '{}') as { code: number; out: string; proxyListen: { host: string }; seen: string[] };
    t.equal(result.proxyListen?.host, '127.0.0.1', 'the proxy may listen on loopback');
    t.match(result.out, /^65534$/m, 'runs as the unprivileged user');
    t.match(result.out, /"error":"policy_denied"/, 'reaches the proxy');
    t.match(result.out, /Network is unreachable/, 'and nothing else');
    t.same(result.seen, ['denied.test:80']);
  });
}
