import { runCommand } from './run-command.js';

export interface HostUser {
  uid: number;
  gid: number;
}

/** Resolves `run_as_user`/`run_as_group` (names or numbers) against the host's user database. */
export async function resolveHostUser(user?: string, group?: string): Promise<HostUser | undefined> {
  if (!user) return undefined;
  const entry = await lookup('passwd', user);
  const uid = entry ? Number(entry[2]) : Number(user);
  if (!Number.isInteger(uid) || uid < 0) throw new Error(`run_as_user: unknown user ${user}`);
  let gid = entry ? Number(entry[3]) : uid;
  if (group) {
    const g = await lookup('group', group);
    gid = g ? Number(g[2]) : Number(group);
    if (!Number.isInteger(gid) || gid < 0) throw new Error(`run_as_group: unknown group ${group}`);
  }
  return { uid, gid };
}

async function lookup(db: 'passwd' | 'group', key: string): Promise<string[] | undefined> {
  try {
    const { stdout } = await runCommand('getent', [db, key]);
    return stdout.trim().split('\n')[0]?.split(':');
  } catch {
    return undefined;
  }
}
