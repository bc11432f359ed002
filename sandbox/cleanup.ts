import { readdir } from 'node:fs/promises';
import type { BwrapState } from './bwrap-driver.js';
import { removeEmptyCgroups } from './cgroup.js';
import { LABEL } from './docker-driver.js';
import { dockerClient } from './docker-engine.js';
import { listFirewallTables, removeFirewall } from './firewall.js';
import { listSandboxNetworks, removeSandboxNetwork } from './netns.js';
import { isAlive, isSandboxProcess } from './process-alive.js';
import { readStateFile, removeSandboxFiles, sluiceRunDir } from './sandbox-files.js';

const OWNER = 'sluice.owner-pid';

/**
 * Removes what crashed `sluice run`s left behind: sandboxes whose owning process is gone.
 * With `orphans`, also every `sluice-` netns and nft table no live sandbox claims, which is
 * safe only when no sandbox is being created at the same moment (CI, after the tests).
 * Returns the names removed.
 */
export async function cleanupLeftovers(opts: { orphans?: boolean } = {}): Promise<string[]> {
  const removed: string[] = [];
  const claimed = new Set<string>();
  let entries: string[] = [];
  try {
    entries = await readdir(sluiceRunDir());
  } catch {
    // no run dir: nothing recorded
  }
  for (const entry of entries) {
    const state = await readStateFile<BwrapState>(entry);
    if (state?.driver !== 'bwrap') continue;
    if (isAlive(state.ownerPid)) {
      claimed.add(state.network);
      continue;
    }
    // no owner left to wait for it or forward its output: stop it
    await killAndWait(state.pid);
    if (state.network) {
      await removeFirewall(state.network);
      await removeSandboxNetwork(state.network);
    }
    await removeSandboxFiles(state.name);
    removed.push(state.name);
  }
  removed.push(...(await cleanupDocker(claimed)));
  if (opts.orphans) {
    for (const name of await listSandboxNetworks().catch(() => [])) {
      if (claimed.has(name)) continue;
      await removeFirewall(name);
      await removeSandboxNetwork(name);
      removed.push(name);
    }
    for (const table of await listFirewallTables().catch(() => [])) {
      if (claimed.has(table)) continue;
      await removeFirewall(table);
      removed.push(table);
    }
    // rmdir fails on a cgroup that still has processes, so live sandboxes keep theirs
    removed.push(...(await removeEmptyCgroups()));
  }
  return removed;
}

async function killAndWait(pid: number): Promise<void> {
  if (!isSandboxProcess(pid)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  for (let i = 0; i < 40 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 25));
}

/** Docker objects whose owner process is gone; live ones add their bridge to `claimed`. */
async function cleanupDocker(claimed: Set<string>): Promise<string[]> {
  const removed: string[] = [];
  const docker = dockerClient();
  try {
    await docker.ping();
  } catch {
    return removed;
  }
  for (const c of await docker.listContainers({ all: true, filters: { label: [LABEL] } })) {
    if (isAlive(Number(c.Labels[OWNER]))) continue;
    await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
    removed.push(c.Labels[LABEL] ?? c.Id);
  }
  for (const n of await docker.listNetworks({ filters: { label: [LABEL] } })) {
    const bridge = n.Labels?.['sluice.bridge'];
    if (isAlive(Number(n.Labels?.[OWNER]))) {
      if (bridge) claimed.add(bridge);
      continue;
    }
    await docker.getNetwork(n.Id).remove().catch(() => undefined);
    if (bridge) await removeFirewall(bridge);
    await removeSandboxFiles(n.Name);
    removed.push(n.Name);
  }
  return removed;
}
