import { execFile } from 'node:child_process';
import { constants, readFileSync, statSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { SluiceError } from '../core/index.js';
import { primaryGroup, resolveGroup, resolveHostUser } from './host-user.js';
import type { SandboxSpec } from './types.js';

/** The ids a nobody-like sandbox user gets when no better owner is known. */
export const NOBODY = 65534;
/** The base image's user (sandbox/image.ts), which the policy's symbolic `sandbox` names under docker. */
const IMAGE_USER = 1000;

export interface SandboxUser {
  /** Host ids of the command's processes and of every file it creates. Never 0 when Sluice runs as root. */
  uid: number;
  gid: number;
  /** The ids the command sees: the host ids, or 0 when the policy asks for root inside a user namespace. */
  inside: { uid: number; gid: number };
  /** Why these host ids, in words (for notices and errors). */
  reason: string;
}

export interface ChooseUserInput {
  driver: 'bwrap' | 'docker';
  process?: SandboxSpec['process'];
  /** the host workdir the command writes, when it is mounted */
  workdir?: string;
  /** the uid Sluice runs as (process.getuid()), a parameter for the tests */
  callerUid?: number;
  callerGid?: number;
  env?: NodeJS.ProcessEnv;
}

const refuse = (reason: string) => new SluiceError('SLUICE_SANDBOX_REFUSED', reason, { reason });

/**
 * Who the sandboxed command runs as. The host's root never: a uid-0 command with no
 * capabilities still owns every root-owned file it can see (/proc/sys, 0600 files under /etc)
 * and anything it leaves in the workdir is root's. In order:
 * 1. `process.run_as_user`/`run_as_group` from the policy (never root: the schema refuses it);
 * 2. the workdir's owner, if not root, so that files the command creates belong to whoever
 *    owns the directory;
 * 3. the user who ran `sudo` (SUDO_UID/SUDO_GID);
 * 4. Sluice's own user when it is not root;
 * 5. the first of root's subordinate ids (/etc/subuid, /etc/subgid), else nobody (65534).
 * bwrap without root cannot switch users: it always runs as the caller.
 * `process.root_inside` keeps those host ids and shows them to the command as 0 (its user
 * namespace maps 0 to them): what tools that insist on root need, with nothing of the host's root.
 */
export async function chooseSandboxUser(input: ChooseUserInput): Promise<SandboxUser> {
  const callerUid = input.callerUid ?? process.getuid?.() ?? 0;
  const callerGid = input.callerGid ?? process.getgid?.() ?? 0;
  const { run_as_user: user, run_as_group: group, root_inside: rootInside } = input.process ?? {};
  const fixedToCaller = input.driver === 'bwrap' && callerUid !== 0;
  let chosen: { uid: number; gid: number; reason: string };
  if (user) chosen = await explicitUser(input);
  else if (fixedToCaller) chosen = { uid: callerUid, gid: callerGid, reason: `Sluice's own user (uid ${callerUid})` };
  else chosen = defaultUser(input, callerUid, callerGid);
  if (group && !user) chosen = { ...chosen, gid: await groupId(input.driver, group), reason: `${chosen.reason}, run_as_group ${group} from the policy` };
  if (fixedToCaller && (chosen.uid !== callerUid || chosen.gid !== callerGid)) {
    throw refuse(`run_as_user/run_as_group ${user ?? ''}${group ? `:${group}` : ''}: switching users needs root (Sluice runs as uid ${callerUid}, gid ${callerGid})`);
  }
  // docker's ids are the host's whoever asks the engine, which runs as root
  if ((callerUid === 0 || input.driver === 'docker') && (chosen.uid === 0 || chosen.gid === 0)) {
    throw refuse(`the sandbox would run as the host's root or root group (${chosen.reason}); choose another run_as_user/run_as_group`);
  }
  return { ...chosen, inside: rootInside === true ? { uid: 0, gid: 0 } : { uid: chosen.uid, gid: chosen.gid } };
}

/** docker: numeric, so that any image works, and `sandbox` is the base image's user. */
const dockerId = (id: string) => (id === 'sandbox' ? IMAGE_USER : Number(id));

async function groupId(driver: ChooseUserInput['driver'], group: string): Promise<number> {
  if (driver === 'docker') return dockerId(group);
  const gid = await resolveGroup(group);
  if (gid === undefined) throw refuse(`run_as_group ${group}: no such group on this host`);
  return gid;
}

async function explicitUser(input: ChooseUserInput): Promise<{ uid: number; gid: number; reason: string }> {
  const { run_as_user: user = '', run_as_group: group } = input.process ?? {};
  const reason = `run_as_user ${user}${group ? `, run_as_group ${group}` : ''} from the policy`;
  if (input.driver === 'docker') {
    const uid = dockerId(user);
    return { uid, gid: group ? dockerId(group) : uid, reason };
  }
  const resolved = await resolveHostUser(user, group);
  if (!resolved) throw refuse(`run_as_user ${user}: not found`);
  return { ...resolved, reason };
}

function defaultUser(input: ChooseUserInput, callerUid: number, callerGid: number): { uid: number; gid: number; reason: string } {
  if (input.workdir) {
    const st = statSync(input.workdir);
    if (st.uid !== 0) return { uid: st.uid, gid: st.gid !== 0 ? st.gid : (primaryGroup(st.uid) ?? NOBODY), reason: `the owner of the workdir ${input.workdir}` };
  }
  const env = input.env ?? process.env;
  const sudoUid = Number(env.SUDO_UID);
  if (Number.isInteger(sudoUid) && sudoUid > 0) {
    const sudoGid = Number(env.SUDO_GID);
    return { uid: sudoUid, gid: Number.isInteger(sudoGid) && sudoGid > 0 ? sudoGid : (primaryGroup(sudoUid) ?? NOBODY), reason: `the user who ran sudo (uid ${sudoUid})` };
  }
  if (callerUid !== 0) return { uid: callerUid, gid: callerGid || NOBODY, reason: `Sluice's own user (uid ${callerUid})` };
  const ids = dedicatedIds(readOr('/etc/subuid'), readOr('/etc/subgid'));
  const why = "Sluice runs as root, the workdir is root's or absent, and there is no SUDO_UID";
  if (ids) return { ...ids, reason: `uid ${ids.uid}, the first of root's subordinate ids (/etc/subuid): ${why}` };
  return { uid: NOBODY, gid: NOBODY, reason: `nobody (65534): ${why}` };
}

/**
 * The sandbox's own ids when nobody better is known: the first of root's subordinate uid and gid
 * ranges, which no account on the host has (useradd hands them out apart from the login ids), so
 * the sandbox's files and processes are its alone; nobody is shared with NFS squashing and
 * daemons. Both ranges, or neither: a uid without its own gid would end up in nobody's group.
 */
export function dedicatedIds(subuid: string, subgid: string): { uid: number; gid: number } | undefined {
  const first = (text: string) => {
    for (const line of text.split('\n')) {
      const [who, start, count] = line.trim().split(':');
      const n = Number(start);
      if ((who === 'root' || who === '0') && Number.isInteger(n) && n > 0 && n < 2 ** 32 - 1 && Number(count) > 0) return n;
    }
    return undefined;
  };
  const uid = first(subuid);
  const gid = first(subgid);
  return uid !== undefined && gid !== undefined ? { uid, gid } : undefined;
}

function readOr(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/**
 * The command must be able to write its workdir: checked up front, for the ids it will have,
 * so that an unwritable directory is a clear error now rather than failed writes later. One
 * case is not refused: Sluice as root, a root-owned workdir, no run_as_user. That is every
 * `sluice run` from a root shell (CI, a VM, a container), and the answer is to lend the
 * directory to the unprivileged user for the run ('lend': workdir-lend.ts), never to run as root.
 */
export async function workdirAccess(
  workdir: string,
  user: SandboxUser,
  opts: { callerUid?: number; explicitUser?: boolean } = {},
): Promise<'writable' | 'lend'> {
  const callerUid = opts.callerUid ?? process.getuid?.() ?? 0;
  const writable = user.uid === callerUid ? await access(workdir, constants.W_OK).then(() => true, () => false)
    : callerUid === 0 ? await writableAs(workdir, user) : modeAllowsWrite(workdir, user);
  if (writable) return 'writable';
  const st = statSync(workdir);
  if (callerUid === 0 && st.uid === 0 && user.uid !== 0 && !opts.explicitUser) return 'lend';
  throw refuse(
    `the workdir ${workdir} (owner uid ${st.uid}, mode ${(st.mode & 0o7777).toString(8)}) is not writable by the sandbox's user, uid ${user.uid} ` +
      `(${user.reason}). The sandbox never runs as the host's root: give the directory to the user the agent should act as ` +
      '(`chown -R USER DIR`; the sandbox then runs as that user), run Sluice through sudo from that user, or name one in the ' +
      "policy's process.run_as_user",
  );
}

function writableAs(dir: string, user: SandboxUser): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('/usr/bin/setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--', '/usr/bin/test', '-w', dir], (err) => resolve(!err));
  });
}

function modeAllowsWrite(dir: string, user: SandboxUser): boolean {
  const st = statSync(dir);
  if (st.uid === user.uid) return (st.mode & 0o200) !== 0;
  if (st.gid === user.gid) return (st.mode & 0o020) !== 0;
  return (st.mode & 0o002) !== 0;
}
