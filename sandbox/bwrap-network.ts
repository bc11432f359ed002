import { chmod } from 'node:fs/promises';
import path from 'node:path';
import { installFirewall, removeFirewall } from './firewall.js';
import { createSandboxNetwork, removeSandboxNetwork } from './netns.js';
import type { NetworkPool } from './network-pool.js';
import { createRelay, type Relay } from './relay.js';
import { runCommand, type RunTool } from './run-command.js';
import { IN_SANDBOX } from './sandbox-env.js';
import { preloadSourcePath } from './sandbox-files.js';

/**
 * How a bwrap sandbox reaches the proxy, and nothing else.
 *
 * - `veth` (root): a network namespace joined to the host by a veth pair; nftables accepts only
 *   TCP to the proxy's address and port from it. CMD runs under `nsenter --net`.
 * - `unix-socket` (no root needed): bwrap's own empty network namespace (loopback only); a
 *   bridge process inside listens on 127.0.0.1 and relays through a unix socket bound in from
 *   the host to the proxy. With no interface but loopback there is nothing to firewall.
 */
export type BwrapNetworkMode = 'veth' | 'unix-socket';

export interface BwrapConnection {
  /** what the sandbox's proxy variables point at */
  inside: { host: string; port: number };
  /**
   * What runs before bwrap on the host; `drop` (as root) is the unprivileged user bwrap itself
   * must run as. In a veth namespace nsenter switches user as it enters (groups cleared, then
   * gid, then uid), which spares the launcher an exec of setpriv on every start.
   */
  argvPrefix(drop?: { uid: number; gid: number }): string[];
  bwrapArgs: string[];
  wrapCommand(command: string[]): string[];
}

export interface BwrapNetwork {
  readonly mode: BwrapNetworkMode;
  /** netns / nft table name, or '' when there is none to clean up */
  readonly resourceName: string;
  /** `port`: the one a warm network's firewall already lets through (network-pool.ts), if any */
  readonly proxyListen: { host: string; port?: number };
  /** `stateDir` is asked for only by the mode that binds a socket there. */
  connect(proxy: { host: string; port: number }, stateDir: () => Promise<string>): Promise<BwrapConnection>;
  remove(): Promise<void>;
}

const BRIDGE_PORT = 3128;
const BRIDGE_SOCKET = `${IN_SANDBOX.dir}/proxy.sock`;
const BRIDGE_SCRIPT = `${IN_SANDBOX.dir}/netbridge.mjs`;

/**
 * `record` is told the netns name before it is created (see createSandboxNetwork), or before a
 * warm one from `pool` becomes this sandbox's.
 */
export async function createBwrapNetwork(mode: BwrapNetworkMode, record: (name: string) => Promise<void>, run: RunTool = runCommand, pool?: NetworkPool): Promise<BwrapNetwork> {
  return mode === 'veth' ? vethNetwork(record, run, pool) : socketNetwork();
}

async function vethNetwork(record: (name: string) => Promise<void>, run: RunTool, pool: NetworkPool | undefined): Promise<BwrapNetwork> {
  const warm = await pool?.takeNetns(record);
  const network = warm ?? (await createSandboxNetwork(record, run));
  let relay: Relay | undefined;
  return {
    mode: 'veth',
    resourceName: network.name,
    proxyListen: { host: network.hostIp, ...(warm ? { port: warm.proxyPort } : {}) },
    async connect(proxy) {
      if (proxy.host !== network.hostIp) relay = await createRelay({ listen: { host: network.hostIp }, target: proxy });
      const inside = { host: network.hostIp, port: relay?.port ?? proxy.port };
      // a warm network's firewall names its port already: installed again (replaced) for any other
      if (inside.port !== warm?.proxyPort) {
        await installFirewall({ table: network.name, iface: network.name, proxyHost: inside.host, proxyPort: inside.port }, run);
      }
      return {
        inside,
        argvPrefix: (drop) => ['/usr/bin/nsenter', `--net=${network.netnsPath}`, ...(drop ? [`--setgid=${drop.gid}`, `--setuid=${drop.uid}`] : []), '--'],
        bwrapArgs: [],
        wrapCommand: (command) => command,
      };
    },
    async remove() {
      await relay?.close();
      await removeFirewall(network.name, run);
      await removeSandboxNetwork(network.name, run);
    },
  };
}

async function socketNetwork(): Promise<BwrapNetwork> {
  let relay: Relay | undefined;
  const node = process.execPath;
  return {
    mode: 'unix-socket',
    resourceName: '',
    proxyListen: { host: '127.0.0.1' },
    async connect(proxy, stateDir) {
      const socketPath = path.join(await stateDir(), 'proxy.sock');
      relay = await createRelay({ listen: { path: socketPath }, target: proxy });
      // the command may run as another user than the one that created the socket
      await chmod(socketPath, 0o666);
      const bridge = path.join(path.dirname(preloadSourcePath()), 'netbridge.mjs');
      return {
        inside: { host: '127.0.0.1', port: BRIDGE_PORT },
        argvPrefix: (drop) => (drop ? setprivArgv(drop) : []),
        bwrapArgs: [
          '--unshare-net',
          '--ro-bind', socketPath, BRIDGE_SOCKET,
          '--ro-bind', bridge, BRIDGE_SCRIPT,
          // the host's node, wherever it lives (nvm, /opt…), runs the bridge
          ...(node.startsWith('/usr/') ? [] : ['--ro-bind', node, node]),
        ],
        wrapCommand: (command) => [node, BRIDGE_SCRIPT, String(BRIDGE_PORT), BRIDGE_SOCKET, '--', ...command],
      };
    },
    async remove() {
      await relay?.close();
    },
  };
}

function setprivArgv(drop: { uid: number; gid: number }): string[] {
  return ['/usr/bin/setpriv', `--reuid=${drop.uid}`, `--regid=${drop.gid}`, '--clear-groups', '--'];
}
