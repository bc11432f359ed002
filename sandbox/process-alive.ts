import { readFileSync } from 'node:fs';

/** True while a process with this pid exists (EPERM means it exists but is not ours). */
export function isAlive(pid: number): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Guards against pid reuse before signalling a pid read from a state file: the process must
 * still be one of the programs that launch a bwrap sandbox.
 */
export function isSandboxProcess(pid: number): boolean {
  try {
    const argv0 = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
    return /(^|\/)(bwrap|nsenter|setpriv|sh)$/.test(argv0);
  } catch {
    return false;
  }
}

/** All descendants of pid, parents before children (from /proc/PID/task/PID/children). */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const current = queue.shift() as number;
    let children: number[] = [];
    try {
      children = readFileSync(`/proc/${current}/task/${current}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      // gone
    }
    out.push(...children);
    queue.push(...children);
  }
  return out;
}
