import fs from 'node:fs';
import os from 'node:os';
import t from 'tap';
import { bwrapArgs, PROC_MASKED } from '../../sandbox/bwrap-args.js';
import { cgroupDirs, createCgroup, describeLimitEvents, isCgroupV2, readEvents } from '../../sandbox/cgroup.js';
import { launcherArgv } from '../../sandbox/launcher.js';
import { defaultLimits, resolveLimits } from '../../sandbox/limits.js';
import { describeSymlinks, escapingSymlinks } from '../../sandbox/workdir-links.js';
import { firewallRuleset } from '../../sandbox/firewall.js';
import { sandboxName } from '../../sandbox/index.js';
import { policyMounts, requestedReadOnly } from '../../sandbox/mount-policy.js';
import { slotAddresses, slotName } from '../../sandbox/netns.js';
import { proxyUrl, sandboxEnv } from '../../sandbox/sandbox-env.js';
import path from 'node:path';

t.test('sandbox environment', async (t) => {
  const env = sandboxEnv({
    proxy: { host: '10.200.0.1', port: 3128, authToken: 'sb 1' },
    name: 'sluice-x',
    user: { OPENAI_API_KEY: 'placeholder', HTTPS_PROXY: 'http://evil:1', NODE_OPTIONS: '--max-old-space-size=512' },
  });
  const url = 'http://sluice:sb%201@10.200.0.1:3128';
  for (const k of ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'all_proxy']) t.equal(env[k], url, k);
  t.equal(env.OPENAI_API_KEY, 'placeholder', 'user variables pass through');
  t.equal(env.NODE_OPTIONS, '--import /sluice/preload.mjs --max-old-space-size=512', 'preload first, user options kept');
  t.equal(env.NODE_USE_ENV_PROXY, '1');
  t.equal(env.NODE_EXTRA_CA_CERTS, '/sluice/ca.pem', 'node gets the CA alone');
  for (const k of ['SSL_CERT_FILE', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE', 'GIT_SSL_CAINFO']) t.equal(env[k], '/sluice/ca-bundle.pem', k);
  t.notMatch(env.NO_PROXY ?? '', /\*|allowed|\.test/, 'NO_PROXY covers loopback only');
  t.equal(proxyUrl({ host: 'fd00::1', port: 8 }), 'http://[fd00::1]:8', 'IPv6 literal bracketed');
});

t.test('sandbox names', async (t) => {
  t.equal(sandboxName('agent'), 'sluice-agent');
  t.equal(sandboxName('sluice-agent'), 'sluice-agent');
  t.match(sandboxName(), /^sluice-[0-9a-f]{8}$/);
  t.throws(() => sandboxName('../etc'), /invalid sandbox name/);
  t.throws(() => sandboxName('a b'), /invalid sandbox name/);
});

t.test('network slots', async (t) => {
  t.same(slotAddresses(1), { hostIp: '10.200.0.5', sandboxIp: '10.200.0.6' });
  t.same(slotAddresses(64), { hostIp: '10.200.1.1', sandboxIp: '10.200.1.2' });
  t.same(slotAddresses((1 << 14) - 1), { hostIp: '10.200.255.253', sandboxIp: '10.200.255.254' });
  t.ok(slotName(0x3fff).length <= 15, 'interface names fit IFNAMSIZ');
});

t.test('firewall ruleset', async (t) => {
  const rules = firewallRuleset({ table: 'sluice-0001', iface: 'sluice-0001', proxyHost: '10.200.0.5', proxyPort: 4000 });
  t.match(rules, /table inet sluice-0001/);
  t.match(rules, /iifname "sluice-0001" ip daddr 10\.200\.0\.5 tcp dport 4000 accept/);
  const accept = rules.indexOf('accept');
  t.ok(accept > 0 && accept < rules.indexOf('reject with tcp reset'), 'the proxy rule comes before the rejects');
  t.match(rules, /chain forward[^}]*iifname "sluice-0001" reject/s, 'nothing is forwarded from the sandbox');
  t.match(rules, /oifname "sluice-0001" drop/, 'nothing is forwarded into it');
});

t.test('bwrap arguments', async (t) => {
  const files = { dir: '/run/x', caPath: '/run/x/ca.pem', bundlePath: '/run/x/b.pem', resolvConfPath: '/run/x/r', preloadPath: '/p.mjs', undiciDir: '/u' };
  const args = bwrapArgs({ files, command: ['sh', '-c', 'true'], workdir: '/w', includeWorkdir: true, readOnly: ['/ro'], readWrite: ['/rw'], tty: false, seccompFd: 3, infoFd: 4, tmpfsBytes: 1 << 20, env: { A: '1' } });
  const joined = args.join(' ');
  for (const flag of ['--unshare-user', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--die-with-parent', '--new-session', '--clearenv']) t.ok(args.includes(flag), flag);
  t.match(joined, /--cap-drop ALL/);
  t.match(joined, /--seccomp 3/);
  t.notOk(args.includes('--share-net'), 'network namespace is the one entered by nsenter');
  t.match(joined, /--bind \/w \/w .*--remount-ro \/ .*--chdir \/w/, 'workdir writable, root read-only');
  t.match(joined, /--ro-bind \/ro \/ro/);
  t.match(joined, /--bind \/rw \/rw/);
  t.match(joined, /--setenv A 1/);
  t.same(args.slice(-4), ['--', 'sh', '-c', 'true'], 'command last, after --');
  t.notOk(args.includes('--dev-bind'), 'no bind keeps device nodes: every bind is nodev');
  t.notOk(args.includes('--uid'), 'the caller\'s ids inside unless root inside is asked for');
  const proc = args.indexOf('--proc');
  if (fs.existsSync('/proc/sys')) t.ok(joined.includes('--ro-bind /proc/sys /proc/sys') && args.indexOf('/proc/sys') > proc, '/proc/sys read-only over the new /proc');
  for (const p of PROC_MASKED.filter((m) => fs.existsSync(m))) t.ok(args.includes(p) && args.indexOf(p) > proc, `${p} masked`);
  t.match(joined, /--size 1048576 --tmpfs \/tmp/, 'tmpfs sized');
  const rootInside = bwrapArgs({ files, command: ['id'], includeWorkdir: false, readOnly: [], readWrite: [], tty: false, seccompFd: 3, infoFd: 4, tmpfsBytes: 1 << 20, env: {}, inside: { uid: 0, gid: 0 } });
  t.match(rootInside.join(' '), /--unshare-user --uid 0 --gid 0/, 'root inside: uid 0 in the namespace');
  const tty = bwrapArgs({ files, command: ['sh'], includeWorkdir: false, readOnly: [], readWrite: [], tty: true, seccompFd: 3, infoFd: 4, tmpfsBytes: 1 << 20, env: {} });
  t.notOk(tty.includes('--new-session'), 'a TTY keeps the session for job control');
  t.match(tty.join(' '), /--chdir \/tmp/);
});

t.test('filesystem policy mounts', async (t) => {
  const m = policyMounts({
    read_only: ['/usr', '/lib', '/proc', '/dev/urandom', '/app-that-does-not-exist', '/etc', '/var/run/docker.sock', '/', '/usr/'],
    read_write: ['/tmp', '/run/netns', os.tmpdir()],
  });
  t.same(m.readOnly, ['/usr', '/lib', '/etc'], 'host paths that exist, deduplicated');
  t.same(m.readWrite, [os.tmpdir()].filter((p) => p !== '/tmp'));
  t.match(m.warnings.join('\n'), /\/proc: host-only/);
  t.match(m.warnings.join('\n'), /docker\.sock: host-only/);
  t.match(m.warnings.join('\n'), /read_only \/: the host root is never mounted/);
  t.match(m.warnings.join('\n'), /does-not-exist: does not exist/);
  t.match(m.warnings.join('\n'), /\/run\/netns: host-only/);
  const docker = policyMounts({ read_only: ['/usr', '/etc/ssl', os.tmpdir()] }, { imageProvides: true });
  t.same(docker.readOnly, [os.tmpdir()].filter((p) => p !== '/tmp'), 'the image provides its own system trees');
  t.match(docker.warnings.join('\n'), /\/usr: provided by the image/);
});

t.test('read-only mounts asked for by name (--mount-install) refuse the sandbox rather than being left out', async (t) => {
  t.same(requestedReadOnly(['/usr/lib/../local', os.tmpdir()]), ['/usr/local', os.tmpdir()], 'image trees included: a global install lives under /usr/local');
  t.throws(() => requestedReadOnly(['/']), { code: 'SLUICE_SANDBOX_REFUSED', message: /the host root is never mounted/ });
  t.throws(() => requestedReadOnly(['/run/netns']), { code: 'SLUICE_SANDBOX_REFUSED', message: /host-only/ });
  t.throws(() => requestedReadOnly(['relative/dir']), { message: /not an absolute path/ });
  t.throws(() => requestedReadOnly(['/does-not-exist-sluice']), { message: /does not exist on the host/ });
});

t.test('masks come after policy binds', async (t) => {
  const files = { dir: '/run/x', caPath: '/run/x/ca.pem', bundlePath: '/run/x/b.pem', resolvConfPath: '/run/x/r', preloadPath: '/p.mjs', undiciDir: '/u' };
  const args = bwrapArgs({ files, command: ['true'], includeWorkdir: false, readOnly: ['/etc'], readWrite: [], tty: false, seccompFd: 3, infoFd: 4, tmpfsBytes: 1 << 20, env: {} });
  const joined = args.join(' ');
  const policyBind = joined.lastIndexOf('--ro-bind /etc /etc');
  const mask = joined.indexOf('--ro-bind /dev/null /etc/shadow');
  t.ok(mask > policyBind, 'a policy bind of /etc cannot uncover /etc/shadow');
});

t.test('default limits and overrides', async (t) => {
  t.same(defaultLimits({ memoryMb: 24_000, cpus: 2 }), { pids: 1024, memoryMb: 8192, cpus: 1, openFiles: 16384 }, 'a 24 GB, 2-core host');
  t.same(defaultLimits({ memoryMb: 4000, cpus: 1 }), { pids: 1024, memoryMb: 2000, cpus: 1, openFiles: 16384 }, 'a small host: half its memory, one CPU');
  const r = resolveLimits({ pids: 64, memoryMb: undefined }, defaultLimits({ memoryMb: 24_000, cpus: 8 }));
  t.same(r.limits, { pids: 64, memoryMb: 8192, cpus: 7, openFiles: 16384 });
  t.same(r.explicit, ['pids'], 'only what was given counts as asked for');
  t.throws(() => resolveLimits({ pids: 0 }), /limits.pids must be a positive integer/);
  t.throws(() => resolveLimits({ cpus: -1 }), /limits.cpus must be a positive number/);
  const lines = describeLimitEvents({ pidsMax: 3, oomKills: 1 }, { pids: 64, memoryMb: 128, cpus: 1, openFiles: 1024 });
  t.match(lines[0], /process limit \(64\); 3 fork\(s\) failed/);
  t.match(lines[1], /memory limit \(128 MiB\); the kernel killed 1 process/);
  t.same(describeLimitEvents({ pidsMax: 0, oomKills: 0 }, defaultLimits()), [], 'nothing to say when no limit was hit');
});

t.test('the launcher sets the open-files limit and joins the cgroups before exec', async (t) => {
  const argv = launcherArgv({ openFiles: 77, procsFiles: ['/a/cgroup.procs', '/b/cgroup.procs'] });
  t.same(argv.slice(0, 2), ['/bin/sh', '-c']);
  t.same(argv.slice(3), ['sluice-launch', '77', '/a/cgroup.procs', '/b/cgroup.procs', '--']);
  const { execFileSync } = await import('node:child_process');
  const out = execFileSync(argv[0]!, [...argv.slice(1, 4), '77', '--', 'sh', '-c', 'ulimit -Sn; ulimit -Hn'], { encoding: 'utf8' });
  t.equal(out, '77\n77\n', 'soft and hard limits both set');
});

t.test('symlinks left pointing outside the writable directories', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-links-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  fs.symlinkSync('/etc/passwd', path.join(root, 'old'));
  const since = Date.now() + 2000; // later than "old": only what comes after counts
  await new Promise((r) => setTimeout(r, 2100));
  fs.mkdirSync(path.join(root, 'sub'));
  fs.symlinkSync('/etc/shadow', path.join(root, 'sub', 'abs'));
  fs.symlinkSync('../../outside', path.join(root, 'sub', 'up'));
  fs.symlinkSync('../inside', path.join(root, 'sub', 'fine'));
  fs.symlinkSync(path.join(root, 'x'), path.join(root, 'absolute-inside'));
  fs.symlinkSync('/etc/x\u001b[2Jevil', path.join(root, 'esc'));
  const links = await escapingSymlinks([root], since);
  t.same(links.map((l) => path.relative(root, l.path)).sort(), ['esc', 'sub/abs', 'sub/up'], 'absolute and ../ targets outside; relative and absolute ones inside are fine');
  t.notOk(describeSymlinks(links).join('\n').includes('\u001b'), 'control characters from the sandbox never reach the terminal');
});

t.test('cgroup v2 layout (a directory shaped like the hierarchy; CI machines run v1)', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-cg2-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  fs.writeFileSync(path.join(root, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
  fs.writeFileSync(path.join(root, 'cgroup.subtree_control'), 'cpuset\n');
  t.ok(isCgroupV2(root));
  t.same(cgroupDirs('sluice-x', root), [path.join(root, 'sluice-x')], 'one directory at the root of the hierarchy');
  const cg = await createCgroup('sluice-x', { pids: 64, memoryMb: 128, cpus: 1.5, openFiles: 100 }, root);
  const read = (f: string) => fs.readFileSync(path.join(root, 'sluice-x', f), 'utf8');
  t.equal(fs.readFileSync(path.join(root, 'cgroup.subtree_control'), 'utf8'), '+pids +memory +cpu', 'the controllers are handed down');
  t.equal(read('pids.max'), '64');
  t.equal(read('memory.max'), String(128 * 1024 * 1024));
  t.equal(read('cpu.max'), '150000 100000');
  t.same(cg.procsFiles, [path.join(root, 'sluice-x', 'cgroup.procs')]);
  fs.writeFileSync(path.join(root, 'sluice-x', 'pids.events'), 'max 7\n');
  fs.writeFileSync(path.join(root, 'sluice-x', 'memory.events'), 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n');
  t.same(await readEvents('sluice-x', root), { pidsMax: 7, oomKills: 1 }, 'the v2 event files read');
  await t.rejects(createCgroup('sluice-x', { pids: 1, memoryMb: 1, cpus: 1, openFiles: 1 }, root), /cannot apply the sandbox's limits/, 'a name in use is an error, not a shared cgroup');
});
