/**
 * A classic-BPF seccomp program for `bwrap --seccomp FD`: the bwrap counterpart of the part of
 * Docker's default profile that matters for egress. It refuses packet and raw sockets (which
 * would let a process forge frames past the firewall if it ever held CAP_NET_RAW) and io_uring
 * (whose IORING_OP_SOCKET creates sockets without passing through the socket() syscall filter).
 * Everything else is allowed: bwrap already drops capabilities and sets no-new-privs.
 */

export type SeccompArch = 'x64' | 'arm64';

// linux/audit.h
const AUDIT_ARCH_X86_64 = 0xc000003e;
const AUDIT_ARCH_I386 = 0x40000003;
const AUDIT_ARCH_AARCH64 = 0xc00000b7;
const X32_SYSCALL_BIT = 0x40000000;

// linux/seccomp.h return values
const RET_ALLOW = 0x7fff0000;
const RET_KILL_PROCESS = 0x80000000;
const RET_ERRNO = 0x00050000;
const EPERM = 1;
const ENOSYS = 38;

// linux/filter.h opcodes
const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const AND_K = 0x54;
const RET_K = 0x06;

// offsets into struct seccomp_data; args are u64, we read their low 32 bits (little-endian)
const OFF_NR = 0;
const OFF_ARCH = 4;
const OFF_ARG0 = 16;
const OFF_ARG1 = 24;

const AF_PACKET = 17;
const SOCK_TYPE_MASK = 0xf;
const SOCK_RAW = 3;
const SOCK_PACKET = 10;

const NR = {
  x64: { socket: 41, ioUring: [425, 426, 427] },
  i386: { socket: 359, socketcall: 102, ioUring: [425, 426, 427] },
  arm64: { socket: 198, ioUring: [425, 426, 427] },
} as const;

interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/** A labelled instruction list; jumps name labels and are resolved to offsets on assembly. */
type Step = { insn: Insn } | { label: string } | { jeq: number; then: string };

const ld = (off: number): Step => ({ insn: { code: LD_W_ABS, jt: 0, jf: 0, k: off } });
const ret = (k: number): Step => ({ insn: { code: RET_K, jt: 0, jf: 0, k } });
const and = (k: number): Step => ({ insn: { code: AND_K, jt: 0, jf: 0, k } });
const jeq = (value: number, then: string): Step => ({ jeq: value, then });

/** Checks of socket(domain, type, protocol), entered with the syscall number loaded. */
function socketChecks(socketNr: number, prefix: string): Step[] {
  return [
    jeq(socketNr, `${prefix}socket`),
    ret(RET_ALLOW),
    { label: `${prefix}socket` },
    ld(OFF_ARG0),
    jeq(AF_PACKET, 'deny'),
    ld(OFF_ARG1),
    and(SOCK_TYPE_MASK),
    jeq(SOCK_RAW, 'deny'),
    jeq(SOCK_PACKET, 'deny'),
    ret(RET_ALLOW),
  ];
}

function ioUringChecks(nrs: readonly number[]): Step[] {
  return nrs.map((nr) => jeq(nr, 'nosys'));
}

function program(arch: SeccompArch): Step[] {
  const steps: Step[] = [ld(OFF_ARCH)];
  if (arch === 'x64') {
    steps.push(jeq(AUDIT_ARCH_X86_64, 'native'), jeq(AUDIT_ARCH_I386, 'i386'), ret(RET_KILL_PROCESS));
    steps.push({ label: 'native' }, ld(OFF_NR));
    // x32 syscalls share the x86_64 audit arch; refuse the whole ABI rather than mirror its table.
    steps.push({ insn: { code: JGE_K, jt: 0, jf: 1, k: X32_SYSCALL_BIT } }, ret(RET_ERRNO | ENOSYS));
    steps.push(...ioUringChecks(NR.x64.ioUring), ...socketChecks(NR.x64.socket, 'x64'));
    // socketcall() hides its arguments behind a pointer seccomp cannot read: refuse it.
    steps.push({ label: 'i386' }, ld(OFF_NR), jeq(NR.i386.socketcall, 'deny'));
    steps.push(...ioUringChecks(NR.i386.ioUring), ...socketChecks(NR.i386.socket, 'i386'));
  } else {
    steps.push(jeq(AUDIT_ARCH_AARCH64, 'native'), ret(RET_KILL_PROCESS));
    steps.push({ label: 'native' }, ld(OFF_NR));
    steps.push(...ioUringChecks(NR.arm64.ioUring), ...socketChecks(NR.arm64.socket, 'arm64'));
  }
  steps.push({ label: 'deny' }, ret(RET_ERRNO | EPERM), { label: 'nosys' }, ret(RET_ERRNO | ENOSYS));
  return steps;
}

function assemble(steps: Step[]): Insn[] {
  const labels = new Map<string, number>();
  let pc = 0;
  for (const step of steps) {
    if ('label' in step) labels.set(step.label, pc);
    else pc++;
  }
  const out: Insn[] = [];
  for (const step of steps) {
    if ('label' in step) continue;
    if ('insn' in step) {
      out.push(step.insn);
      continue;
    }
    const target = labels.get(step.then);
    const offset = target === undefined ? -1 : target - out.length - 1;
    if (offset < 0 || offset > 255) throw new Error(`seccomp: bad jump to ${step.then}`);
    out.push({ code: JEQ_K, jt: offset, jf: 0, k: step.jeq >>> 0 });
  }
  return out;
}

/** The filter as struct sock_filter[] bytes in host byte order, ready to write to bwrap's fd. */
export function compileSocketFilter(arch: string = process.arch): Buffer {
  if (arch !== 'x64' && arch !== 'arm64') throw new Error(`seccomp filter: unsupported architecture ${arch}`);
  const insns = assemble(program(arch));
  const buf = Buffer.alloc(insns.length * 8);
  insns.forEach((insn, i) => {
    buf.writeUInt16LE(insn.code, i * 8);
    buf.writeUInt8(insn.jt, i * 8 + 2);
    buf.writeUInt8(insn.jf, i * 8 + 3);
    buf.writeUInt32LE(insn.k >>> 0, i * 8 + 4);
  });
  return buf;
}
