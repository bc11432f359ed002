import { and, assemble, encode, ifEq, ifGe, ifNe, jeq, label, ld, OFF_ARCH, OFF_NR, offArg, ret, type Step } from './bpf.js';

/**
 * What the sandbox's seccomp filter refuses, as data: the bwrap filter is compiled from it and
 * the docker profile is derived from it (sandbox/docker-seccomp.ts), so that both drivers refuse
 * the same calls. Everything else is allowed: both drivers already drop every capability and set
 * no-new-privileges; these are the calls that stay dangerous without any capability.
 */
export interface SeccompRule {
  names: string[];
  errno: 'EPERM' | 'ENOSYS';
  /** refuse only when `(arg & mask) op value`; absent: always */
  when?: { arg: number; mask?: number; op: 'eq' | 'ne'; value: number };
  why: string;
}

const CLONE_NEWUSER = 0x10000000;
const S_ISUID_ISGID = 0o6000;
const AF_PACKET = 17;
const SOCK_TYPE_MASK = 0xf;
const SOCK_RAW = 3;
const SOCK_PACKET = 10;
const TIOCSTI = 0x5412;
const TIOCLINUX = 0x541c;

const setuidBits = (arg: number) => ({ arg, mask: S_ISUID_ISGID, op: 'ne' as const, value: 0 });

export const SECCOMP_RULES: SeccompRule[] = [
  { names: ['io_uring_setup', 'io_uring_enter', 'io_uring_register'], errno: 'ENOSYS', why: 'io_uring opens sockets (IORING_OP_SOCKET) without socket() and is a large kernel attack surface; ENOSYS makes libraries fall back' },
  { names: ['clone3'], errno: 'ENOSYS', why: 'its flags sit in a struct seccomp cannot read; ENOSYS makes libc fall back to clone(), whose flags it can' },
  { names: ['unshare', 'clone'], errno: 'EPERM', when: { arg: 0, mask: CLONE_NEWUSER, op: 'ne', value: 0 }, why: 'a new user namespace hands its creator every capability over namespaces of its own' },
  { names: ['chmod', 'fchmod', 'creat'], errno: 'EPERM', when: setuidBits(1), why: 'no setuid or setgid file in a directory the host can see later' },
  { names: ['fchmodat', 'fchmodat2', 'open', 'mknodat'], errno: 'EPERM', when: setuidBits(2), why: 'no setuid or setgid file in a directory the host can see later' },
  { names: ['openat'], errno: 'EPERM', when: setuidBits(3), why: 'no setuid or setgid file in a directory the host can see later' },
  { names: ['mknod'], errno: 'EPERM', when: setuidBits(1), why: 'no setuid or setgid file in a directory the host can see later' },
  { names: ['openat2'], errno: 'ENOSYS', why: 'its mode sits in a struct seccomp cannot read; ENOSYS makes callers fall back to openat()' },
  { names: ['ptrace'], errno: 'EPERM', when: { arg: 1, op: 'eq', value: 1 }, why: "the sandbox's init must stay able to end the sandbox: a stopped init would keep `sluice run` waiting" },
  { names: ['process_vm_readv', 'process_vm_writev'], errno: 'EPERM', when: { arg: 0, op: 'eq', value: 1 }, why: "the sandbox's init is not the sandbox's to rewrite" },
  { names: ['pidfd_getfd', 'process_madvise'], errno: 'EPERM', why: "they reach into another process (init's descriptors and memory) by pidfd, which seccomp cannot resolve" },
  { names: ['ioctl'], errno: 'EPERM', when: { arg: 1, op: 'eq', value: TIOCSTI }, why: "TIOCSTI pushes input into the terminal, which a TTY sandbox shares with the user's shell" },
  { names: ['ioctl'], errno: 'EPERM', when: { arg: 1, op: 'eq', value: TIOCLINUX }, why: 'TIOCLINUX can paste into a virtual console the same way' },
  { names: ['socket'], errno: 'EPERM', when: { arg: 0, op: 'eq', value: AF_PACKET }, why: 'packet sockets would forge frames past the firewall' },
  { names: ['socket'], errno: 'EPERM', when: { arg: 1, mask: SOCK_TYPE_MASK, op: 'eq', value: SOCK_RAW }, why: 'raw sockets would forge packets past the firewall' },
  { names: ['socket'], errno: 'EPERM', when: { arg: 1, mask: SOCK_TYPE_MASK, op: 'eq', value: SOCK_PACKET }, why: 'packet sockets would forge frames past the firewall' },
  { names: ['socketcall'], errno: 'EPERM', why: "i386 socketcall() hides socket()'s arguments behind a pointer" },
  { names: ['keyctl', 'add_key', 'request_key'], errno: 'EPERM', why: "the kernel keyrings of the sandbox's host user (a sudo user's session keys) are not the sandbox's; Docker's default refuses them too" },
  { names: ['userfaultfd'], errno: 'EPERM', why: "a common tool for widening kernel race windows in exploits; Docker's default refuses it too" },
];

/** Syscall numbers per ABI (asm/unistd_64.h, unistd_32.h, asm-generic/unistd.h); absent: no such call. */
const NR: Record<'x64' | 'i386' | 'arm64', Record<string, number>> = {
  x64: {
    io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427, clone3: 435, unshare: 272, clone: 56,
    chmod: 90, fchmod: 91, creat: 85, fchmodat: 268, fchmodat2: 452, open: 2, mknodat: 259, openat: 257, mknod: 133,
    openat2: 437, ptrace: 101, process_vm_readv: 310, process_vm_writev: 311, pidfd_getfd: 438, process_madvise: 440,
    ioctl: 16, socket: 41, keyctl: 250, add_key: 248, request_key: 249, userfaultfd: 323,
  },
  i386: {
    io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427, clone3: 435, unshare: 310, clone: 120,
    chmod: 15, fchmod: 94, creat: 8, fchmodat: 306, fchmodat2: 452, open: 5, mknodat: 297, openat: 295, mknod: 14,
    openat2: 437, ptrace: 26, process_vm_readv: 347, process_vm_writev: 348, pidfd_getfd: 438, process_madvise: 440,
    ioctl: 54, socket: 359, socketcall: 102, keyctl: 288, add_key: 286, request_key: 287, userfaultfd: 374,
  },
  arm64: {
    io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427, clone3: 435, unshare: 97, clone: 220,
    fchmod: 52, fchmodat: 53, fchmodat2: 452, mknodat: 33, openat: 56, openat2: 437, ptrace: 117,
    process_vm_readv: 270, process_vm_writev: 271, pidfd_getfd: 438, process_madvise: 440, ioctl: 29, socket: 198,
    keyctl: 219, add_key: 217, request_key: 218, userfaultfd: 282,
  },
};

// linux/audit.h and linux/seccomp.h
const AUDIT_ARCH_X86_64 = 0xc000003e;
const AUDIT_ARCH_I386 = 0x40000003;
const AUDIT_ARCH_AARCH64 = 0xc00000b7;
const X32_SYSCALL_BIT = 0x40000000;
const RET_ALLOW = 0x7fff0000;
const RET_KILL_PROCESS = 0x80000000;
const RET_ERRNO = 0x00050000;
const ERRNO = { EPERM: 1, ENOSYS: 38 } as const;

/**
 * One ABI's part of the program, entered with the syscall number loaded: a dispatch on the
 * number, then one block per filtered call that checks its conditions and returns inline (so
 * no jump reaches further than the block list of its own ABI).
 */
function abiSteps(abi: keyof typeof NR): Step[] {
  const table = NR[abi];
  const byName = new Map<string, SeccompRule[]>();
  for (const rule of SECCOMP_RULES) {
    for (const name of rule.names) {
      if (table[name] === undefined) continue;
      byName.set(name, [...(byName.get(name) ?? []), rule]);
    }
  }
  const dispatch: Step[] = [];
  const blocks: Step[] = [];
  for (const [name, rules] of byName) {
    const nr = table[name] as number;
    dispatch.push(jeq(nr, `${abi}:${name}`));
    blocks.push(label(`${abi}:${name}`));
    for (const rule of rules) {
      const refuse = ret(RET_ERRNO | ERRNO[rule.errno]);
      if (!rule.when) {
        blocks.push(refuse);
        break;
      }
      const { arg, mask, op, value } = rule.when;
      blocks.push(ld(offArg(arg)));
      if (mask !== undefined) blocks.push(and(mask));
      blocks.push(op === 'eq' ? ifEq(value) : ifNe(value), refuse);
    }
    blocks.push(ret(RET_ALLOW));
  }
  return [...dispatch, ret(RET_ALLOW), ...blocks];
}

function program(arch: 'x64' | 'arm64'): Step[] {
  const steps: Step[] = [ld(OFF_ARCH)];
  if (arch === 'x64') {
    steps.push(jeq(AUDIT_ARCH_X86_64, 'x64'), jeq(AUDIT_ARCH_I386, 'i386'), ret(RET_KILL_PROCESS));
    steps.push(label('x64'), ld(OFF_NR));
    // x32 calls share the x86_64 audit arch with their own numbers: refuse the whole ABI
    // rather than mirror its table
    steps.push(ifGe(X32_SYSCALL_BIT), ret(RET_ERRNO | ERRNO.ENOSYS));
    steps.push(...abiSteps('x64'));
    steps.push(label('i386'), ld(OFF_NR), ...abiSteps('i386'));
  } else {
    steps.push(jeq(AUDIT_ARCH_AARCH64, 'arm64'), ret(RET_KILL_PROCESS));
    steps.push(label('arm64'), ld(OFF_NR), ...abiSteps('arm64'));
  }
  return steps;
}

/** The filter as struct sock_filter[] bytes for `bwrap --seccomp FD`. Other architectures are refused. */
export function compileSeccompFilter(arch: string = process.arch): Buffer {
  if (arch !== 'x64' && arch !== 'arm64') throw new Error(`seccomp filter: unsupported architecture ${arch}`);
  return encode(assemble(program(arch)));
}
