import { randomInt } from 'node:crypto';
import type Docker from 'dockerode';
import { dockerSeccompOption } from './docker-seccomp.js';
import { ownerLabels } from './docker-objects.js';
import type { ProcessIdentity } from './owner.js';

const SLOTS = 1 << 12; // /28 blocks in 10.201.0.0/16
const ATTEMPTS = 8;

export interface DockerNet {
  /** the network's name: the sandbox's, or a warm pool entry's (network-pool.ts) */
  name: string;
  network: Docker.Network;
  bridge: string;
  gateway: string;
  /**
   * A warm network's holder: a container kept idle on it, whose network namespace the sandbox's
   * container joins (`container:` mode) instead of being attached to the network itself.
   */
  holder?: string;
}

/**
 * An `internal` bridge per sandbox (Docker gives it no route out and no masquerade), named and
 * addressed by Sluice so that the firewall can name its interface. The proxy listens on the
 * bridge's gateway address, the one host address the container can reach. `record` is told the
 * bridge name before the network is created, for the sandbox's state.
 */
export async function createDockerNetwork(
  docker: Docker,
  name: string,
  owner: ProcessIdentity,
  record: (bridge: string) => Promise<void>,
): Promise<DockerNet> {
  let lastError: unknown;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const slot = randomInt(1, SLOTS);
    const base = slot * 16;
    const prefix = `10.201.${base >> 8}.${base & 0xff}`;
    const gateway = `10.201.${base >> 8}.${(base & 0xff) + 1}`;
    const bridge = `sluice-b${slot.toString(16).padStart(3, '0')}`;
    await record(bridge);
    try {
      const network = await docker.createNetwork({
        Name: name,
        Driver: 'bridge',
        Internal: true,
        CheckDuplicate: true,
        IPAM: { Driver: 'default', Config: [{ Subnet: `${prefix}/28`, Gateway: gateway }] },
        Options: {
          'com.docker.network.bridge.name': bridge,
          'com.docker.network.bridge.enable_icc': 'false',
          'com.docker.network.bridge.enable_ip_masquerade': 'false',
        },
        Labels: ownerLabels(bridge, name, owner),
      });
      return { name, network, bridge, gateway };
    } catch (err) {
      lastError = err;
      await record('');
      // a name clash is the caller's problem; an overlapping pool means pick another slot
      if (/already exists/i.test((err as Error).message)) throw err;
    }
  }
  throw new Error(`could not create a sandbox network in 10.201.0.0/16 after ${ATTEMPTS} attempts`, { cause: lastError });
}

/**
 * Starts the idle container a warm network keeps on itself (named `name`). Joining its network
 * namespace is most of what a warm docker start saves: the engine then makes no veth, no
 * endpoint and no embedded-DNS rules for the sandbox (`sluice run -- true` on a gateway at a
 * load of 14: median 1,581 ms joined against 2,734 ms attached, ten alternating pairs). What
 * the sandbox must see of its network is set here, where the engine allows it for both (a
 * joining container may not set its own hostname or DNS). It runs as nobody with nothing: no
 * capabilities, no writable file, Sluice's seccomp profile, a 4-process limit.
 */
export async function startNetHolder(docker: Docker, net: DockerNet, name: string, image: string, owner: ProcessIdentity): Promise<string> {
  const container = await docker.createContainer({
    name,
    Image: image,
    Entrypoint: ['sleep'],
    Cmd: ['infinity'],
    User: '65534:65534',
    Hostname: 'sluice',
    Labels: ownerLabels(net.bridge, name, owner),
    HostConfig: {
      NetworkMode: net.name,
      // Docker's embedded DNS forwards to the gateway address, where the firewall rejects port 53
      Dns: [net.gateway],
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges', dockerSeccompOption()],
      ReadonlyRootfs: true,
      PidsLimit: 4,
      Memory: 16 * 1024 * 1024,
      MemorySwap: 16 * 1024 * 1024,
    },
  });
  await container.start();
  return name;
}
