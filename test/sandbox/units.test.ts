import os from 'node:os';
import t from 'tap';
import { bwrapArgs } from '../../sandbox/bwrap-args.js';
import { firewallRuleset } from '../../sandbox/firewall.js';
import { sandboxName } from '../../sandbox/index.js';
import { policyMounts } from '../../sandbox/mount-policy.js';
import { slotAddresses, slotName } from '../../sandbox/netns.js';
import { proxyUrl, sandboxEnv } from '../../sandbox/sandbox-env.js';
import { compileSeccompFilter } from '../../sandbox/seccomp.js';

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

/** Interprets the classic-BPF program the way the kernel does, for the instructions we emit. */
function runFilter(prog: Buffer, data: { nr: number; arch: number; args?: number[] }): number {
  const word = (off: number) => (off === 0 ? data.nr : off === 4 ? data.arch : (data.args?.[(off - 16) / 8] ?? 0)) >>> 0;
  let a = 0;
  for (let pc = 0; pc < prog.length / 8; ) {
    const code = prog.readUInt16LE(pc * 8);
    const jt = prog.readUInt8(pc * 8 + 2);
    const jf = prog.readUInt8(pc * 8 + 3);
    const k = prog.readUInt32LE(pc * 8 + 4);
    if (code === 0x20) a = word(k);
    else if (code === 0x54) a = (a & k) >>> 0;
    else if (code === 0x06) return k;
    else if (code === 0x15) {
      pc += 1 + (a === k ? jt : jf);
      continue;
    } else if (code === 0x35) {
      pc += 1 + (a >= k ? jt : jf);
      continue;
    } else throw new Error(`unexpected opcode ${code}`);
    pc++;
  }
  throw new Error('fell off the end');
}

t.test('seccomp filter', async (t) => {
  const ALLOW = 0x7fff0000;
  const EPERM = 0x50001;
  const x64 = compileSeccompFilter('x64');
  const X64 = 0xc000003e;
  t.equal(runFilter(x64, { nr: 41, arch: X64, args: [2, 1, 0] }), ALLOW, 'TCP socket allowed');
  t.equal(runFilter(x64, { nr: 41, arch: X64, args: [10, 2 | 0x80000, 0] }), ALLOW, 'UDP6 with SOCK_CLOEXEC allowed');
  t.equal(runFilter(x64, { nr: 41, arch: X64, args: [2, 3, 1] }), EPERM, 'SOCK_RAW refused');
  t.equal(runFilter(x64, { nr: 41, arch: X64, args: [2, 3 | 0x800, 1] }), EPERM, 'SOCK_RAW|SOCK_NONBLOCK refused');
  t.equal(runFilter(x64, { nr: 41, arch: X64, args: [17, 2, 0] }), EPERM, 'AF_PACKET refused');
  t.equal(runFilter(x64, { nr: 41, arch: X64, args: [2, 10, 0] }), EPERM, 'SOCK_PACKET refused');
  t.equal(runFilter(x64, { nr: 425, arch: X64 }), 0x50026, 'io_uring_setup gets ENOSYS');
  t.equal(runFilter(x64, { nr: 0x40000000 + 41, arch: X64, args: [2, 3, 1] }), 0x50026, 'x32 ABI refused');
  t.equal(runFilter(x64, { nr: 0, arch: X64 }), ALLOW, 'read() allowed');
  t.equal(runFilter(x64, { nr: 102, arch: 0x40000003 }), EPERM, 'i386 socketcall refused');
  t.equal(runFilter(x64, { nr: 359, arch: 0x40000003, args: [17, 3, 0] }), EPERM, 'i386 packet socket refused');
  t.equal(runFilter(x64, { nr: 359, arch: 0x40000003, args: [2, 1, 0] }), ALLOW, 'i386 TCP socket allowed');
  t.equal(runFilter(x64, { nr: 41, arch: 0xc00000b7 }), 0x80000000, 'foreign arch killed');
  const arm = compileSeccompFilter('arm64');
  t.equal(runFilter(arm, { nr: 198, arch: 0xc00000b7, args: [2, 3, 1] }), EPERM, 'arm64 raw refused');
  t.equal(runFilter(arm, { nr: 198, arch: 0xc00000b7, args: [2, 1, 0] }), ALLOW, 'arm64 TCP allowed');
  t.throws(() => compileSeccompFilter('ia32'), /unsupported/);
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

t.test('masks come after policy binds', async (t) => {
  const files = { dir: '/run/x', caPath: '/run/x/ca.pem', bundlePath: '/run/x/b.pem', resolvConfPath: '/run/x/r', preloadPath: '/p.mjs', undiciDir: '/u' };
  const args = bwrapArgs({ files, command: ['true'], includeWorkdir: false, readOnly: ['/etc'], readWrite: [], tty: false, seccompFd: 3, infoFd: 4, tmpfsBytes: 1 << 20, env: {} });
  const joined = args.join(' ');
  const policyBind = joined.lastIndexOf('--ro-bind /etc /etc');
  const mask = joined.indexOf('--ro-bind /dev/null /etc/shadow');
  t.ok(mask > policyBind, 'a policy bind of /etc cannot uncover /etc/shadow');
});
