import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rmdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SluiceError } from '../core/index.js';
import { formatMb, type SandboxLimits } from './limits.js';

const ROOT = '/sys/fs/cgroup';
const CPU_PERIOD_US = 100_000;
const MIB = 1024 * 1024;
const V1_CONTROLLERS = ['pids', 'memory', 'cpu'] as const;

/**
 * pids/memory/CPU limits for a bwrap sandbox (bwrap has none of its own): one `sluice-…` cgroup
 * at the root of the v2 hierarchy, or one per controller on v1 (the kernel interfaces differ;
 * both are written here). The command is placed in it by the launcher (sandbox/launcher.ts)
 * before it execs anything, so that nothing forks uncounted.
 */
export interface SandboxCgroup {
  readonly name: string;
  /** the cgroup.procs files the launcher writes its pid to */
  readonly procsFiles: string[];
  /** how often the limits were hit so far */
  events(): Promise<LimitEvents>;
  /** kills whatever is still in it, then removes it */
  remove(): Promise<void>;
}

export interface LimitEvents {
  /** forks refused at the process limit */
  pidsMax: number;
  /** processes the kernel's OOM killer ended at the memory limit */
  oomKills: number;
}

export const isCgroupV2 = (root = ROOT): boolean => existsSync(path.join(root, 'cgroup.controllers'));

/** Every directory a sandbox's cgroup occupies (for creation, clean-up and the tests). */
export function cgroupDirs(name: string, root = ROOT): string[] {
  return isCgroupV2(root) ? [path.join(root, name)] : V1_CONTROLLERS.map((c) => path.join(root, c, name));
}

/** `root` is where the hierarchy is mounted (a parameter for the tests of the v2 layout). */
export async function createCgroup(name: string, limits: SandboxLimits, root = ROOT): Promise<SandboxCgroup> {
  const v2 = isCgroupV2(root);
  const dirs = cgroupDirs(name, root);
  const memory = String(limits.memoryMb * MIB);
  const quota = String(Math.round(limits.cpus * CPU_PERIOD_US));
  const settings: Array<[string, string]> = v2
    ? [
        ['pids.max', String(limits.pids)],
        ['memory.max', memory],
        ['memory.swap.max', '0'],
        ['cpu.max', `${quota} ${CPU_PERIOD_US}`],
      ]
    : [
        ['pids/pids.max', String(limits.pids)],
        ['memory/memory.limit_in_bytes', memory],
        // memory+swap: present only with swap accounting; equal to the limit means no swap
        ['memory/memory.memsw.limit_in_bytes', memory],
        ['cpu/cpu.cfs_period_us', String(CPU_PERIOD_US)],
        ['cpu/cpu.cfs_quota_us', quota],
      ];
  const file = (setting: string) => (v2 ? path.join(root, name, setting) : path.join(root, path.dirname(setting), name, path.basename(setting)));
  const cgroup: SandboxCgroup = {
    name,
    procsFiles: dirs.map((d) => path.join(d, 'cgroup.procs')),
    events: () => readEvents(name, root),
    remove: () => removeCgroup(name, root),
  };
  const made: string[] = [];
  try {
    if (v2) await enableControllers(root);
    for (const dir of dirs) {
      // exclusive: a cgroup of that name is someone else's, never shared or removed by us
      await mkdir(dir);
      made.push(dir);
    }
    for (const [setting, value] of settings) {
      const target = file(setting);
      if (setting.includes('memsw') && !existsSync(target)) continue;
      if (setting === 'memory.swap.max' && !existsSync(target)) continue;
      await writeFile(target, value);
    }
  } catch (err) {
    for (const dir of made) await rmdir(dir).catch(() => undefined);
    throw new SluiceError('SLUICE_SANDBOX_REFUSED', `cannot apply the sandbox's limits (cgroup ${name}: ${(err as Error).message})`, {}, { cause: err });
  }
  return cgroup;
}

/** cgroup v2 hands a controller to children only when the parent's subtree_control lists it. */
async function enableControllers(root: string): Promise<void> {
  const control = path.join(root, 'cgroup.subtree_control');
  const enabled = (await readFile(control, 'utf8')).split(/\s+/);
  const missing = ['pids', 'memory', 'cpu'].filter((c) => !enabled.includes(c));
  if (missing.length > 0) await writeFile(control, missing.map((c) => `+${c}`).join(' '));
}

export async function readEvents(name: string, root = ROOT): Promise<LimitEvents> {
  const v2 = isCgroupV2(root);
  const read = (file: string) => readFile(file, 'utf8').catch(() => '');
  const count = (text: string, key: string) => Number(new RegExp(`^${key} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  const pids = await read(v2 ? path.join(root, name, 'pids.events') : path.join(root, 'pids', name, 'pids.events'));
  const memory = await read(v2 ? path.join(root, name, 'memory.events') : path.join(root, 'memory', name, 'memory.oom_control'));
  return { pidsMax: count(pids, 'max'), oomKills: count(memory, 'oom_kill') };
}

/** What a sandbox's limits did, in words, for `sluice run` to say after the command ends. */
export function describeLimitEvents(events: LimitEvents, limits: SandboxLimits): string[] {
  const lines: string[] = [];
  if (events.pidsMax > 0) {
    lines.push(`the sandbox reached its process limit (${limits.pids}); ${events.pidsMax} fork(s) failed. Raise process.limits.processes in the policy if the command needs more`);
  }
  if (events.oomKills > 0) {
    lines.push(`the sandbox reached its memory limit (${formatMb(limits.memoryMb)}); the kernel killed ${events.oomKills} process(es). Raise process.limits.memory_mb in the policy if the command needs more`);
  }
  return lines;
}

/**
 * Removes every directory of the cgroup. A cgroup can be removed only once empty: whatever is
 * left (a sandbox whose owner died, the last processes of a pid namespace) is killed first.
 */
export async function removeCgroup(name: string, root = ROOT): Promise<void> {
  for (const dir of cgroupDirs(name, root)) {
    if (!existsSync(dir)) continue;
    for (let attempt = 0; attempt < 100; attempt++) {
      killMembers(dir);
      try {
        await rmdir(dir);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        if (code !== 'EBUSY') throw err;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
}

function killMembers(dir: string): void {
  let pids: number[];
  try {
    pids = readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return;
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** `sluice-` cgroups that exist, with their age in ms (for leftover clean-up). */
export async function listSandboxCgroups(): Promise<Array<{ name: string; ageMs: number }>> {
  const roots = isCgroupV2() ? [ROOT] : V1_CONTROLLERS.map((c) => path.join(ROOT, c));
  const found = new Map<string, number>();
  for (const root of roots) {
    for (const entry of await readdir(root).catch(() => [] as string[])) {
      if (!entry.startsWith('sluice-')) continue;
      const st = await stat(path.join(root, entry)).catch(() => undefined);
      if (st) found.set(entry, Math.min(found.get(entry) ?? Infinity, Date.now() - st.mtimeMs));
    }
  }
  return [...found].map(([name, ageMs]) => ({ name, ageMs }));
}
