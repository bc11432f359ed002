import { existsSync } from 'node:fs';
import { mkdir, readdir, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { SandboxSpec } from './types.js';

const ROOT = '/sys/fs/cgroup';
const CPU_PERIOD_US = 100_000;

export type Limits = NonNullable<SandboxSpec['limits']>;

/**
 * pids/memory/CPU limits for a bwrap sandbox: one `sluice-…` cgroup (v2), or one per controller
 * (v1). bwrap has no limits of its own. The command is placed in the cgroup by a one-line shell
 * that writes its own pid and then execs the sandbox, so that nothing forks before it is counted.
 */
export interface SandboxCgroup {
  /** The cgroup.procs files the launcher must write its pid to. */
  readonly procsFiles: string[];
  remove(): Promise<void>;
}

export function hasLimits(limits: Limits | undefined): limits is Limits {
  return !!limits && (limits.pids !== undefined || limits.memoryMb !== undefined || limits.cpus !== undefined);
}

export async function createCgroup(name: string, limits: Limits): Promise<SandboxCgroup> {
  const v2 = existsSync(path.join(ROOT, 'cgroup.controllers'));
  const dirs: string[] = [];
  const settings: Array<[string, string]> = [];
  if (v2) {
    const dir = path.join(ROOT, name);
    dirs.push(dir);
    if (limits.pids !== undefined) settings.push([path.join(dir, 'pids.max'), String(limits.pids)]);
    if (limits.memoryMb !== undefined) settings.push([path.join(dir, 'memory.max'), String(limits.memoryMb * 1024 * 1024)]);
    if (limits.cpus !== undefined) settings.push([path.join(dir, 'cpu.max'), `${Math.round(limits.cpus * CPU_PERIOD_US)} ${CPU_PERIOD_US}`]);
  } else {
    const add = (controller: string, file: string, value: string) => {
      const dir = path.join(ROOT, controller, name);
      if (!dirs.includes(dir)) dirs.push(dir);
      settings.push([path.join(dir, file), value]);
    };
    if (limits.pids !== undefined) add('pids', 'pids.max', String(limits.pids));
    if (limits.memoryMb !== undefined) add('memory', 'memory.limit_in_bytes', String(limits.memoryMb * 1024 * 1024));
    if (limits.cpus !== undefined) {
      add('cpu', 'cpu.cfs_period_us', String(CPU_PERIOD_US));
      add('cpu', 'cpu.cfs_quota_us', String(Math.round(limits.cpus * CPU_PERIOD_US)));
    }
  }
  const cgroup: SandboxCgroup = {
    procsFiles: dirs.map((d) => path.join(d, 'cgroup.procs')),
    async remove() {
      for (const dir of dirs) await removeCgroupDir(dir);
    },
  };
  try {
    for (const dir of dirs) await mkdir(dir, { recursive: true });
    for (const [file, value] of settings) await writeFile(file, value);
  } catch (err) {
    await cgroup.remove();
    throw new Error(`sandbox limits: cannot configure cgroup ${name}: ${(err as Error).message}`, { cause: err });
  }
  return cgroup;
}

/**
 * A cgroup can be removed only once empty, and the last processes of a pid namespace exit a
 * little after its init: retry for a while on EBUSY.
 */
async function removeCgroupDir(dir: string): Promise<void> {
  for (let attempt = 0; attempt < 40; attempt++) {
    try {
      await rmdir(dir);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EBUSY') return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Empty `sluice-` cgroups nobody removed (an owner that crashed), for leftover clean-up. */
export async function removeEmptyCgroups(): Promise<string[]> {
  const removed: string[] = [];
  const roots = existsSync(path.join(ROOT, 'cgroup.controllers')) ? [ROOT] : ['pids', 'memory', 'cpu'].map((c) => path.join(ROOT, c));
  for (const root of roots) {
    const entries = await readdir(root).catch(() => [] as string[]);
    for (const entry of entries.filter((e) => e.startsWith('sluice-'))) {
      try {
        await rmdir(path.join(root, entry));
        removed.push(entry);
      } catch {
        // busy: a live sandbox
      }
    }
  }
  return removed;
}

/** argv prefix that joins the cgroups, then execs the rest of the argv. */
export function cgroupLauncher(procsFiles: string[]): string[] {
  if (procsFiles.length === 0) return [];
  const script = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"';
  return ['/bin/sh', '-c', script, 'sluice-cgroup', ...procsFiles, '--'];
}
