import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { removeSandbox } from './cleanup.js';
import { dockerClient, hasImage } from './docker-engine.js';
import { createDockerNetwork, startNetHolder, type DockerNet } from './docker-network.js';
import { installFirewall } from './firewall.js';
import { BASE_IMAGE } from './image.js';
import { createSandboxNetwork, type SandboxNetwork } from './netns.js';
import { currentProcess } from './owner.js';
import { runCommand, type RunTool } from './run-command.js';
import { claimSandbox, POOL_PREFIX, recordState, removeStateDir, type SandboxState } from './sandbox-state.js';
import type { SandboxDriver } from './types.js';
import { createWarmPool, type WarmPool } from './warm-pool.js';

/**
 * Per-sandbox network resources a gateway makes ahead of demand: a bwrap network namespace with
 * its veth pair and addresses, a docker sandbox's internal bridge network, each with its firewall
 * already in place for a proxy port chosen now (`proxyPort`). None depends on the sandbox's
 * policy. The nft run is most of a warm start's saving: each commit waits for the kernel's
 * nftables lock, 150-400 ms on a host where other sandboxes come and go. The sandbox's listener
 * binds that port; if it cannot, the driver installs the firewall again for the port it got.
 *
 * Each entry is recorded as a state of its own (`sluice-pool-…`, owned by the gateway) before it
 * is made, so clean-up removes it by the usual rules if the gateway dies (recovery, the reaper
 * of no sandbox, the next `sluice ps`). A sandbox that takes one lists it in its own state first
 * and only then drops the entry's state: at no point is it listed nowhere. An entry is handed
 * out once and goes with the sandbox that took it; none is ever given back.
 */
export interface NetworkPool {
  /** A warm namespace now listed by the taker (`record` is told its name), or undefined: make one. */
  takeNetns(record: (name: string) => Promise<void>): Promise<Warm<SandboxNetwork> | undefined>;
  /** A warm docker network now listed by the taker (`record` is told it), or undefined: make one. */
  takeDockerNetwork(record: (net: DockerNet) => Promise<void>): Promise<Warm<DockerNet> | undefined>;
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

/** A warm network and the proxy port its firewall already lets through (on its host address). */
export type Warm<T> = T & { proxyPort: number };

interface Entry<T> {
  state: SandboxState;
  value: Warm<T>;
}

export const DEFAULT_POOL_SIZE = 2;

export function createNetworkPool(opts: NetworkPoolOptions): NetworkPool {
  const run = opts.run ?? runCommand;
  const onError = (driver: SandboxDriver) => (err: unknown) => opts.onError?.(driver, err);
  const destroy = async (entry: Entry<unknown>) => removeSandbox(entry.state, undefined, run);

  const netns = createWarmPool<Entry<SandboxNetwork>>({
    size: opts.size,
    make: () =>
      recorded('bwrap', async (state) => {
        const network = await createSandboxNetwork((n) => recordState(state, { network: n, firewallTables: n ? [n] : [] }), run);
        return { ...network, proxyPort: await guard(network.name, network.name, network.hostIp, run) };
      }),
    destroy,
    onError: onError('bwrap'),
  });
  const docker = createWarmPool<Entry<DockerNet>>({
    size: opts.size,
    make: () =>
      recorded('docker', async (state) => {
        // the holder container is named like the entry, so the entry's clean-up removes it first
        await recordState(state, { dockerNetwork: state.name, container: state.name });
        const engine = dockerClient();
        const owner = currentProcess();
        const made = await createDockerNetwork(engine, state.name, owner, (bridge) => recordState(state, { firewallTables: bridge ? [bridge] : [] }));
        const proxyPort = await guard(made.bridge, made.bridge, made.gateway, run);
        // with no base image (a host that runs only its own images) the network is warm without one
        const holder = (await hasImage(engine, BASE_IMAGE)) ? await startNetHolder(engine, made, state.name, BASE_IMAGE, owner) : undefined;
        return { ...made, proxyPort, ...(holder ? { holder } : {}) };
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
      // a holder stops with the engine (a dockerd restart) or by hand: only a running one is joined
      if (entry.value.holder && !(await holderRunning(entry.value.holder))) {
        await destroy(entry).catch(onError('docker'));
        return undefined;
      }
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

/**
 * Chooses the proxy port (one the kernel has free on that address now) and installs the firewall
 * that lets the sandbox reach only it: the same ruleset the driver would install at start.
 */
async function guard(table: string, iface: string, host: string, run: RunTool): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, host, resolve);
  });
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  await installFirewall({ table, iface, proxyHost: host, proxyPort: port }, run);
  return port;
}

/** The entry's state is claimed before anything is made, and everything made is removed if a step fails. */
async function recorded<T>(driver: SandboxDriver, make: (state: SandboxState) => Promise<Warm<T>>): Promise<Entry<T>> {
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

async function holderRunning(name: string): Promise<boolean> {
  const info = await dockerClient().getContainer(name).inspect().catch(() => undefined);
  return info?.State?.Running === true;
}
