import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { isRunning, killAll, processStart } from './owner.js';
import { listStateDirs, readState, recordState, type SandboxState } from './sandbox-state.js';
import type { SandboxUser } from './sandbox-user.js';
import { applyAclGrant, planAclGrant, revokeAclGrant, type AclGrant } from './workdir-acl.js';
import { SluiceError } from '../core/index.js';

const refuse = (reason: string) => new SluiceError('SLUICE_SANDBOX_REFUSED', reason, { reason });

/**
 * Lends a root-owned workdir to the sandbox's unprivileged user for the run (workdir-acl.ts),
 * recorded in the sandbox's state first. bwrap binds the workdir as that user, so it also needs
 * to pass the ancestors; docker's engine binds it as root. Returns notices for the user.
 */
export async function lendWorkdir(state: SandboxState, workdir: string, user: SandboxUser, opts: { ancestors: boolean; owner: { uid: number; gid: number } }): Promise<string[]> {
  const grant = await planAclGrant({ workdir, uid: user.uid, owner: opts.owner });
  const others = await liveGrants(state.name, user.uid);
  const overlap = others.find((g) => within(g.workdir, grant.workdir) || within(grant.workdir, g.workdir));
  if (overlap) {
    throw refuse(`another running sandbox lends ${overlap.workdir} to uid ${user.uid} too; two sandboxes of one user cannot share a root-owned workdir (give each a process.run_as_user, or chown the directory)`);
  }
  const shared = new Map<string, boolean>();
  for (const g of others) for (const a of g.ancestors) shared.set(a, g.extended.includes(a));
  const { skippedLinks } = await applyAclGrant(grant, {
    ancestors: opts.ancestors,
    shared,
    canTraverse: (dir) => canTraverse(dir, user),
    record: (g) => recordState(state, { acl: g }),
  });
  const notices = [`the workdir ${grant.workdir} is root's: lent to the sandbox's user, uid ${user.uid} (${user.reason}), with ACL entries taken back at exit, its files then given to uid ${opts.owner.uid}`];
  if (skippedLinks.length > 0) {
    notices.push(`${skippedLinks.length} file(s) with more than one hard link were not lent (they may be links to files outside the workdir), e.g. ${skippedLinks[0]}`);
  }
  return notices;
}

/** Takes a grant back (removeSandbox): only once no process of the sandbox can race the walk. */
export async function takeBackWorkdir(state: SandboxState, pids: number[]): Promise<void> {
  if (!state.acl) return;
  const processes = pids.map((pid) => ({ pid, start: processStart(pid) }));
  killAll(pids);
  const deadline = Date.now() + 10_000;
  while (processes.some((p) => isRunning(p))) {
    if (Date.now() > deadline) throw new Error(`processes of ${state.name} still running; its workdir ACLs stay until the next clean-up`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const keep = new Set((await liveGrants(state.name, state.acl.uid)).flatMap((g) => g.ancestors));
  const problems = await revokeAclGrant(state.acl, keep);
  for (const p of problems) process.stderr.write(`sluice: ${p}\n`);
}

async function liveGrants(except: string, uid: number): Promise<AclGrant[]> {
  const states = await Promise.all((await listStateDirs()).filter((d) => d !== except).map((d) => readState(d)));
  return states.filter((s): s is SandboxState => !!s && !!s.acl && s.acl.uid === uid && isRunning(s.owner)).map((s) => s.acl as AclGrant);
}

/** The workdir's owner and group, to whom the sandbox user's files go back. */
export function ownerOf(workdir: string): { uid: number; gid: number } {
  const st = statSync(workdir);
  return { uid: st.uid, gid: st.gid };
}

const within = (dir: string, root: string) => dir === root || dir.startsWith(root.endsWith('/') ? root : `${root}/`);

function canTraverse(dir: string, user: SandboxUser): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('/usr/bin/setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--', '/usr/bin/test', '-x', dir], (err) => resolve(!err));
  });
}
