import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { removeSandbox } from './cleanup.js';
import { dockerClient } from './docker-engine.js';
import { createDockerNetwork, type DockerNet } from './docker-network.js';
import { createSandboxNetwork, type SandboxNetwork } from './netns.js';
import { currentProcess } from './owner.js';
import { runCommand, type RunTool } from './run-command.js';
import { claimSandbox, POOL_PREFIX, recordState, removeStateDir, type SandboxState } from './sandbox-state.js';
import type { SandboxDriver } from './types.js';
import { createWarmPool, type WarmPool } from './warm-pool.js';

/**
 * Per-sandbox network resources a gateway makes ahead of demand: a bwrap network namespace with
 * its veth pair and addresses, a docker sandbox's internal bridge network. Neither depends on the
 * sandbox's policy (the firewall, which names the proxy's port, is still installed per sandbox).
 *
 * Each entry is recorded as a state of its own (`sluice-pool-…`, owned by the gateway) before it
 * is made, so clean-up removes it by the usual rules if the gateway dies (recovery, the reaper
 * of no sandbox, the next `sluice ps`). A sandbox that takes one lists it in its own state first
 * and only then drops the entry's state: at no point is it listed nowhere. An entry is handed
 * out once and goes with the sandbox that took it; none is ever given back.
 */
export interface NetworkPool {
  /** A warm namespace now listed by the taker (`record` is told its name), or undefined: make one. */
  takeNetns(record: (name: string) => Promise<void>): Promise<SandboxNetwork | undefined>;
  /** A warm docker network now listed by the taker (`record` is told it), or undefined: make one. */
  takeDockerNetwork(record: (net: DockerNet) => Promise<void>): Promise<DockerNet | undefined>;
  /** Makes entries of that driver's kind until `size` are ready, in the background. */
  fill(driver: SandboxDriver): void;
  /** How many are ready, per driver (tests, status). */
  ready(driver: SandboxDriver): number;
  /** Stops filling and removes every entry no sandbox took. */
  close(): Promise<void>;
}

export interface NetworkPoolOptions {
  /** Entries kept ready per driver; 0 turns the pool off. */
  size: number;
  /** ip and nft, through the gateway's tool runner */
  run?: RunTool;
  onError?(driver: SandboxDriver, err: unknown): void;
}

interface Entry<T> {
  state: SandboxState;
  value: T;
}

export const DEFAULT_POOL_SIZE = 2;

export function createNetworkPool(opts: NetworkPoolOptions): NetworkPool {
  const run = opts.run ?? runCommand;
  const onError = (driver: SandboxDriver) => (err: unknown) => opts.onError?.(driver, err);
  const destroy = async (entry: Entry<unknown>) => removeSandbox(entry.state);

  const netns = createWarmPool<Entry<SandboxNetwork>>({
    size: opts.size,
    make: () => recorded('bwrap', async (state) => createSandboxNetwork((n) => recordState(state, { network: n, firewallTables: n ? [n] : [] }), run)),
    destroy,
    onError: onError('bwrap'),
  });
  const docker = createWarmPool<Entry<DockerNet>>({
    size: opts.size,
    make: () =>
      recorded('docker', async (state) => {
        // the container field left empty: clean-up would otherwise look for one named like the entry
        await recordState(state, { dockerNetwork: state.name, container: '' });
        return createDockerNetwork(dockerClient(), state.name, currentProcess(), (bridge) => recordState(state, { firewallTables: bridge ? [bridge] : [] }));
      }),
    destroy,
    onError: onError('docker'),
  });
  const pools: Record<SandboxDriver, WarmPool<Entry<unknown>>> = { bwrap: netns, docker };

  return {
    async takeNetns(record) {
      const entry = netns.take();
      if (!entry) return undefined;
      // made by us, but a namespace is a file anyone with root can delete: only a present one is used
      if (!existsSync(entry.value.netnsPath)) {
        await destroy(entry).catch(onError('bwrap'));
        return undefined;
      }
      await handOver(entry, () => record(entry.value.name));
      return entry.value;
    },
    async takeDockerNetwork(record) {
      const entry = docker.take();
      if (!entry) return undefined;
      await handOver(entry, () => record(entry.value));
      return entry.value;
    },
    fill(driver) {
      // a network namespace needs root; without it bwrap uses its unix-socket network
      if (driver === 'bwrap' && process.getuid?.() !== 0) return;
      pools[driver].fill();
    },
    ready: (driver) => pools[driver].ready,
    async close() {
      await Promise.all([netns.close(), docker.close()]);
    },
  };
}

/** The entry's state is claimed before anything is made, and everything made is removed if a step fails. */
async function recorded<T>(driver: SandboxDriver, make: (state: SandboxState) => Promise<T>): Promise<Entry<T>> {
  const state = await claimSandbox({ driver, name: `${POOL_PREFIX}${randomBytes(4).toString('hex')}`, command: [] });
  try {
    return { state, value: await make(state) };
  } catch (err) {
    await removeSandbox(state).catch(() => undefined);
    throw err;
  }
}

/**
 * The taker lists the resource before the entry's own state goes. If the taker's record fails the
 * entry is removed whole: it was taken, so it is never handed to anyone else.
 */
async function handOver(entry: Entry<unknown>, record: () => Promise<void>): Promise<void> {
  try {
    await record();
  } catch (err) {
    await removeSandbox(entry.state).catch(() => undefined);
    throw err;
  }
  await removeStateDir(entry.state.name);
}
