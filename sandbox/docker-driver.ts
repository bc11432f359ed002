import path from 'node:path';
import type Docker from 'dockerode';
import { SluiceError } from '../core/index.js';
import { describeLimitEvents } from './cgroup.js';
import { removeSandbox } from './cleanup.js';
import { dockerClient, hasImage } from './docker-engine.js';
import { createDockerNetwork, type DockerNet } from './docker-network.js';
import { ownerLabels } from './docker-objects.js';
import { runningDocker, watchLimitEvents } from './docker-running.js';
import { dockerSeccompOption } from './docker-seccomp.js';
import { attachStdio } from './docker-stdio.js';
import { installFirewall } from './firewall.js';
import { nosuidBind } from './host-mounts.js';
import { BASE_IMAGE } from './image.js';
import { missingLibraryNote, watchLoaderErrors } from './loader-errors.js';
import { resolveLimits } from './limits.js';
import { policyMounts, requestedReadOnly } from './mount-policy.js';
import { currentProcess } from './owner.js';
import { startReaper } from './reaper.js';
import { createRelay, type Relay } from './relay.js';
import { IN_SANDBOX, sandboxEnv } from './sandbox-env.js';
import { writeSandboxFiles } from './sandbox-files.js';
import { claimSandbox, recordState } from './sandbox-state.js';
import { chooseSandboxUser, workdirAccess } from './sandbox-user.js';
import type { PreparedSandbox, RunningSandbox, SandboxSpec, StartOptions } from './types.js';
import { describeSymlinks, escapingSymlinks } from './workdir-links.js';
import { lendWorkdir, ownerOf } from './workdir-lend.js';

const MIB = 1024 * 1024;
const refuse = (reason: string) => new SluiceError('SLUICE_SANDBOX_REFUSED', reason, { reason });

/**
 * Root inside a container is the host's root unless the engine remaps users (userns-remap,
 * a daemon-wide setting Sluice does not change): only then may the policy ask for it.
 */
async function assertRootInsideIsSafe(docker: Docker): Promise<void> {
  const info = (await docker.info()) as { SecurityOptions?: string[] };
  if (!(info.SecurityOptions ?? []).some((o) => o.includes('name=userns'))) {
    throw refuse('process.root_inside needs a user namespace; this Docker engine does not remap users (userns-remap), so root in the container would be the host\'s root. Use the bwrap driver, or leave root_inside out');
  }
}

/** Only a 404 means the image is missing; anything else is the engine not answering. */
async function checkImage(docker: Docker, image: string): Promise<void> {
  let present: boolean;
  try {
    present = await hasImage(docker, image);
  } catch (err) {
    const reason = `no Docker engine answers (${(err as Error).message}): start dockerd (or \`systemctl start docker\`), or set DOCKER_HOST; \`sluice doctor\` checks the setup`;
    throw new SluiceError('SLUICE_SANDBOX_FAILED', reason, { reason }, { cause: err });
  }
  if (!present) throw refuse(`image ${image} not found: run \`sluice image build\` (or docker load/build your own)`);
}

export async function prepareDocker(spec: SandboxSpec, name: string): Promise<PreparedSandbox> {
  const docker = dockerClient();
  const image = spec.image ?? BASE_IMAGE;
  // The engine looks the image up while the sandbox is claimed and its network made or taken;
  // nothing is started before it has answered, and a missing image removes what was made.
  const imageChecked = checkImage(docker, image);
  imageChecked.catch(() => undefined);
  const workdir = spec.workdir && (spec.filesystem?.include_workdir ?? true) ? path.resolve(spec.workdir) : undefined;
  const user = await chooseSandboxUser({ driver: 'docker', process: spec.process, workdir });
  const notices: string[] = [];
  if (user.inside.uid === 0) {
    await assertRootInsideIsSafe(docker);
    notices.push("the command runs as root inside the container, as the policy asks; the engine's userns-remap maps it to an unprivileged host user");
  }
  const access = workdir ? await workdirAccess(workdir, user, { explicitUser: !!spec.process?.run_as_user }) : 'writable';
  const { limits } = resolveLimits(spec.limits);
  const mounts = policyMounts(spec.filesystem, { imageProvides: true });
  const requested = requestedReadOnly(spec.readOnlyMounts).filter((p) => !mounts.readOnly.includes(p));
  const owner = currentProcess();

  const state = await claimSandbox({ driver: 'docker', name, command: spec.command });
  // a gateway's sandboxes share its reaper, which they do not list (removing one must not stop it)
  const reaper = spec.reaper ? undefined : startReaper(name);
  let net: DockerNet | undefined;
  let started: RunningSandbox | undefined;
  const cleanup = async () => {
    await removeSandbox(state);
    reaper?.stop();
  };
  try {
    await recordState(state, { ...(reaper ? { reaper: reaper.identity } : {}), user: { uid: user.uid, gid: user.gid }, dockerNetwork: name, container: name });
    // the engine binds the workdir as root: only the tree is lent, not its ancestors
    if (access === 'lend' && workdir) notices.push(...(await lendWorkdir(state, workdir, user, { ancestors: false, owner: ownerOf(workdir) })));
    const [made, checked] = await Promise.allSettled([
      (async () =>
        (await spec.pool?.takeDockerNetwork((taken) => recordState(state, { dockerNetwork: taken.name, firewallTables: [taken.bridge], ...(taken.holder ? { netHolder: taken.holder } : {}) }))) ??
        (await createDockerNetwork(docker, name, owner, (bridge) => recordState(state, { firewallTables: bridge ? [bridge] : [] }))))(),
      imageChecked,
    ]);
    if (checked.status === 'rejected') throw checked.reason;
    if (made.status === 'rejected') throw made.reason;
    net = made.value;
  } catch (err) {
    await imageChecked.catch(() => undefined);
    await cleanup();
    throw err;
  }
  const network = net!;
  // a warm network's firewall names this port already (network-pool.ts)
  const warmPort = 'proxyPort' in network ? (network.proxyPort as number) : undefined;
  return {
    name,
    driver: 'docker',
    proxyListen: { host: network.gateway, ...(warmPort !== undefined ? { port: warmPort } : {}) },
    warnings: mounts.warnings,
    notices,
    async start(options: StartOptions = {}) {
      if (started) throw new Error(`sandbox ${name} already started`);
      const proxy = options.proxy ?? spec.proxy;
      if (!proxy) throw new Error('start(): no proxy endpoint given');
      let relay: Relay | undefined;
      try {
        if (proxy.host !== network.gateway) relay = await createRelay({ listen: { host: network.gateway }, target: proxy });
        const reachable = { host: network.gateway, port: relay?.port ?? proxy.port };
        // the firewall's nft run waits on the kernel while the files and binds are made; both
        // are settled before the container exists, and a failure throws only once both have
        const [firewall, prepared] = await Promise.allSettled([
          reachable.port === warmPort ? Promise.resolve() : installFirewall({ table: network.bridge, iface: network.bridge, proxyHost: reachable.host, proxyPort: reachable.port }, spec.tools?.run),
          (async () => {
            const made = await writeSandboxFiles(name, proxy.caCertPem);
            // writable host paths go in through nosuid,nodev binds of Sluice's own (host-mounts.ts)
            const binds: string[] = [];
            for (const p of [...mounts.readWrite, ...(workdir ? [workdir] : [])]) binds.push(`${await nosuidBind(state, p)}:${p}:rw`);
            return { made, binds };
          })(),
        ]);
        if (firewall.status === 'rejected') throw firewall.reason;
        if (prepared.status === 'rejected') throw prepared.reason;
        const { made: files, binds: writable } = prepared.value;
        const env = sandboxEnv({ proxy: { ...reachable, authToken: proxy.authToken }, name, user: { ...spec.env, ...options.env }, tty: spec.tty });
        const binds = [
          `${files.preloadPath}:${IN_SANDBOX.preload}:ro`,
          `${files.undiciDir}:${IN_SANDBOX.undici}:ro`,
          `${files.caPath}:${IN_SANDBOX.ca}:ro`,
          `${files.bundlePath}:${IN_SANDBOX.bundle}:ro`,
          `${files.resolvConfPath}:/etc/resolv.conf:ro`,
          ...[...mounts.readOnly, ...requested].map((p) => `${p}:${p}:ro`),
          ...writable,
        ];
        const tty = !!spec.tty && (options.stdio ?? 'inherit') === 'inherit' && !!process.stdin.isTTY;
        const container = await docker.createContainer({
          name,
          Image: image,
          Cmd: spec.command,
          Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
          User: `${user.inside.uid}:${user.inside.gid}`,
          WorkingDir: workdir ?? '/tmp',
          // joining a warm network's holder, the container has the holder's hostname and DNS
          ...(network.holder ? {} : { Hostname: 'sluice' }),
          Tty: tty,
          OpenStdin: true,
          StdinOnce: true,
          AttachStdin: true,
          AttachStdout: true,
          AttachStderr: true,
          Labels: ownerLabels(network.bridge, name, owner),
          HostConfig: {
            NetworkMode: network.holder ? `container:${network.holder}` : network.name,
            Binds: binds,
            CapDrop: ['ALL'],
            // Sluice's profile: Docker's default refusing what the bwrap filter refuses (docker-seccomp.ts)
            SecurityOpt: ['no-new-privileges', dockerSeccompOption()],
            ReadonlyRootfs: true,
            // exec: /tmp is HOME, where agents unpack and run their native parts (Copilot CLI); as under bwrap
            Tmpfs: { '/tmp': 'rw,exec,nosuid,nodev,size=512m', '/var/tmp': 'rw,nosuid,nodev', '/run': 'rw,nosuid,nodev' },
            // Docker's embedded DNS (127.0.0.11) forwards names it does not know to these
            // servers, and loopback ones from the host's namespace. The gateway is ours and the
            // firewall rejects port 53 there, so a query cannot leave through it.
            ...(network.holder ? {} : { Dns: [network.gateway] }),
            PidsLimit: limits.pids,
            Memory: limits.memoryMb * MIB,
            // memory + swap equal to memory: no swap beyond the limit
            MemorySwap: limits.memoryMb * MIB,
            NanoCpus: Math.round(limits.cpus * 1e9),
            Ulimits: [{ Name: 'nofile', Soft: limits.openFiles, Hard: limits.openFiles }],
            // tini as PID 1: forwards SIGTERM/SIGINT to CMD and reaps zombies, as a shell would;
            // the profile refuses ptrace of pid 1, so the command cannot stop it
            Init: true,
          },
        });
        const loader = watchLoaderErrors();
        const stdio = await attachStdio(container, { tty, mode: options.stdio ?? 'inherit', see: loader.see });
        const startedAt = Date.now();
        await container.start();
        // Asked once it runs, for a state, not a transition: a `next-exit` wait sent before the
        // start is a request of its own, which the engine may take after the start, and a fast
        // CMD (`true`) has then already made the exit it waits for: it never answered.
        const waited = container.wait({ condition: 'not-running' });
        const watcher = watchLimitEvents(container);
        const written = [...(workdir ? [workdir] : []), ...mounts.readWrite];
        started = runningDocker({
          name,
          container,
          reachable,
          stdio,
          waited,
          exitNotes: async () => {
            watcher.stop();
            const events = watcher.events();
            const inspected = await container.inspect().catch(() => undefined);
            if (inspected?.State?.OOMKilled && events.oomKills === 0) events.oomKills = 1;
            const missing = loader.missing();
            return [
              ...(missing ? [missingLibraryNote(missing, spec.command[0] ?? '', image)] : []),
              ...describeLimitEvents(events, limits),
              ...describeSymlinks(await escapingSymlinks(written, startedAt).catch(() => [])),
            ];
          },
          cleanup: async () => {
            watcher.stop();
            await relay?.close();
            await cleanup();
          },
        });
        return started;
      } catch (err) {
        await relay?.close();
        await cleanup();
        throw err;
      }
    },
    async remove() {
      if (started) await started.remove();
      else await cleanup();
    },
  };
}
