import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { prepareBwrap, type BwrapState } from './bwrap-driver.js';
import { listDockerSandboxes, prepareDocker, stopDockerSandbox } from './docker-driver.js';
import { removeFirewall } from './firewall.js';
import { removeSandboxNetwork } from './netns.js';
import { descendants, isAlive, isSandboxProcess } from './process-alive.js';
import { readStateFile, removeSandboxFiles, sluiceRunDir } from './sandbox-files.js';
import type { PreparedSandbox, SandboxInfo, SandboxSpec } from './types.js';

export type {
  PreparedSandbox,
  ProxyEndpoint,
  RunningSandbox,
  SandboxDriver,
  SandboxInfo,
  SandboxSpec,
  StartOptions,
  StdioMode,
} from './types.js';
export { buildBaseImage, BASE_IMAGE, type BuildImageOptions } from './image.js';
export { ensureDocker } from './docker-engine.js';
export { cleanupLeftovers } from './cleanup.js';
export { measureStartup, type StartupFigures } from './measure-startup.js';
export { compileSocketFilter } from './seccomp.js';
export { sandboxEnv, proxyUrl, IN_SANDBOX } from './sandbox-env.js';
export { attributeConnection, type Attribution, type AttributionOptions } from './process-attribution.js';

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;

/** Every sandbox name starts with `sluice-` so that `sluice ps` and clean-up can find it. */
export function sandboxName(requested?: string): string {
  const name = requested ? (requested.startsWith('sluice-') ? requested : `sluice-${requested}`) : `sluice-${randomBytes(4).toString('hex')}`;
  if (!NAME_RE.test(name)) throw new Error(`invalid sandbox name ${JSON.stringify(requested)}: letters, digits, _ . - only`);
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
  if (spec.driver === 'bwrap') return prepareBwrap(spec, name);
  if (spec.driver === 'docker') return prepareDocker(spec, name);
  throw new Error(`unknown sandbox driver ${String(spec.driver)}`);
}

export async function listSandboxes(): Promise<SandboxInfo[]> {
  const out: SandboxInfo[] = [];
  for (const state of await bwrapStates()) {
    out.push({
      name: state.name,
      driver: 'bwrap',
      id: String(state.pid),
      command: state.command,
      createdAt: state.createdAt,
      running: isAlive(state.pid),
    });
  }
  out.push(...(await listDockerSandboxes().catch(() => [])));
  return out;
}

/** Stops the command (SIGTERM, then SIGKILL after `graceMs`) and removes what it created. */
export async function stopSandbox(name: string, opts: { graceMs?: number } = {}): Promise<void> {
  const full = sandboxName(name);
  const state = await readStateFile<BwrapState>(full);
  if (state?.driver === 'bwrap') {
    await terminate(state.pid, opts.graceMs ?? 5000);
    if (state.network) {
      await removeFirewall(state.network);
      await removeSandboxNetwork(state.network);
    }
    await removeSandboxFiles(full);
    return;
  }
  const stopped = await stopDockerSandbox(full, opts.graceMs ?? 5000);
  if (!stopped) throw new Error(`no sandbox named ${full}`);
}

async function bwrapStates(): Promise<BwrapState[]> {
  let entries: string[];
  try {
    entries = await readdir(sluiceRunDir());
  } catch {
    return [];
  }
  const states: BwrapState[] = [];
  for (const entry of entries) {
    const state = await readStateFile<BwrapState>(entry);
    if (state?.driver === 'bwrap') states.push(state);
  }
  return states;
}

/**
 * SIGTERM to CMD and everything under it (bwrap's init ignores it, as a namespace init does),
 * SIGKILL to whatever is left after the grace period, bwrap included.
 */
async function terminate(pid: number, graceMs: number): Promise<void> {
  if (!isAlive(pid) || !isSandboxProcess(pid)) return;
  const signal = (pids: number[], sig: NodeJS.Signals) => {
    for (const p of pids) {
      try {
        process.kill(p, sig);
      } catch {
        // gone
      }
    }
  };
  // a sandbox still starting has no CMD yet: keep signalling processes as they appear
  const sent = new Set<number>();
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) {
    const fresh = descendants(pid).filter((p) => !sent.has(p));
    fresh.forEach((p) => sent.add(p));
    signal(fresh, 'SIGTERM');
    await new Promise((r) => setTimeout(r, 50));
  }
  signal([...descendants(pid), pid], 'SIGKILL');
}
export { HOST_TOOLS, explainSpawnError, findOnPath, hostTool, missingToolMessage, type HostTool } from './host-tools.js';
export { isAlive } from './process-alive.js';
