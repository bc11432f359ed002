/**
 * A small classic-BPF assembler for seccomp programs: the instructions a syscall filter needs
 * (load a word of struct seccomp_data, AND, compare, return) and labels resolved to the
 * 8-bit forward offsets the kernel's verifier accepts.
 */

// linux/filter.h opcodes
const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const AND_K = 0x54;
const RET_K = 0x06;

// offsets into struct seccomp_data; args are u64 and we read their low 32 bits (little-endian
// only: x86_64 and arm64). The kernel truncates every argument we compare (ints, mode_t, pid_t)
// to those bits itself, so a value hidden in the high half changes nothing.
export const OFF_NR = 0;
export const OFF_ARCH = 4;
export const offArg = (index: number): number => 16 + index * 8;

export interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/** A labelled instruction list; `jeq` names a label for its true branch and falls through. */
export type Step = { insn: Insn } | { label: string } | { jeq: number; then: string };

export const ld = (off: number): Step => ({ insn: { code: LD_W_ABS, jt: 0, jf: 0, k: off } });
export const ret = (k: number): Step => ({ insn: { code: RET_K, jt: 0, jf: 0, k: k >>> 0 } });
export const and = (k: number): Step => ({ insn: { code: AND_K, jt: 0, jf: 0, k: k >>> 0 } });
export const jeq = (value: number, then: string): Step => ({ jeq: value, then });
/** Skips the next instruction unless A == value (so that the next one runs only on a match). */
export const ifEq = (value: number): Step => ({ insn: { code: JEQ_K, jt: 0, jf: 1, k: value >>> 0 } });
/** Skips the next instruction when A == value. */
export const ifNe = (value: number): Step => ({ insn: { code: JEQ_K, jt: 1, jf: 0, k: value >>> 0 } });
/** Skips the next instruction unless A >= value. */
export const ifGe = (value: number): Step => ({ insn: { code: JGE_K, jt: 0, jf: 1, k: value >>> 0 } });
export const label = (name: string): Step => ({ label: name });

export function assemble(steps: Step[]): Insn[] {
  const labels = new Map<string, number>();
  let pc = 0;
  for (const step of steps) {
    if ('label' in step) {
      if (labels.has(step.label)) throw new Error(`bpf: label ${step.label} defined twice`);
      labels.set(step.label, pc);
    } else pc++;
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
    if (offset < 0 || offset > 255) throw new Error(`bpf: jump to ${step.then} out of range (${offset})`);
    out.push({ code: JEQ_K, jt: offset, jf: 0, k: step.jeq >>> 0 });
  }
  if (out.length > 4096) throw new Error(`bpf: program too long (${out.length} instructions)`);
  return out;
}

/** struct sock_filter[] bytes in host byte order, as `bwrap --seccomp FD` reads them. */
export function encode(insns: Insn[]): Buffer {
  const buf = Buffer.alloc(insns.length * 8);
  insns.forEach((insn, i) => {
    buf.writeUInt16LE(insn.code, i * 8);
    buf.writeUInt8(insn.jt, i * 8 + 2);
    buf.writeUInt8(insn.jf, i * 8 + 3);
    buf.writeUInt32LE(insn.k >>> 0, i * 8 + 4);
  });
  return buf;
}
