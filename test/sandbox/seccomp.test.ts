import t from 'tap';
import { DOCKER_DEFAULT_SECCOMP } from '../../sandbox/docker-seccomp-default.js';
import { dockerSeccompProfile, type DockerSeccompCall, type DockerSeccompProfile } from '../../sandbox/docker-seccomp.js';
import { compileSeccompFilter, SECCOMP_RULES } from '../../sandbox/seccomp.js';

const ALLOW = 0x7fff0000;
const EPERM = 0x50001;
const ENOSYS = 0x50026;
const X64 = 0xc000003e;
const I386 = 0x40000003;
const ARM64 = 0xc00000b7;

/**
 * Runs the classic-BPF program the way the kernel does, for the instructions it uses. Arguments
 * are 64-bit; the program may read only their low words (offset 16 + 8i), which is the point:
 * the kernel reads these arguments as 32-bit values too.
 */
function runFilter(prog: Buffer, data: { nr: number; arch: number; args?: bigint[] }): number {
  const word = (off: number): number => {
    if (off === 0) return data.nr >>> 0;
    if (off === 4) return data.arch >>> 0;
    const arg = data.args?.[(off - 16) >> 3] ?? 0n;
    return Number((off - 16) % 8 === 0 ? arg & 0xffffffffn : (arg >> 32n) & 0xffffffffn);
  };
  let a = 0;
  for (let pc = 0; pc < prog.length / 8; ) {
    const code = prog.readUInt16LE(pc * 8);
    const jt = prog.readUInt8(pc * 8 + 2);
    const jf = prog.readUInt8(pc * 8 + 3);
    const k = prog.readUInt32LE(pc * 8 + 4);
    if (code === 0x20) a = word(k);
    else if (code === 0x54) a = (a & k) >>> 0;
    else if (code === 0x06) return k;
    else if (code === 0x15 || code === 0x35) {
      pc += 1 + ((code === 0x15 ? a === k : a >= k) ? jt : jf);
      continue;
    } else throw new Error(`unexpected opcode ${code}`);
    pc++;
  }
  throw new Error('fell off the end');
}

t.test('bwrap filter (x86_64): what it refuses, and what it lets through', async (t) => {
  const f = compileSeccompFilter('x64');
  const call = (nr: number, ...args: Array<number | bigint>) => runFilter(f, { nr, arch: X64, args: args.map(BigInt) });
  t.equal(call(90, 0, 0o4755), EPERM, 'chmod 4755');
  t.equal(call(90, 0, 0o2755), EPERM, 'chmod 2755');
  t.equal(call(90, 0, 0o755), ALLOW, 'chmod 755');
  t.equal(call(90, 0, 0x100000000n + 0o755n), ALLOW, 'bits above mode_t are the kernel\'s to ignore');
  t.equal(call(91, 3, 0o6755), EPERM, 'fchmod 6755');
  t.equal(call(268, -100, 0, 0o4700), EPERM, 'fchmodat 4700');
  t.equal(call(452, -100, 0, 0o4700, 0), EPERM, 'fchmodat2 4700');
  t.equal(call(2, 0, 0o101, 0o4755), EPERM, 'open(O_CREAT, 04755)');
  t.equal(call(2, 0, 0, 0), ALLOW, 'open for reading');
  t.equal(call(257, -100, 0, 0o101, 0o2644), EPERM, 'openat(O_CREAT, 02644)');
  t.equal(call(257, -100, 0, 0o101, 0o644), ALLOW, 'openat(O_CREAT, 0644)');
  t.equal(call(85, 0, 0o4755), EPERM, 'creat 04755');
  t.equal(call(133, 0, 0o104755, 0), EPERM, 'mknod S_IFREG|04755');
  t.equal(call(259, -100, 0, 0o104755, 0), EPERM, 'mknodat S_IFREG|04755');
  t.equal(call(437, -100, 0, 0, 24), ENOSYS, 'openat2: ENOSYS, its mode is in a struct');
  t.equal(call(101, 16, 1), EPERM, 'ptrace(ATTACH, 1)');
  t.equal(call(101, 0x4206, 0x100000001n), EPERM, 'ptrace(SEIZE, 1 with high bits): the kernel truncates to 1, so does the filter');
  t.equal(call(101, 16, 2), ALLOW, 'ptrace of another process');
  t.equal(call(101, 0, 0), ALLOW, 'PTRACE_TRACEME');
  t.equal(call(310, 1, 0, 1, 0, 1, 0), EPERM, 'process_vm_readv of init');
  t.equal(call(311, 7, 0, 1, 0, 1, 0), ALLOW, 'process_vm_writev of another process');
  t.equal(call(438, 3, 0, 0), EPERM, 'pidfd_getfd');
  t.equal(call(56, 0x10000000 | 17), EPERM, 'clone(CLONE_NEWUSER)');
  t.equal(call(56, 0x3d0f00), ALLOW, 'clone for a thread');
  t.equal(call(272, 0x10000000), EPERM, 'unshare(CLONE_NEWUSER)');
  t.equal(call(272, 0x20000), ALLOW, 'unshare(CLONE_NEWNS): the kernel refuses it without capabilities');
  t.equal(call(435, 0, 88), ENOSYS, 'clone3: ENOSYS');
  t.equal(call(16, 0, 0x5412, 0), EPERM, 'ioctl TIOCSTI');
  t.equal(call(16, 0, 0x541c, 0), EPERM, 'ioctl TIOCLINUX');
  t.equal(call(16, 0, 0x5401, 0), ALLOW, 'ioctl TCGETS');
  t.equal(call(425, 8, 0), ENOSYS, 'io_uring_setup');
  t.equal(call(250, 0, 0), EPERM, 'keyctl');
  t.equal(call(248, 0, 0), EPERM, 'add_key');
  t.equal(call(323, 0), EPERM, 'userfaultfd');
  t.equal(call(41, 17, 3, 0), EPERM, 'AF_PACKET');
  t.equal(call(41, 2, 3 | 0x800, 1), EPERM, 'SOCK_RAW|SOCK_NONBLOCK');
  t.equal(call(41, 2, 1 | 0x80000, 0), ALLOW, 'TCP with SOCK_CLOEXEC');
  t.equal(call(0x40000000 + 90, 0, 0o4755), ENOSYS, 'x32 ABI refused whole');
  t.equal(call(0, 0, 0, 0), ALLOW, 'read');
});

t.test('bwrap filter: the i386 and arm64 tables hold the same line', async (t) => {
  const x = compileSeccompFilter('x64');
  const i386 = (nr: number, ...args: number[]) => runFilter(x, { nr, arch: I386, args: args.map(BigInt) });
  t.equal(i386(15, 0, 0o4755), EPERM, 'i386 chmod 4755');
  t.equal(i386(295, -100, 0, 0o101, 0o4755), EPERM, 'i386 openat 04755');
  t.equal(i386(26, 16, 1), EPERM, 'i386 ptrace of init');
  t.equal(i386(120, 0x10000000), EPERM, 'i386 clone(CLONE_NEWUSER)');
  t.equal(i386(102, 1, 0), EPERM, 'i386 socketcall');
  t.equal(i386(54, 0, 0x5412), EPERM, 'i386 TIOCSTI');
  t.equal(i386(15, 0, 0o755), ALLOW, 'i386 chmod 755');
  const arm = compileSeccompFilter('arm64');
  const a64 = (nr: number, ...args: number[]) => runFilter(arm, { nr, arch: ARM64, args: args.map(BigInt) });
  t.equal(a64(53, -100, 0, 0o4755), EPERM, 'arm64 fchmodat 4755');
  t.equal(a64(56, -100, 0, 0o101, 0o4755), EPERM, 'arm64 openat 04755');
  t.equal(a64(117, 16, 1), EPERM, 'arm64 ptrace of init');
  t.equal(a64(220, 0x10000000), EPERM, 'arm64 clone(CLONE_NEWUSER)');
  t.equal(a64(435, 0, 88), ENOSYS, 'arm64 clone3');
  t.equal(a64(198, 2, 1, 0), ALLOW, 'arm64 TCP');
  t.equal(runFilter(arm, { nr: 5, arch: X64 }), 0x80000000, 'a foreign architecture is killed');
  t.throws(() => compileSeccompFilter('ia32'), /unsupported/);
});

/**
 * Docker's semantics for a profile (moby's setupSeccomp + libseccomp): a call is allowed when an
 * allow rule that applies without capabilities matches all its comparisons (64-bit values),
 * otherwise it gets the first matching errno rule's errno, otherwise the default (EPERM).
 */
function dockerVerdict(profile: DockerSeccompProfile, name: string, args: bigint[] = []): 'allow' | number {
  const applies = (c: DockerSeccompCall) => c.names.includes(name) && !(c.includes.caps?.length) && !(c.includes.arches?.length && !c.includes.arches.includes('amd64'));
  const matches = (c: DockerSeccompCall) =>
    (c.args ?? []).every((a) => {
      const v = args[a.index] ?? 0n;
      if (a.op === 'SCMP_CMP_EQ') return v === BigInt(a.value);
      if (a.op === 'SCMP_CMP_NE') return v !== BigInt(a.value);
      if (a.op === 'SCMP_CMP_MASKED_EQ') return (v & BigInt(a.value)) === BigInt(a.valueTwo ?? 0);
      throw new Error(`op ${a.op}`);
    });
  const rules = profile.syscalls.filter(applies);
  if (rules.some((c) => c.action === 'SCMP_ACT_ALLOW' && matches(c))) return 'allow';
  const errno = rules.find((c) => c.action === 'SCMP_ACT_ERRNO' && matches(c));
  return errno?.errnoRet ?? 1;
}

t.test("docker profile: Docker's default, refusing what the bwrap filter refuses", async (t) => {
  const base = structuredClone(DOCKER_DEFAULT_SECCOMP);
  const p = dockerSeccompProfile();
  t.same(DOCKER_DEFAULT_SECCOMP, base, 'the vendored default is not modified');
  t.notOk(p.archMap.some((a) => a.subArchitectures.includes('SCMP_ARCH_X32')), 'no x32');
  const v = (name: string, ...args: Array<number | bigint>) => dockerVerdict(p, name, args.map(BigInt));
  t.equal(dockerVerdict(base, 'io_uring_setup'), 'allow', 'control: Docker 20.10 allows io_uring');
  for (const name of ['io_uring_setup', 'io_uring_enter', 'io_uring_register', 'openat2']) t.equal(v(name), 38, `${name}: ENOSYS`);
  t.equal(dockerVerdict(base, 'chmod', [0n, 0o4755n]), 'allow', 'control: Docker allows setuid modes');
  t.equal(v('chmod', 0, 0o4755), 1, 'chmod 4755 refused');
  t.equal(v('chmod', 0, 0o755), 'allow', 'chmod 755 allowed');
  t.equal(v('fchmodat', -100, 0, 0o2755), 1, 'fchmodat 2755 refused');
  t.equal(v('open', 0, 0o101, 0o4644), 1, 'open(O_CREAT, 04644) refused');
  t.equal(v('openat', -100, 0, 0o101, 0o4644), 1, 'openat(O_CREAT, 04644) refused');
  t.equal(v('openat', -100, 0, 0, 0), 'allow', 'openat for reading allowed');
  t.equal(v('creat', 0, 0o6755), 1, 'creat 06755 refused');
  t.equal(v('mknodat', -100, 0, 0o104755, 0), 1, 'mknodat 04755 refused');
  t.equal(dockerVerdict(base, 'ptrace', [16n, 1n]), 'allow', 'control: Docker allows ptrace of init');
  t.equal(v('ptrace', 16, 1), 1, 'ptrace of init refused');
  t.equal(v('ptrace', 16, 0x100000001n), 1, 'pid 1 with high bits (the kernel reads an int) refused');
  t.equal(v('ptrace', 16, 0xffffffff00000001n), 1, '… whatever the high bits');
  for (const pid of [0n, 2n, 3n, 1234n, 0x7fffffffn, 0x100000000n]) t.equal(v('ptrace', 16, pid), 'allow', `ptrace of pid ${pid} allowed`);
  t.equal(v('socketcall', 1, 0), 1, 'i386 socketcall refused');
  t.equal(v('unshare', 0x10000000), 1, 'unshare refused (Docker: only with CAP_SYS_ADMIN)');
  t.equal(v('clone', 0x10000000 | 17), 1, 'clone(CLONE_NEWUSER) refused by Docker\'s own clone rule');
  t.equal(v('clone', 0x3d0f00), 'allow', 'clone for a thread');
  t.equal(v('clone3'), 38, 'clone3: ENOSYS');
  for (const name of ['process_vm_writev', 'pidfd_getfd', 'process_madvise']) t.equal(v(name, 1), 1, `${name} refused (Docker: only with CAP_SYS_PTRACE)`);
  for (const name of ['keyctl', 'add_key', 'request_key', 'userfaultfd']) t.equal(v(name), 1, `${name} refused (Docker's default already does)`);
  for (const name of ['read', 'write', 'execve', 'socket', 'ioctl', 'mkdir', 'fchown']) t.equal(v(name), 'allow', `${name} still allowed`);
  t.equal(v('personality', 8), 'allow', "Docker's conditional rules are kept");
  const withCaps = p.syscalls.filter((c) => c.includes.caps?.length && c.names.some((n) => SECCOMP_RULES.some((r) => r.names.includes(n))));
  t.same(withCaps.flatMap((c) => c.names.filter((n) => SECCOMP_RULES.some((r) => r.names.includes(n) && n !== 'ioctl' && n !== 'socket'))), [], 'no capability gives a refused call back');
  t.ok(JSON.stringify(p).length < 64 * 1024, 'small enough for a SecurityOpt');
});
