import { lstat, mkdir, readdir, readFile, rename, rmdir, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SluiceError } from '../core/index.js';
import { currentProcess, type ProcessIdentity } from './owner.js';
import { sluiceRunDir } from './sandbox-files.js';
import type { SandboxDriver } from './types.js';
import type { AclGrant } from './workdir-acl.js';

/**
 * What a sandbox holds on the host, written to `<runDir>/<name>/state.json` before any of it is
 * created and kept up to date as it is: whoever finds the file after its owner died (the
 * reaper, the next `sluice run`, `sluice ps`) knows exactly what to remove, and a resource a
 * live owner lists is never touched. The directory is created exclusively, so two sandboxes
 * can never share a name.
 */
export interface SandboxState {
  version: 2;
  driver: SandboxDriver;
  name: string;
  /** start is absent only in state written by Sluice before version 2 */
  owner: { pid: number; start?: number };
  /** the owner's pid again, as Sluice before version 2 read it (its clean-up keeps ours while it lives) */
  ownerPid: number;
  /** netns (and nft table) of a bwrap sandbox; '' when none */
  network: string;
  /** nft tables of this sandbox (bwrap: the netns name; docker: the bridge's) */
  firewallTables: string[];
  /** cgroup name (bwrap) */
  cgroup?: string;
  /** docker: the container and network, once created */
  container?: string;
  dockerNetwork?: string;
  /** docker: the warm network's holder container whose network namespace the container joined */
  netHolder?: string;
  /** host mount points made for the sandbox (nosuid,nodev binds of docker's writable paths) */
  hostMounts: string[];
  /** bwrap: the sandbox's first process on the host, with its start time (signals must not reach a reused pid) */
  pid: number;
  pidStart?: number;
  /** the process that removes everything if the owner dies without doing so */
  reaper?: ProcessIdentity;
  user?: { uid: number; gid: number };
  /** ACL entries lending a root-owned workdir to the sandbox's user (workdir-acl.ts) */
  acl?: AclGrant;
  command: string[];
  createdAt: string;
}

const STATE_FILE = 'state.json';

/**
 * Network resources a gateway makes ahead of demand (network-pool.ts) are recorded like a
 * sandbox, under names no sandbox may take (sandboxName refuses the prefix), so that clean-up
 * finds them by the same rules and `sluice ps` can leave them out.
 */
export const POOL_PREFIX = 'sluice-pool-';
export const isPoolEntry = (name: string): boolean => name.startsWith(POOL_PREFIX);
export const stateDir = (name: string): string => path.join(sluiceRunDir(), name);

/** Claims the name: fails if another sandbox has it. The first thing a sandbox does. */
export async function claimSandbox(init: { driver: SandboxDriver; name: string; command: string[] }): Promise<SandboxState> {
  await mkdir(sluiceRunDir(), { recursive: true, mode: 0o755 });
  try {
    await mkdir(stateDir(init.name), { mode: 0o755 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new SluiceError('SLUICE_SANDBOX_REFUSED', `a sandbox named ${init.name} already exists (\`sluice ps\`; \`sluice stop ${init.name}\`)`);
    }
    throw err;
  }
  const owner = currentProcess();
  const state: SandboxState = {
    version: 2,
    driver: init.driver,
    name: init.name,
    owner,
    ownerPid: owner.pid,
    network: '',
    firewallTables: [],
    hostMounts: [],
    pid: 0,
    command: init.command,
    createdAt: new Date().toISOString(),
  };
  await writeState(state);
  return state;
}

/** Atomic: a reader sees the old file or the new one, never half of one. */
export async function writeState(state: SandboxState): Promise<void> {
  const file = path.join(stateDir(state.name), STATE_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(state, null, 2), { mode: 0o644 });
  await rename(tmp, file);
}

/** Records a resource before it is created (so that it is never unaccounted for). */
export async function recordState(state: SandboxState, patch: Partial<SandboxState>): Promise<void> {
  Object.assign(state, patch);
  await writeState(state);
}

export async function readState(name: string): Promise<SandboxState | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path.join(stateDir(name), STATE_FILE), 'utf8')) as Partial<SandboxState> & { ownerPid?: number };
    if (parsed.name !== name || (parsed.driver !== 'bwrap' && parsed.driver !== 'docker')) return undefined;
    // an older Sluice wrote ownerPid only, and no resource lists
    return {
      version: 2,
      network: '',
      firewallTables: parsed.network ? [parsed.network] : [],
      hostMounts: [],
      pid: 0,
      command: [],
      createdAt: '',
      ...parsed,
      owner: parsed.owner ?? { pid: parsed.ownerPid ?? 0 },
      ownerPid: parsed.ownerPid ?? parsed.owner?.pid ?? 0,
    } as SandboxState;
  } catch {
    return undefined;
  }
}

/** Names of every sandbox directory under the run dir, with or without a readable state. */
export async function listStateDirs(): Promise<string[]> {
  const entries = await readdir(sluiceRunDir()).catch(() => [] as string[]);
  return entries.filter((e) => e.startsWith('sluice-'));
}

/**
 * Removes a sandbox's directory without ever leaving its file system: if something is mounted
 * inside (it should not be), the removal stops there rather than descend into a host directory.
 */
export async function removeStateDir(name: string): Promise<void> {
  await removeTree(stateDir(name));
}

/** Another clean-up may be removing the same tree at the same moment: what it took first is gone, not an error. */
async function removeTree(dir: string, dev?: number): Promise<void> {
  const st = await lstat(dir).catch(() => undefined);
  if (!st) return;
  if (dev !== undefined && st.dev !== dev) throw new Error(`${dir} is a mount point; not removed`);
  if (!st.isDirectory()) {
    await unlink(dir).catch(ignoreGone);
    return;
  }
  const entries = await readdir(dir).catch((err: NodeJS.ErrnoException) => (ignoreGone(err), [] as string[]));
  for (const entry of entries) await removeTree(path.join(dir, entry), st.dev);
  await rmdir(dir).catch(ignoreGone);
}

function ignoreGone(err: NodeJS.ErrnoException): void {
  if (err.code !== 'ENOENT') throw err;
}
