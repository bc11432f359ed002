import { execFileSync } from 'node:child_process';
import { runCommand } from './run-command.js';

export interface HostUser {
  uid: number;
  gid: number;
}

/**
 * Resolves `run_as_user`/`run_as_group` (names or numbers) against the host's user database.
 * The policy's symbolic `sandbox` user is the host's `sandbox` account if there is one, else the
 * user who ran sudo, else nobody: never root.
 */
export async function resolveHostUser(user?: string, group?: string): Promise<HostUser | undefined> {
  if (!user) return undefined;
  const entry = await lookup('passwd', user);
  if (!entry && user === 'sandbox') {
    const sudoUid = Number(process.env.SUDO_UID);
    const fallback = Number.isInteger(sudoUid) && sudoUid > 0 ? { uid: sudoUid, gid: Number(process.env.SUDO_GID) || sudoUid } : { uid: 65534, gid: 65534 };
    return group && group !== 'sandbox' ? { uid: fallback.uid, gid: (await resolveGroup(group)) ?? fallback.gid } : fallback;
  }
  const uid = entry ? Number(entry[2]) : Number(user);
  if (!Number.isInteger(uid) || uid < 0) throw new Error(`run_as_user: unknown user ${user}`);
  let gid = entry ? Number(entry[3]) : uid;
  if (group) gid = (await resolveGroup(group)) ?? gid;
  return { uid, gid };
}

/** A group name or number as a gid; undefined for a symbolic `sandbox` group the host lacks. */
export async function resolveGroup(group: string): Promise<number | undefined> {
  if (group === 'sandbox' && !(await lookup('group', group))) return undefined;
  const g = await lookup('group', group);
  const gid = g ? Number(g[2]) : Number(group);
  if (!Number.isInteger(gid) || gid < 0) throw new Error(`run_as_group: unknown group ${group}`);
  return gid;
}

async function lookup(db: 'passwd' | 'group', key: string): Promise<string[] | undefined> {
  try {
    const { stdout } = await runCommand('getent', [db, key]);
    return stdout.trim().split('\n')[0]?.split(':');
  } catch {
    return undefined;
  }
}

/** The primary group of a host user, if it has one that is not root's. */
export function primaryGroup(uid: number): number | undefined {
  try {
    const gid = Number(execFileSync('getent', ['passwd', String(uid)], { encoding: 'utf8', timeout: 5000 }).split(':')[3]);
    return Number.isInteger(gid) && gid > 0 ? gid : undefined;
  } catch {
    return undefined;
  }
}
