import { readFileSync } from 'node:fs';
import { mkdir, readdir, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runCommand, runQuietly, type RunTool } from './run-command.js';
import { sluiceRunDir } from './sandbox-files.js';
import { recordState, type SandboxState } from './sandbox-state.js';

/**
 * Docker cannot mount a bind `nosuid,nodev` (its bind options have no such flags, and a local
 * volume's `o=bind,nosuid` is dropped by the bind itself), but a bind inherits the flags of the
 * mount it copies. So each writable host path a docker sandbox gets is first bound nosuid,nodev
 * (and private, so it propagates nowhere) at a mount point of Sluice's own, and that is what the
 * container binds. The mount points live outside the sandbox's state directory, which is
 * removed recursively, and are only ever unmounted and rmdir'ed.
 */
export const mountsRoot = (): string => path.join(sluiceRunDir(), '.mounts');

export async function nosuidBind(state: SandboxState, source: string): Promise<string> {
  const target = path.join(mountsRoot(), state.name, String(state.hostMounts.length));
  await recordState(state, { hostMounts: [...state.hostMounts, target] });
  await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
  if ((await stat(source)).isDirectory()) await mkdir(target);
  else await writeFile(target, '', { flag: 'wx' });
  await runCommand('mount', ['--bind', '--make-private', '-o', 'nosuid,nodev', source, target]);
  return target;
}

/** Mount points in this mount namespace (from /proc/self/mountinfo, octal escapes decoded). */
export function mountPoints(): Set<string> {
  const out = new Set<string>();
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const field = line.split(' ')[4];
    if (field) out.add(field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return out;
}

/** Unmounts (lazily: a container may still hold it) and removes the mount points of one sandbox. */
export async function removeHostMounts(name: string, mounts: string[], run?: RunTool): Promise<void> {
  const mounted = mountPoints();
  for (const target of [...mounts].reverse()) {
    if (mounted.has(target)) await runQuietly('umount', ['-l', target], undefined, run);
    if (mountPoints().has(target)) throw new Error(`cannot unmount ${target}`);
    const st = await stat(target).catch(() => undefined);
    if (st?.isDirectory()) await rmdir(target).catch(() => undefined);
    else if (st) await unlink(target).catch(() => undefined);
  }
  await rmdir(path.join(mountsRoot(), name)).catch(() => undefined);
}

/** Sandbox names that have mount points (for leftover clean-up). */
export async function listMountDirs(): Promise<string[]> {
  return (await readdir(mountsRoot()).catch(() => [] as string[])).filter((e) => e.startsWith('sluice-'));
}

/** Every mount point under one sandbox's directory, state or not (a crash may precede the record). */
export async function mountsOf(name: string): Promise<string[]> {
  const dir = path.join(mountsRoot(), name);
  return (await readdir(dir).catch(() => [] as string[])).map((e) => path.join(dir, e));
}
