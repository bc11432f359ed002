import { randomInt } from 'node:crypto';
import { statSync } from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { dockerClient } from './docker-engine.js';
import { attachStdio, type AttachedStdio } from './docker-stdio.js';
import { installFirewall, removeFirewall } from './firewall.js';
import { BASE_IMAGE } from './image.js';
import { policyMounts } from './mount-policy.js';
import { createRelay, type Relay } from './relay.js';
import { IN_SANDBOX, sandboxEnv } from './sandbox-env.js';
import { removeSandboxFiles, writeSandboxFiles } from './sandbox-files.js';
import type { PreparedSandbox, RunningSandbox, SandboxInfo, SandboxSpec, StartOptions } from './types.js';

/** Labels let `sluice ps`, `stop` and clean-up find what Sluice created in a shared engine. */
export const LABEL = 'sluice.sandbox';
const LABEL_BRIDGE = 'sluice.bridge';
const LABEL_OWNER = 'sluice.owner-pid';
const SLOTS = 1 << 12; // /28 blocks in 10.201.0.0/16
const ATTEMPTS = 8;

interface DockerNet {
  network: Docker.Network;
  bridge: string;
  gateway: string;
}

/**
 * An `internal` bridge per sandbox (Docker gives it no route out and no masquerade), named and
 * addressed by Sluice so that the firewall can name its interface. The proxy listens on the
 * bridge's gateway address, the one host address the container can reach.
 */
async function createDockerNetwork(docker: Docker, name: string): Promise<DockerNet> {
  let lastError: unknown;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const slot = randomInt(1, SLOTS);
    const base = slot * 16;
    const prefix = `10.201.${base >> 8}.${base & 0xff}`;
    const gateway = `10.201.${base >> 8}.${(base & 0xff) + 1}`;
    const bridge = `sluice-b${slot.toString(16).padStart(3, '0')}`;
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
        Labels: { [LABEL]: name, [LABEL_BRIDGE]: bridge, [LABEL_OWNER]: String(process.pid) },
      });
      return { network, bridge, gateway };
    } catch (err) {
      lastError = err;
      // a name clash is the caller's problem; an overlapping pool means pick another slot
      if (/already exists/i.test((err as Error).message)) throw err;
    }
  }
  throw new Error(`could not create a sandbox network in 10.201.0.0/16 after ${ATTEMPTS} attempts`, { cause: lastError });
}

/** Non-root by default: the workdir's owner if that is not root, else nobody. */
function containerUser(spec: SandboxSpec): string {
  // the policy's symbolic `sandbox` is uid 1000 (the base image's user), numeric so that any image works
  const numeric = (id: string | undefined) => (id === 'sandbox' ? '1000' : id);
  const user = numeric(spec.process?.run_as_user);
  const group = numeric(spec.process?.run_as_group);
  if (user) return group ? `${user}:${group}` : user;
  if (spec.workdir) {
    const st = statSync(spec.workdir);
    if (st.uid !== 0) return `${st.uid}:${st.gid}`;
  }
  return '65534:65534';
}

export async function prepareDocker(spec: SandboxSpec, name: string): Promise<PreparedSandbox> {
  const docker = dockerClient();
  const image = spec.image ?? BASE_IMAGE;
  try {
    await docker.getImage(image).inspect();
  } catch (err) {
    // Only a 404 means the image is missing; anything else is the engine not answering.
    if ((err as { statusCode?: number }).statusCode !== 404) {
      throw new Error(`no Docker engine answers (${(err as Error).message}): start dockerd (or \`systemctl start docker\`), or set DOCKER_HOST; \`sluice doctor\` checks the setup`, { cause: err });
    }
    throw new Error(`image ${image} not found: run \`sluice image build\` (or docker load/build your own)`, { cause: err });
  }
  const mounts = policyMounts(spec.filesystem, { imageProvides: true });
  const net = await createDockerNetwork(docker, name);
  let started: RunningSandbox | undefined;
  const cleanup = async (container?: Docker.Container) => {
    await container?.remove({ force: true }).catch(() => undefined);
    await net.network.remove().catch(() => undefined);
    await removeFirewall(net.bridge);
    await removeSandboxFiles(name);
  };
  return {
    name,
    driver: 'docker',
    proxyListen: { host: net.gateway },
    warnings: mounts.warnings,
    async start(options: StartOptions = {}) {
      if (started) throw new Error(`sandbox ${name} already started`);
      const proxy = options.proxy ?? spec.proxy;
      if (!proxy) throw new Error('start(): no proxy endpoint given');
      let relay: Relay | undefined;
      let container: Docker.Container | undefined;
      try {
        if (proxy.host !== net.gateway) relay = await createRelay({ listen: { host: net.gateway }, target: proxy });
        const reachable = { host: net.gateway, port: relay?.port ?? proxy.port };
        await installFirewall({ table: net.bridge, iface: net.bridge, proxyHost: reachable.host, proxyPort: reachable.port });
        const files = await writeSandboxFiles(name, proxy.caCertPem);
        const env = sandboxEnv({ proxy: { ...reachable, authToken: proxy.authToken }, name, user: { ...spec.env, ...options.env }, tty: spec.tty });
        const workdir = spec.workdir && (spec.filesystem?.include_workdir ?? true) ? path.resolve(spec.workdir) : undefined;
        const binds = [
          `${files.preloadPath}:${IN_SANDBOX.preload}:ro`,
          `${files.undiciDir}:${IN_SANDBOX.undici}:ro`,
          `${files.caPath}:${IN_SANDBOX.ca}:ro`,
          `${files.bundlePath}:${IN_SANDBOX.bundle}:ro`,
          `${files.resolvConfPath}:/etc/resolv.conf:ro`,
          ...mounts.readOnly.map((p) => `${p}:${p}:ro`),
          ...mounts.readWrite.map((p) => `${p}:${p}:rw`),
          ...(workdir ? [`${workdir}:${workdir}:rw`] : []),
        ];
        const limits = spec.limits ?? {};
        const tty = !!spec.tty && (options.stdio ?? 'inherit') === 'inherit' && !!process.stdin.isTTY;
        container = await docker.createContainer({
          name,
          Image: image,
          Cmd: spec.command,
          Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
          User: containerUser(spec),
          WorkingDir: workdir ?? '/tmp',
          Hostname: 'sluice',
          Tty: tty,
          OpenStdin: true,
          StdinOnce: true,
          AttachStdin: true,
          AttachStdout: true,
          AttachStderr: true,
          Labels: { [LABEL]: name, [LABEL_BRIDGE]: net.bridge, [LABEL_OWNER]: String(process.pid) },
          HostConfig: {
            NetworkMode: name,
            Binds: binds,
            CapDrop: ['ALL'],
            SecurityOpt: ['no-new-privileges'],
            ReadonlyRootfs: true,
            Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=512m', '/var/tmp': 'rw,nosuid,nodev', '/run': 'rw,nosuid,nodev' },
            // Docker's embedded DNS (127.0.0.11) forwards names it does not know to these
            // servers, and loopback ones from the host's namespace. The gateway is ours and the
            // firewall rejects port 53 there, so a query cannot leave through it.
            Dns: [net.gateway],
            PidsLimit: limits.pids ?? 1024,
            ...(limits.memoryMb ? { Memory: limits.memoryMb * 1024 * 1024 } : {}),
            ...(limits.cpus ? { NanoCpus: Math.round(limits.cpus * 1e9) } : {}),
            // tini as PID 1: forwards SIGTERM/SIGINT to CMD and reaps zombies, as a shell would
            Init: true,
          },
        });
        const stdio = await attachStdio(container, { tty, mode: options.stdio ?? 'inherit' });
        const waited = container.wait({ condition: 'next-exit' });
        await container.start();
        started = runningDocker({ name, container, reachable, stdio, waited, cleanup: async () => {
          await relay?.close();
          await cleanup(container);
        } });
        return started;
      } catch (err) {
        await relay?.close();
        await cleanup(container);
        throw err;
      }
    },
    async remove() {
      if (started) await started.remove();
      else await cleanup();
    },
  };
}

function runningDocker(opts: {
  name: string;
  container: Docker.Container;
  reachable: { host: string; port: number };
  stdio: AttachedStdio;
  waited: Promise<{ StatusCode: number }>;
  cleanup: () => Promise<void>;
}): RunningSandbox {
  // The exit code is final only once the output stream has drained, or the last lines are lost.
  // Docker does not always end a hijacked attach stream when the container exits (stdin still
  // open): give it a moment, then close it ourselves.
  const exited = opts.waited.then(
    async (result) => {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, 2000);
      });
      await Promise.race([opts.stdio.ended, grace]);
      clearTimeout(timer);
      opts.stdio.detach();
      return result.StatusCode;
    },
    () => 125,
  );
  let removed: Promise<void> | undefined;
  return {
    name: opts.name,
    driver: 'docker',
    proxyAddress: opts.reachable,
    stdin: opts.stdio.stdin,
    stdout: opts.stdio.stdout,
    stderr: opts.stdio.stderr,
    wait: () => exited,
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      opts.container.kill({ signal }).catch(() => undefined);
    },
    remove() {
      removed ??= (async () => {
        opts.stdio.detach();
        await opts.cleanup();
      })();
      return removed;
    },
  };
}

export async function listDockerSandboxes(): Promise<SandboxInfo[]> {
  const docker = dockerClient();
  const containers = await docker.listContainers({ all: true, filters: { label: [LABEL] } });
  return containers.map((c) => ({
    name: c.Labels[LABEL] ?? c.Names[0]?.replace(/^\//, '') ?? c.Id,
    driver: 'docker' as const,
    id: c.Id,
    command: c.Command ? [c.Command] : [],
    createdAt: new Date(c.Created * 1000).toISOString(),
    running: c.State === 'running',
  }));
}

/** Stops and removes a docker sandbox with its network and firewall. False if none exists. */
export async function stopDockerSandbox(name: string, graceMs: number): Promise<boolean> {
  const docker = dockerClient();
  let found = false;
  const containers = await docker.listContainers({ all: true, filters: { label: [`${LABEL}=${name}`] } });
  for (const c of containers) {
    found = true;
    const container = docker.getContainer(c.Id);
    await container.stop({ t: Math.ceil(graceMs / 1000) }).catch(() => undefined);
    await container.remove({ force: true }).catch(() => undefined);
  }
  const networks = await docker.listNetworks({ filters: { label: [`${LABEL}=${name}`] } });
  for (const n of networks) {
    found = true;
    await docker.getNetwork(n.Id).remove().catch(() => undefined);
    const bridge = n.Labels?.[LABEL_BRIDGE];
    if (bridge) await removeFirewall(bridge);
  }
  await removeSandboxFiles(name);
  return found;
}
