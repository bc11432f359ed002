import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { listSandboxCgroups, removeCgroup } from './cgroup.js';
import { listDockerObjects, removeDockerObjects, type DockerObject } from './docker-objects.js';
import { listFirewallTables, removeFirewall } from './firewall.js';
import { listMountDirs, mountsOf, removeHostMounts } from './host-mounts.js';
import { listSandboxNetworks, removeSandboxNetwork } from './netns.js';
import { descendants, isRunning, killAll } from './owner.js';
import { listStateDirs, readState, removeStateDir, stateDir, type SandboxState } from './sandbox-state.js';
import { takeBackWorkdir } from './workdir-lend.js';

/**
 * How long a `sluice-` resource that no state file lists is left alone: long enough for any
 * Sluice, this version or an older one that writes its state after creating things, to finish
 * creating a sandbox. Resources a state lists are judged by their owner, at once.
 */
export const UNLISTED_GRACE_MS = 10 * 60_000;

export interface CleanupReport {
  /** sandboxes whose owner was gone, removed */
  removed: string[];
  /** resources nothing listed, removed after the grace period */
  unlisted: string[];
  /** what could not be removed, with the reason */
  failed: string[];
}

/**
 * Removes what dead owners left: every sandbox whose owner process (pid and start time) is gone,
 * and `sluice-` resources nothing lists once they are older than UNLISTED_GRACE_MS. Run by
 * `sluice run` (in the background) and `sluice ps`; safe while other Sluices create and run
 * sandboxes, because whatever a live owner lists, or a live owner's docker labels name, stays.
 */
export async function cleanupLeftovers(): Promise<CleanupReport> {
  const report: CleanupReport = { removed: [], unlisted: [], failed: [] };
  // Resources are listed before states: anything that exists now was listed in a state file
  // before it was created, so a live creator's state, read next, claims it. Tables are listed
  // before namespaces and docker networks, so that a table's interface, made before the table,
  // is seen too.
  const tables = await listFirewallTables().catch(() => [] as string[]);
  const netns = await listSandboxNetworks().catch(() => [] as Array<{ name: string; ageMs: number }>);
  const docker = await listDockerObjects().catch(() => [] as DockerObject[]);
  const cgroups = await listSandboxCgroups().catch(() => [] as Array<{ name: string; ageMs: number }>);
  const mountDirs = await listMountDirs();
  const dirs = await listStateDirs();
  const states = new Map<string, SandboxState | undefined>();
  for (const dir of dirs) states.set(dir, await readState(dir));
  const live = [...states.values()].filter((s): s is SandboxState => !!s && isRunning(s.owner));
  const claimed = claimedBy(live);
  for (const o of docker.filter((o) => ownerAlive(o))) {
    claimed.add(o.name);
    if (o.bridge) claimed.add(o.bridge);
  }

  for (const [name, state] of states) {
    if (state && isRunning(state.owner)) continue;
    try {
      if (state) {
        await removeSandbox(state, claimed);
        report.removed.push(name);
      } else if (!claimed.has(name) && (await ageMs(stateDir(name))) > UNLISTED_GRACE_MS) {
        // no state: a sandbox of an older Sluice (its docker ones never had one) or a crash
        // before the first write; a live docker sandbox of that name keeps it
        await removeStateDir(name);
        report.unlisted.push(name);
      }
    } catch (err) {
      report.failed.push(`${name}: ${(err as Error).message}`);
    }
  }
  for (const o of docker.filter((o) => !ownerAlive(o) && !states.has(o.name))) {
    await removeDockerObjects([o]).then(
      () => report.removed.push(o.name),
      (err: Error) => report.failed.push(`${o.name}: ${err.message}`),
    );
    if (o.bridge && !claimed.has(o.bridge)) await removeFirewall(o.bridge);
  }

  const listed = claimedBy([...states.values()].filter((s): s is SandboxState => !!s));
  const unlisted = (name: string) => !claimed.has(name) && !listed.has(name);
  for (const ns of netns.filter((n) => unlisted(n.name) && n.ageMs > UNLISTED_GRACE_MS)) {
    await removeFirewall(ns.name);
    await removeSandboxNetwork(ns.name);
    report.unlisted.push(ns.name);
  }
  const interfaces = new Set([...netns.map((n) => n.name), ...docker.map((o) => o.bridge).filter(Boolean)]);
  // a table whose namespace or bridge is gone filters nothing and belongs to nothing (a veth
  // cannot outlive its namespace: deleting the namespace deletes the pair)
  for (const table of tables.filter((t) => unlisted(t) && !interfaces.has(t))) {
    await removeFirewall(table);
    report.unlisted.push(table);
  }
  for (const cg of cgroups.filter((c) => unlisted(c.name) && c.ageMs > UNLISTED_GRACE_MS)) {
    await removeCgroup(cg.name).catch((err: Error) => report.failed.push(`cgroup ${cg.name}: ${err.message}`));
    report.unlisted.push(`cgroup ${cg.name}`);
  }
  for (const name of mountDirs.filter((n) => !states.has(n) && !claimed.has(n))) {
    await removeHostMounts(name, await mountsOf(name)).catch((err: Error) => report.failed.push(`mounts of ${name}: ${err.message}`));
  }
  return report;
}

function claimedBy(states: SandboxState[]): Set<string> {
  const names = new Set<string>();
  for (const s of states) {
    names.add(s.name);
    if (s.network) names.add(s.network);
    for (const t of s.firewallTables) names.add(t);
    if (s.cgroup) names.add(s.cgroup);
  }
  return names;
}

/**
 * Removes everything a sandbox's state lists, except what a live sandbox also lists (a network
 * slot this one tried and lost to another), then the state itself. Idempotent.
 */
export async function removeSandbox(state: SandboxState, claimed?: Set<string>): Promise<void> {
  const keep = claimed ?? (await liveClaims(state.name));
  // the reaper's shell execs the clean-up: the reaper may be this very process
  if (state.reaper && state.reaper.pid !== process.pid && isRunning(state.reaper)) killAll([state.reaper.pid]);
  const pids: number[] = [];
  if (state.driver === 'bwrap' && state.pid && isRunning({ pid: state.pid, start: state.pidStart }) && (state.pidStart !== undefined || launchesSandboxes(state.pid))) {
    pids.push(state.pid, ...descendants(state.pid));
    killAll(pids);
  }
  if (state.driver === 'docker') {
    // the sandbox's container, then the holder whose namespace it joined, then the network they were on
    await removeDockerObjects([{ container: state.container ?? state.name }, { container: state.netHolder, network: state.dockerNetwork ?? state.name }]);
  }
  // before the state goes: a failure leaves the grant listed for the next clean-up
  await takeBackWorkdir(state, pids);
  if (state.cgroup && !keep.has(state.cgroup)) await removeCgroup(state.cgroup);
  for (const table of state.firewallTables) if (!keep.has(table)) await removeFirewall(table);
  if (state.network && !keep.has(state.network)) await removeSandboxNetwork(state.network);
  await removeHostMounts(state.name, [...new Set([...state.hostMounts, ...(await mountsOf(state.name))])]);
  await removeStateDir(state.name);
}

/**
 * State written before version 2 has no start time for the sandbox's pid: as that Sluice did,
 * signal it only while it is still one of the programs that launch a sandbox.
 */
function launchesSandboxes(pid: number): boolean {
  try {
    const argv0 = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
    return /(^|\/)(bwrap|nsenter|setpriv|sh)$/.test(argv0);
  } catch {
    return false;
  }
}

async function liveClaims(except: string): Promise<Set<string>> {
  const states = await Promise.all((await listStateDirs()).filter((d) => d !== except).map((d) => readState(d)));
  return claimedBy(states.filter((s): s is SandboxState => !!s && isRunning(s.owner)));
}

function ownerAlive(o: DockerObject): boolean {
  return isRunning({ pid: o.ownerPid ?? 0, start: o.ownerStart });
}

async function ageMs(p: string): Promise<number> {
  const st = await stat(p).catch(() => undefined);
  return st ? Date.now() - st.mtimeMs : 0;
}
