import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import { IN_SANDBOX } from './sandbox-env.js';
import type { SandboxFiles } from './sandbox-files.js';

/** Host top-level entries that make up the sandbox's read-only root (merged-/usr or not). */
const ROOT_ENTRIES = ['usr', 'bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32', 'etc'];
/** Host files that must not be readable even by a sandbox running as (mapped) root. */
const MASKED = ['/etc/shadow', '/etc/gshadow', '/etc/sudoers'];
/**
 * Host-global kernel knobs under the sandbox's /proc, as runc treats them: read-only
 * (/proc/sys holds kernel.core_pattern, whose pipe handler the kernel runs as root on the host)
 * or masked (kernel memory, keys, timers). Listed when the host kernel has them.
 */
export const PROC_READ_ONLY = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];
export const PROC_MASKED = [
  '/proc/acpi', '/proc/asound', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/sched_debug',
  '/proc/scsi', '/proc/timer_list', '/proc/timer_stats',
];

export interface BwrapArgsInput {
  files: SandboxFiles;
  command: string[];
  workdir?: string;
  includeWorkdir: boolean;
  readOnly: string[];
  readWrite: string[];
  /** driver-specific arguments (network), placed after the /sluice mounts */
  extra?: string[];
  tty: boolean;
  seccompFd: number;
  infoFd: number;
  /** the command's whole environment; bwrap sets it after clearing its own */
  env: Record<string, string>;
  /** ids inside the user namespace when they differ from the caller's (root inside: 0) */
  inside?: { uid: number; gid: number };
  /** size of each tmpfs (/tmp, /var/tmp, /run): without a cgroup nothing else bounds them */
  tmpfsBytes: number;
}

/**
 * The bwrap argv, pure so that it can be read and tested. Namespaces: user, pid, ipc, uts and
 * cgroup are new; the network namespace is either the one the caller entered with nsenter
 * (bwrap cannot join one) or, via `extra`, a new empty one.
 * The root is an empty tmpfs, remounted read-only once the binds are in place. Every bind bwrap
 * makes is nosuid and nodev (--dev-bind is never used), the workdir's included.
 * Nested user namespaces are refused by the seccomp filter (clone/unshare with CLONE_NEWUSER,
 * clone3) rather than bwrap's --disable-userns, which would add a user namespace level of its
 * own: with root inside, the command's /proc/self/uid_map then reads "0 <host uid> 1", the
 * truth, instead of "0 0 1". (Without root inside, bwrap's --dev already nests one level, to
 * mount /dev/pts as the outer namespace's root: the map reads "<uid> 0 1", where that 0 is the
 * host uid; from the host, /proc/PID/uid_map reads "<uid> <uid> 1".)
 */
export function bwrapArgs(input: BwrapArgsInput): string[] {
  const args = [
    '--unshare-user',
    ...(input.inside ? ['--uid', String(input.inside.uid), '--gid', String(input.inside.gid)] : []),
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    '--hostname',
    'sluice',
    '--die-with-parent',
    '--cap-drop',
    'ALL',
    '--seccomp',
    String(input.seccompFd),
    '--info-fd',
    String(input.infoFd),
  ];
  // A TTY needs the command in the terminal's session for job control and ^C; without one,
  // a new session stops the command from pushing input into our terminal (TIOCSTI).
  if (!input.tty) args.push('--new-session');

  for (const entry of ROOT_ENTRIES) {
    const hostPath = `/${entry}`;
    if (!existsSync(hostPath)) continue;
    if (lstatSync(hostPath).isSymbolicLink()) args.push('--symlink', readlinkSync(hostPath), hostPath);
    else args.push('--ro-bind', hostPath, hostPath);
  }

  args.push('--proc', '/proc');
  for (const p of PROC_READ_ONLY) if (existsSync(p)) args.push('--ro-bind', p, p);
  for (const p of PROC_MASKED) {
    if (!existsSync(p)) continue;
    // a bind of /dev/null is nodev, so opening the masked file fails outright
    if (lstatSync(p).isDirectory()) args.push('--perms', '0555', '--tmpfs', p, '--remount-ro', p);
    else args.push('--ro-bind', '/dev/null', p);
  }
  args.push('--dev', '/dev');
  for (const dir of ['/tmp', '/var/tmp', '/run']) args.push('--size', String(input.tmpfsBytes), '--tmpfs', dir);
  args.push(
    '--dir',
    IN_SANDBOX.dir,
    '--ro-bind',
    input.files.preloadPath,
    IN_SANDBOX.preload,
    '--ro-bind',
    input.files.undiciDir,
    IN_SANDBOX.undici,
    '--ro-bind',
    input.files.caPath,
    IN_SANDBOX.ca,
    '--ro-bind',
    input.files.bundlePath,
    IN_SANDBOX.bundle,
  );
  args.push(...(input.extra ?? []));
  for (const p of input.readOnly) args.push('--ro-bind', p, p);
  for (const p of input.readWrite) args.push('--bind', p, p);
  if (input.workdir && input.includeWorkdir) args.push('--bind', input.workdir, input.workdir);
  // last, so that no policy bind (say of /etc) can uncover them
  for (const file of MASKED) {
    if (existsSync(file)) args.push('--ro-bind', '/dev/null', file);
  }
  if (existsSync('/etc/resolv.conf')) args.push('--ro-bind', input.files.resolvConfPath, '/etc/resolv.conf');
  args.push('--remount-ro', '/');
  // Given as arguments, not inherited: whatever wraps our spawn (a test runner, a profiler
  // injecting NODE_OPTIONS) cannot add to what the sandboxed command sees.
  args.push('--clearenv');
  for (const [key, value] of Object.entries(input.env)) args.push('--setenv', key, value);
  args.push('--chdir', input.workdir && input.includeWorkdir ? input.workdir : '/tmp');
  args.push('--', ...input.command);
  return args;
}
