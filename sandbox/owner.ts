import { readFileSync } from 'node:fs';

/**
 * A process as clean-up can recognise it later: its pid and its start time (clock ticks since
 * boot, field 22 of /proc/PID/stat). A pid alone is not an identity: after the owner dies the
 * kernel hands the number to the next process, and clean-up would take that one for the owner.
 */
export interface ProcessIdentity {
  pid: number;
  start: number;
}

/**
 * Start time of a live process, or undefined when there is none with that pid. A zombie (dead,
 * not yet reaped by its parent: a killed `sluice run` whose shell has not collected it) is dead.
 */
export function processStart(pid: number): number | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may hold spaces and parentheses: count from the last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
    const start = Number(fields[19]);
    return Number.isFinite(start) ? start : undefined;
  } catch {
    return undefined;
  }
}

export function currentProcess(): ProcessIdentity {
  const start = processStart(process.pid);
  if (start === undefined) throw new Error('cannot read /proc/self/stat: Sluice needs /proc to track its sandboxes');
  return { pid: process.pid, start };
}

/**
 * True while that very process runs. Without a recorded start time (state written by an older
 * Sluice) the pid alone decides, the old way: such leftovers are kept while any process has it.
 */
export function isRunning(identity: { pid: number; start?: number | undefined }): boolean {
  const start = processStart(identity.pid);
  if (start === undefined) return false;
  return identity.start === undefined || identity.start === start;
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

/** SIGKILL to each pid that is still there. */
export function killAll(pids: number[], signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // gone
    }
  }
}
