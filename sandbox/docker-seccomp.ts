import { DOCKER_DEFAULT_SECCOMP } from './docker-seccomp-default.js';
import { SECCOMP_RULES, type SeccompRule } from './seccomp.js';

/** Docker's seccomp profile format (profiles/seccomp/seccomp.go), as much of it as Sluice reads. */
export interface DockerSeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: 'SCMP_CMP_EQ' | 'SCMP_CMP_NE' | 'SCMP_CMP_MASKED_EQ' | 'SCMP_CMP_LT' | 'SCMP_CMP_LE' | 'SCMP_CMP_GT' | 'SCMP_CMP_GE';
}
export interface DockerSeccompCall {
  names: string[];
  action: string;
  errnoRet?: number;
  args: DockerSeccompArg[] | null;
  comment: string;
  includes: { caps?: string[]; arches?: string[]; minKernel?: string };
  excludes: { caps?: string[]; arches?: string[]; minKernel?: string };
}
export interface DockerSeccompProfile {
  defaultAction: string;
  archMap: Array<{ architecture: string; subArchitectures: string[] }>;
  syscalls: DockerSeccompCall[];
}

const ERRNO = { EPERM: 1, ENOSYS: 38 } as const;

/**
 * Rules whose refusal Docker's format cannot state the bwrap way, and why that is safe:
 * - ioctl: a docker sandbox gets a terminal of its own (or none), never the user's, so TIOCSTI
 *   reaches nothing outside; and refusing two values of one argument takes two comparisons of
 *   it in one rule, which libseccomp does not support (runc splits them into alternatives).
 * - socket: packet and raw sockets need CAP_NET_RAW, which a docker sandbox never has (all
 *   capabilities are dropped); "family is not AF_PACKET" would take 32 alternatives per socket
 *   type, because Docker compares 64-bit values where the kernel reads 32 bits.
 */
const NOT_DERIVED = new Set(['ioctl', 'socket']);

const isConditional = (call: DockerSeccompCall) => (call.args?.length ?? 0) > 0;
const isCapabilityGated = (call: DockerSeccompCall) => (call.includes.caps?.length ?? 0) > 0;

/**
 * Sluice's docker profile: Docker's default with every call the bwrap filter refuses refused
 * the same way (SECCOMP_RULES), so that both drivers hold the same line:
 * - a call refused always is taken out of every allow rule and given its errno;
 * - a call refused under a condition is allowed only under the opposite condition (the allow
 *   rule it came from keeps its kernel and architecture conditions);
 * - a call Docker allows only under conditions of its own (clone's namespace flags) keeps them:
 *   they already refuse what ours do, which the unit tests check;
 * - capability-gated allows of these calls are dropped: Sluice drops every capability, and a
 *   profile that gave a call back with a capability would undo the refusal if one were added;
 * - the x32 ABI is dropped (the bwrap filter refuses it whole).
 */
export function dockerSeccompProfile(base: DockerSeccompProfile = DOCKER_DEFAULT_SECCOMP): DockerSeccompProfile {
  const profile: DockerSeccompProfile = structuredClone(base);
  profile.archMap = profile.archMap.map((a) => ({ ...a, subArchitectures: a.subArchitectures.filter((s) => s !== 'SCMP_ARCH_X32') }));
  const byName = new Map<string, SeccompRule[]>();
  for (const rule of SECCOMP_RULES) for (const name of rule.names) byName.set(name, [...(byName.get(name) ?? []), rule]);

  const added: DockerSeccompCall[] = [];
  for (const [name, rules] of byName) {
    if (NOT_DERIVED.has(name)) continue;
    const unconditional = profile.syscalls.filter((c) => c.action === 'SCMP_ACT_ALLOW' && c.names.includes(name) && !isConditional(c) && !isCapabilityGated(c));
    for (const call of profile.syscalls) {
      if (call.action !== 'SCMP_ACT_ALLOW' || !call.names.includes(name)) continue;
      if (isCapabilityGated(call) || !isConditional(call)) call.names = call.names.filter((n) => n !== name);
    }
    if (unconditional.length === 0) continue; // refused by the default action, or allowed only under Docker's own conditions
    const includes = unconditional.find((c) => Object.keys(c.includes).length > 0)?.includes ?? {};
    const always = rules.find((r) => !r.when);
    if (always) {
      added.push({ names: [name], action: 'SCMP_ACT_ERRNO', errnoRet: ERRNO[always.errno], args: [], comment: `sluice: ${always.why}`, includes, excludes: {} });
      continue;
    }
    for (const args of allowedUnder(name, rules)) {
      added.push({ names: [name], action: 'SCMP_ACT_ALLOW', args, comment: `sluice: ${rules.map((r) => r.why).join('; ')}`, includes, excludes: {} });
    }
  }
  profile.syscalls = [...profile.syscalls.filter((c) => c.names.length > 0), ...added];
  return profile;
}

/**
 * The argument conditions under which a conditionally refused call is allowed: one list per
 * allow rule (rules are alternatives; the comparisons within one are all required, and
 * libseccomp compares each argument at most once per rule).
 * Docker compares whole 64-bit values but the kernel reads these arguments as 32-bit ints, so
 * "pid is not 1" cannot be `NE 1` (0x100000001 would pass and reach pid 1): it is "some bit of
 * the low word differs from 1's", 32 alternatives of one masked comparison each.
 */
function allowedUnder(name: string, rules: SeccompRule[]): DockerSeccompArg[][] {
  const required: DockerSeccompArg[] = [];
  let alternatives: DockerSeccompArg[][] = [[]];
  for (const rule of rules) {
    const when = rule.when;
    if (!when) throw new Error(`docker seccomp: ${name} is refused always`);
    if (when.op === 'ne') {
      required.push({ index: when.arg, value: when.mask ?? 0xffffffff, valueTwo: when.value, op: 'SCMP_CMP_MASKED_EQ' });
    } else if (when.mask === undefined && alternatives.length === 1) {
      alternatives = lowWordDiffers(when.arg, when.value).map((cmp) => [...(alternatives[0] ?? []), cmp]);
    } else {
      throw new Error(`docker seccomp: cannot state the refusals of ${name} as allow rules`);
    }
  }
  const lists = alternatives.map((alternative) => [...required, ...alternative]);
  for (const list of lists) {
    if (new Set(list.map((a) => a.index)).size !== list.length) throw new Error(`docker seccomp: two comparisons of one argument of ${name}`);
  }
  return lists;
}

function lowWordDiffers(index: number, value: number): DockerSeccompArg[] {
  return Array.from({ length: 32 }, (_, bit) => {
    const mask = 2 ** bit;
    return { index, value: mask, valueTwo: (value & mask) === 0 ? mask : 0, op: 'SCMP_CMP_MASKED_EQ' as const };
  });
}

/** The profile as the engine takes it in `HostConfig.SecurityOpt` (`seccomp=<json>`). */
export function dockerSeccompOption(): string {
  return `seccomp=${JSON.stringify(dockerSeccompProfile())}`;
}
