import { randomBytes } from 'node:crypto';
import { prepareBwrap } from './bwrap-driver.js';
import { removeSandbox } from './cleanup.js';
import { dockerClient } from './docker-engine.js';
import { listDockerObjects, removeDockerObjects } from './docker-objects.js';
import { prepareDocker } from './docker-driver.js';
import { landlockStance } from './landlock.js';
import { descendants, isRunning, killAll } from './owner.js';
import { isPoolEntry, listStateDirs, readState, type SandboxState } from './sandbox-state.js';
import type { PreparedSandbox, SandboxInfo, SandboxSpec } from './types.js';

export type {
  PreparedSandbox,
  ProxyEndpoint,
  RunningSandbox,
  SandboxDriver,
  SandboxInfo,
  SandboxInit,
  SandboxSpec,
  StartOptions,
  StdioMode,
} from './types.js';
export { buildBaseImage, BASE_IMAGE, type BuildImageOptions } from './image.js';
export { dockerHost, ensureDocker } from './docker-engine.js';
export { startToolRunner, type ToolRunner } from './tool-runner.js';
export { startOwnerReaper, type Reaper } from './reaper.js';
export { createNetworkPool, DEFAULT_POOL_SIZE, type NetworkPool } from './network-pool.js';
export { cleanupLeftovers, UNLISTED_GRACE_MS, type CleanupReport } from './cleanup.js';
export { measureStartup, type StartupFigures } from './measure-startup.js';
export { compileSeccompFilter, SECCOMP_RULES } from './seccomp.js';
export { dockerSeccompProfile } from './docker-seccomp.js';
export { defaultLimits, type SandboxLimits } from './limits.js';
export { sandboxEnv, proxyUrl, IN_SANDBOX } from './sandbox-env.js';
export { attributeConnection, AmbiguousOwnerError, type Attribution, type AttributionOptions } from './process-attribution.js';
export { createBinaryPins, BinaryChangedError, type BinaryPins } from './binary-pins.js';
export { attributionOnStart, createSandboxAttribution } from './connection-identity.js';
export { LANDLOCK_BEST_EFFORT_WARNING, type LandlockSection } from './landlock.js';

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;

/** Every sandbox name starts with `sluice-` so that `sluice ps` and clean-up can find it. */
export function sandboxName(requested?: string): string {
  const name = requested ? (requested.startsWith('sluice-') ? requested : `sluice-${requested}`) : `sluice-${randomBytes(4).toString('hex')}`;
  if (!NAME_RE.test(name)) throw new Error(`invalid sandbox name ${JSON.stringify(requested)}: letters, digits, _ . - only`);
  if (isPoolEntry(name)) throw new Error(`invalid sandbox name ${JSON.stringify(requested)}: names beginning with pool- are Sluice's own`);
  return name;
}

/**
 * Phase one: create the sandbox's network, so that the proxy can bind where the sandbox will
 * reach it (`proxyListen.host`, any port). Phase two, `start({ proxy })`, installs the firewall
 * for that exact address and port and runs the command. Call `remove()` on every path out.
 */
export async function prepareSandbox(spec: SandboxSpec): Promise<PreparedSandbox> {
  if (spec.command.length === 0) throw new Error('sandbox: empty command');
  const name = sandboxName(spec.name);
  // before anything exists: a refusal leaves nothing to remove
  const landlock = landlockStance(spec.landlock);
  // a name left by a run that died (`--name` reused after a crash) is free again
  const previous = await readState(name);
  if (previous && !isRunning(previous.owner)) await removeSandbox(previous);
  if (spec.driver !== 'bwrap' && spec.driver !== 'docker') throw new Error(`unknown sandbox driver ${String(spec.driver)}`);
  const prepared = await (spec.driver === 'bwrap' ? prepareBwrap(spec, name) : prepareDocker(spec, name));
  if (landlock) prepared.warnings.push(landlock);
  return prepared;
}

/** Every sandbox Sluice knows of on this host, orphans (owner gone, not yet removed) included. */
export async function listSandboxes(): Promise<SandboxInfo[]> {
  const out: SandboxInfo[] = [];
  const states: SandboxState[] = [];
  for (const dir of (await listStateDirs()).filter((d) => !isPoolEntry(d))) {
    const state = await readState(dir);
    if (state) states.push(state);
  }
  const docker = await listDockerObjects().catch(() => []);
  for (const state of states) {
    const engine = docker.find((o) => o.name === state.name);
    out.push({
      name: state.name,
      driver: state.driver,
      id: state.driver === 'docker' ? (engine?.container ?? '') : String(state.pid),
      command: state.command,
      createdAt: state.createdAt,
      running: state.driver === 'docker' ? !!engine?.running : isRunning({ pid: state.pid, start: state.pidStart }),
      orphaned: !isRunning(state.owner),
    });
  }
  // containers an older Sluice started, which have labels but no state file
  for (const o of docker.filter((o) => !isPoolEntry(o.name) && !states.some((s) => s.name === o.name))) {
    out.push({
      name: o.name,
      driver: 'docker',
      id: o.container ?? o.network ?? '',
      command: o.command ?? [],
      createdAt: o.createdAt ?? '',
      running: !!o.running,
      orphaned: !isRunning({ pid: o.ownerPid ?? 0, start: o.ownerStart }),
    });
  }
  return out;
}

/** Stops the command (SIGTERM, then SIGKILL after `graceMs`) and removes what it created. */
export async function stopSandbox(name: string, opts: { graceMs?: number } = {}): Promise<void> {
  const full = sandboxName(name);
  const state = await readState(full);
  if (!state) {
    const objects = await listDockerObjects(full).catch(() => []);
    if (objects.length === 0) throw new Error(`no sandbox named ${full}`);
    await removeDockerObjects(objects);
    return;
  }
  if (state.driver === 'bwrap') await terminate({ pid: state.pid, start: state.pidStart }, opts.graceMs ?? 5000);
  else await stopContainer(state.container ?? state.name, opts.graceMs ?? 5000);
  await removeSandbox(state);
}

async function stopContainer(id: string, graceMs: number): Promise<void> {
  await dockerClient()
    .getContainer(id)
    .stop({ t: Math.ceil(graceMs / 1000) })
    .catch(() => undefined);
}

/**
 * SIGTERM to CMD and everything under it (bwrap's init ignores it, as a namespace init does),
 * SIGKILL to whatever is left after the grace period, bwrap included.
 */
async function terminate(sandbox: { pid: number; start?: number }, graceMs: number): Promise<void> {
  if (!isRunning(sandbox)) return;
  // a sandbox still starting has no CMD yet: keep signalling processes as they appear
  const sent = new Set<number>();
  const deadline = Date.now() + graceMs;
  while (isRunning(sandbox) && Date.now() < deadline) {
    const fresh = descendants(sandbox.pid).filter((p) => !sent.has(p));
    fresh.forEach((p) => sent.add(p));
    killAll(fresh, 'SIGTERM');
    await new Promise((r) => setTimeout(r, 50));
  }
  if (isRunning(sandbox)) killAll([...descendants(sandbox.pid), sandbox.pid]);
}
export { HOST_TOOLS, explainSpawnError, findOnPath, hostTool, missingToolMessage, type HostTool } from './host-tools.js';
export { isRunning } from './owner.js';
export { installDirOf, type InstallDir } from './install-dir.js';
