import type Docker from 'dockerode';
import { dockerClient, engineGet, engineSocketPath, ping } from './docker-engine.js';

/** Labels let `sluice ps`, `stop` and clean-up find what Sluice created in a shared engine. */
export const LABEL = 'sluice.sandbox';
export const LABEL_BRIDGE = 'sluice.bridge';
/** read by Sluice before version 2 too: its clean-up keeps a sandbox while this pid lives */
export const LABEL_OWNER_PID = 'sluice.owner-pid';
export const LABEL_OWNER_START = 'sluice.owner-start';

/** A docker sandbox as the engine knows it: its container and network, by sandbox name. */
export interface DockerObject {
  name: string;
  container?: string;
  network?: string;
  bridge?: string;
  ownerPid?: number;
  ownerStart?: number;
  running?: boolean;
  createdAt?: string;
  command?: string[];
}

export function ownerLabels(bridge: string, name: string, owner: { pid: number; start: number }): Record<string, string> {
  return { [LABEL]: name, [LABEL_BRIDGE]: bridge, [LABEL_OWNER_PID]: String(owner.pid), [LABEL_OWNER_START]: String(owner.start) };
}

const numberLabel = (labels: Record<string, string> | undefined, key: string) => {
  const n = Number(labels?.[key]);
  return Number.isFinite(n) && labels?.[key] !== undefined ? n : undefined;
};

/** Every Sluice container and network in the engine; none when no engine answers. */
export async function listDockerObjects(filterName?: string): Promise<DockerObject[]> {
  const label = filterName ? `${LABEL}=${filterName}` : LABEL;
  const listed = await listLabelled(label);
  if (!listed) return [];
  const byName = new Map<string, DockerObject>();
  const entry = (name: string) => byName.get(name) ?? byName.set(name, { name }).get(name)!;
  for (const c of listed.containers) {
    const labels = c.Labels ?? {};
    const o = entry(labels[LABEL] ?? c.Id);
    Object.assign(o, {
      container: c.Id,
      bridge: labels[LABEL_BRIDGE] ?? o.bridge,
      ownerPid: numberLabel(labels, LABEL_OWNER_PID),
      ownerStart: numberLabel(labels, LABEL_OWNER_START),
      running: c.State === 'running',
      createdAt: new Date(c.Created * 1000).toISOString(),
      command: c.Command ? [c.Command] : [],
    });
  }
  for (const n of listed.networks) {
    const o = entry(n.Labels?.[LABEL] ?? n.Name);
    o.network = n.Id;
    o.bridge ??= n.Labels?.[LABEL_BRIDGE];
    o.ownerPid ??= numberLabel(n.Labels, LABEL_OWNER_PID);
    o.ownerStart ??= numberLabel(n.Labels, LABEL_OWNER_START);
  }
  return [...byName.values()];
}

/**
 * Containers (running or not) and networks carrying `label`; undefined when no engine answers. Over
 * the unix socket with two GETs (engineGet); through dockerode only for the transports it alone speaks.
 */
async function listLabelled(label: string): Promise<{ containers: Docker.ContainerInfo[]; networks: Docker.NetworkInspectInfo[] } | undefined> {
  const socket = engineSocketPath();
  if (socket === undefined) {
    const docker = dockerClient();
    if (!(await ping(docker))) return undefined;
    const filters = { label: [label] };
    return { containers: await docker.listContainers({ all: true, filters }), networks: await docker.listNetworks({ filters }) };
  }
  const filters = encodeURIComponent(JSON.stringify({ label: [label] }));
  const containers = await engineGet(socket, `/containers/json?all=1&filters=${filters}`);
  if (containers === undefined) return undefined;
  const networks = await engineGet(socket, `/networks?filters=${filters}`);
  if (networks === undefined) return undefined;
  if (!Array.isArray(containers) || !Array.isArray(networks)) throw new Error('the Docker engine listed its containers or networks as something other than a list');
  return { containers: containers as Docker.ContainerInfo[], networks: networks as Docker.NetworkInspectInfo[] };
}

/**
 * Removes containers (forcibly: a running one is killed) and networks. Missing ones are fine, and so
 * is one another Sluice is removing at the same moment (every Sluice cleans up orphans, `sluice ps`
 * and `sluice run` alike): the engine answers 409 "removal … is already in progress", and this waits
 * until it is gone, so that what comes after (the network, the workdir's ACL entries, the mounts) is
 * not skipped.
 */
export async function removeDockerObjects(objects: Array<Pick<DockerObject, 'container' | 'network'>>): Promise<void> {
  const docker = dockerClient();
  for (const o of objects) {
    if (o.container) await removeUntilGone(() => docker.getContainer(o.container!).remove({ force: true }));
    if (o.network) await removeUntilGone(() => docker.getNetwork(o.network!).remove());
  }
}

/** How long a removal someone else started is waited for. */
const REMOVAL_WAIT_MS = 30_000;
const REMOVAL_POLL_MS = 100;

async function removeUntilGone(remove: () => Promise<unknown>): Promise<void> {
  const until = Date.now() + REMOVAL_WAIT_MS;
  for (;;) {
    try {
      await remove();
      return;
    } catch (err) {
      const status = (err as { statusCode?: number }).statusCode;
      if (status === 404) return;
      // Another remover's container still holds the network for a moment after its removal began.
      const busy = (status === 409 && /already in progress/i.test(String((err as Error).message))) || /active endpoints/i.test(String((err as Error).message));
      if (!busy || Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, REMOVAL_POLL_MS));
    }
  }
}
