import { existsSync, readFileSync } from 'node:fs';
import { lchown, realpath } from 'node:fs/promises';
import path from 'node:path';
import { SluiceError } from '../core/index.js';
import { runCommand } from './run-command.js';
import { listAcls, walkTree, type TreeEntry } from './workdir-tree.js';

/**
 * What a sandbox was granted on a root-owned workdir, recorded in its state before any of it is
 * applied: whoever removes the sandbox (its owner, the reaper, the next `sluice run` or `sluice
 * ps`) takes exactly these entries away again and gives the sandbox user's files to `owner`.
 */
export interface AclGrant {
  uid: number;
  /** the workdir, symlinks resolved: every ACL op is on the physical tree */
  workdir: string;
  /** the workdir's owner, who gets the files the sandbox user created */
  owner: { uid: number; gid: number };
  /** ancestors given `u:UID:--x` (bwrap binds the workdir as that user and must reach it) */
  ancestors: string[];
  /** paths that had extended ACLs before: only the named entry is removed from them */
  extended: string[];
  /** directories that had a default ACL before */
  defaults: string[];
  /** paths the uid owned before the run (an NFS-squashed file, say): not given to `owner` */
  owned?: string[];
}

const TOOLS = '/usr/bin';
const SETFACL = `${TOOLS}/setfacl`;
const BATCH = 200;
const refuse = (reason: string) => new SluiceError('SLUICE_SANDBOX_REFUSED', reason, { reason });

/** `setfacl`/`getfacl` come from the `acl` package, which minimal images lack. */
export function assertAclTools(dir = TOOLS): void {
  if (!existsSync(path.join(dir, 'setfacl')) || !existsSync(path.join(dir, 'getfacl'))) {
    throw refuse("the workdir is root's and the sandbox never runs as root: Sluice lends it to the sandbox's user with POSIX ACLs, which needs setfacl/getfacl (`apt-get install acl`)");
  }
}

/** With fs.protected_hardlinks=1 the sandbox user can only hard-link files it owns or may write. */
export function protectedHardlinks(): boolean {
  try {
    return readFileSync('/proc/sys/fs/protected_hardlinks', 'utf8').trim() === '1';
  } catch {
    return false;
  }
}

/**
 * Plans the grant: which paths of the tree already carry ACLs. Refuses when an entry for the uid
 * is already there, since it could not later be told apart from Sluice's own.
 */
export async function planAclGrant(input: { workdir: string; uid: number; owner: { uid: number; gid: number } }): Promise<AclGrant> {
  assertAclTools();
  const workdir = await realpath(input.workdir);
  const acls = await listAcls(workdir);
  const taken = [...acls].filter(([, a]) => a.users.has(input.uid)).map(([p]) => p);
  if (taken.length > 0) {
    throw refuse(`${taken[0]} already has an ACL entry for uid ${input.uid}, the sandbox's user; Sluice could not tell its own from it at exit. Remove it (setfacl -x u:${input.uid}) or set process.run_as_user`);
  }
  return {
    uid: input.uid,
    workdir,
    owner: input.owner,
    ancestors: [],
    extended: [...acls.keys()],
    defaults: [...acls].filter(([, a]) => a.hasDefault).map(([p]) => p),
    owned: [],
  };
}

export interface ApplyOptions {
  /** bwrap: the workdir's ancestors the user cannot traverse get `u:UID:--x` */
  ancestors: boolean;
  canTraverse: (dir: string) => Promise<boolean>;
  /** ancestors another live sandbox holds an entry on for the same uid, with whether they had ACLs before */
  shared: Map<string, boolean>;
  /** writes the grant to the state file; called before each change */
  record: (grant: AclGrant) => Promise<void>;
}

/**
 * Adds `u:UID:rwX` to every directory and regular file of the tree, and the same as a default
 * entry on directories so that what root creates there meanwhile stays reachable; then `--x` on
 * the ancestors, top down, where the user cannot pass. Symlinks are never followed (lstat walk,
 * `setfacl -P`), other file systems are not entered, and a regular file with more than one link
 * is left alone: it may be a link to a host file outside the tree. Returns those files.
 */
export async function applyAclGrant(grant: AclGrant, opts: ApplyOptions): Promise<{ skippedLinks: string[] }> {
  const entries = await walkTree(grant.workdir);
  grant.owned = entries.filter((e) => e.uid === grant.uid).map((e) => e.path);
  await opts.record(grant);
  const dirs: string[] = [];
  const files: string[] = [];
  const skippedLinks: string[] = [];
  for (const e of entries) {
    if (e.kind === 'dir') dirs.push(e.path);
    else if (e.kind === 'file' && e.nlink === 1) files.push(e.path);
    else if (e.kind === 'file') skippedLinks.push(e.path);
  }
  await setfacl(['-m', `u:${grant.uid}:rwX,d:u:${grant.uid}:rwX`], dirs);
  await setfacl(['-m', `u:${grant.uid}:rwX`], files);
  if (!opts.ancestors) return { skippedLinks };
  const chain: string[] = [];
  for (let dir = path.dirname(grant.workdir); ; dir = path.dirname(dir)) {
    chain.unshift(dir);
    if (dir === '/') break;
  }
  for (const dir of chain) {
    const shared = opts.shared.has(dir);
    if (!shared && (await opts.canTraverse(dir))) continue;
    if (shared ? opts.shared.get(dir) : (await listAcls(dir, false)).has(dir)) grant.extended.push(dir);
    grant.ancestors.push(dir);
    await opts.record(grant);
    if (!shared) await setfacl(['-m', `u:${grant.uid}:x`], [dir]);
  }
  return { skippedLinks };
}

/**
 * Takes the grant back, once no process of the sandbox is left: the sandbox user's files go to
 * the workdir's owner (lchown, never through a symlink; with fs.protected_hardlinks off, a
 * regular file with other links is left as it is, since it may be a host file linked in), paths
 * that had no ACL before lose every extended entry (the run's inherited ones included), the
 * others only the uid's, and the ancestors their `--x`, unless another live sandbox holds them.
 * Returns what it could not give back, for the exit notes.
 */
export async function revokeAclGrant(grant: AclGrant, keepAncestors: Set<string> = new Set()): Promise<string[]> {
  const extended = new Set(grant.extended);
  const defaults = new Set(grant.defaults);
  const owned = new Set(grant.owned ?? []);
  const hardlinksSafe = protectedHardlinks();
  const problems: string[] = [];
  const wipe: string[] = [];
  const named: string[] = [];
  const namedDirs: string[] = [];
  const dropDefault: string[] = [];
  const entries: TreeEntry[] = existsSync(grant.workdir) ? await walkTree(grant.workdir) : [];
  for (const e of entries) {
    if (e.uid === grant.uid && !owned.has(e.path)) {
      if (e.kind === 'file' && e.nlink > 1 && !hardlinksSafe) problems.push(`${e.path}: a file with ${e.nlink} links owned by uid ${grant.uid}, not given to uid ${grant.owner.uid} (fs.protected_hardlinks is off)`);
      else await lchown(e.path, grant.owner.uid, grant.owner.gid).catch((err: Error) => problems.push(`${e.path}: ${err.message}`));
    }
    if (e.kind === 'dir') {
      if (!extended.has(e.path)) wipe.push(e.path);
      else {
        namedDirs.push(e.path);
        if (!defaults.has(e.path)) dropDefault.push(e.path);
      }
    } else if (e.kind === 'file') {
      (extended.has(e.path) || e.nlink > 1 ? named : wipe).push(e.path);
    }
  }
  await setfacl(['-b'], wipe);
  await setfacl(['-x', `u:${grant.uid}`], named);
  await setfacl(['-x', `u:${grant.uid},d:u:${grant.uid}`], namedDirs.filter((d) => defaults.has(d)));
  await setfacl(['-x', `u:${grant.uid}`], dropDefault);
  await setfacl(['-k'], dropDefault);
  const ancestors = grant.ancestors.filter((a) => !keepAncestors.has(a));
  // only the uid's entry: /root is the host's, and someone may have given it ACLs meanwhile;
  // the mask setfacl leaves goes too if nothing else is there and nothing was before
  await setfacl(['-x', `u:${grant.uid}`], ancestors);
  for (const a of ancestors.filter((a) => !extended.has(a))) {
    const left = (await listAcls(a, false)).get(a);
    if (left && left.users.size === 0 && !left.groups && !left.hasDefault) await setfacl(['-b'], [a]);
  }
  return problems;
}

async function setfacl(op: string[], paths: string[]): Promise<void> {
  for (let i = 0; i < paths.length; i += BATCH) {
    await runCommand(SETFACL, ['-P', ...op, '--', ...paths.slice(i, i + BATCH)], { timeoutMs: 120_000 });
  }
}
