import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SluiceError } from '../core/index.js';
import { bwrapArgs } from './bwrap-args.js';
import { createBwrapNetwork, type BwrapNetwork, type BwrapNetworkMode } from './bwrap-network.js';
import { runningBwrap } from './bwrap-running.js';
import { createCgroup, describeLimitEvents, type SandboxCgroup } from './cgroup.js';
import { removeSandbox } from './cleanup.js';
import { inheritedDescriptors, launcherArgv } from './launcher.js';
import { formatMb, hardOpenFilesLimit, resolveLimits, type SandboxLimits } from './limits.js';
import { policyMounts, requestedReadOnly } from './mount-policy.js';
import { processStart } from './owner.js';
import { startReaper } from './reaper.js';
import { sandboxEnv } from './sandbox-env.js';
import { writeSandboxFiles } from './sandbox-files.js';
import { claimSandbox, recordState } from './sandbox-state.js';
import { chooseSandboxUser, workdirAccess, type SandboxUser } from './sandbox-user.js';
import { compileSeccompFilter } from './seccomp.js';
import type { PreparedSandbox, RunningSandbox, SandboxSpec, StartOptions } from './types.js';
import { describeSymlinks, escapingSymlinks } from './workdir-links.js';
import { lendWorkdir, ownerOf } from './workdir-lend.js';

const SECCOMP_FD = 3;
const INFO_FD = 4;
const MIB = 1024 * 1024;

const refuse = (reason: string) => new SluiceError('SLUICE_SANDBOX_REFUSED', reason, { reason });

export async function prepareBwrap(spec: SandboxSpec, name: string): Promise<PreparedSandbox> {
  const root = process.getuid?.() === 0;
  const mode: BwrapNetworkMode = spec.bwrapNetwork ?? (root ? 'veth' : 'unix-socket');
  if (mode === 'veth' && !root) {
    throw refuse('bwrap with a veth network needs root (nftables, network namespaces); without root use the unix-socket network');
  }
  const includeWorkdir = spec.filesystem?.include_workdir ?? true;
  const workdir = spec.workdir && includeWorkdir ? path.resolve(spec.workdir) : undefined;
  const user = await chooseSandboxUser({ driver: 'bwrap', process: spec.process, workdir });
  const access = workdir ? await workdirAccess(workdir, user, { explicitUser: !!spec.process?.run_as_user }) : 'writable';
  const { limits, notices } = bwrapLimits(spec, root);
  if (user.inside.uid === 0) {
    notices.push(`the command runs as root inside the sandbox's user namespace, as the policy asks; on the host it is uid ${user.uid} (${user.reason}) with no capabilities, not root`);
  }
  const mounts = policyMounts(spec.filesystem);
  const requested = requestedReadOnly(spec.readOnlyMounts);

  const state = await claimSandbox({ driver: 'bwrap', name, command: spec.command });
  let network: BwrapNetwork | undefined;
  let started: RunningSandbox | undefined;
  // a gateway's sandboxes share its reaper, which they do not list (removing one must not stop it)
  const reaper = spec.reaper ? undefined : startReaper(name);
  const cleanup = async () => {
    if (network) {
      await network.remove();
      // gone already: the state file keeps them listed until it goes too, in case we die here
      Object.assign(state, { network: '', firewallTables: [] });
    }
    await removeSandbox(state);
    reaper?.stop();
  };
  try {
    await recordState(state, { ...(reaper ? { reaper: reaper.identity } : {}), user: { uid: user.uid, gid: user.gid } });
    if (access === 'lend' && workdir) notices.push(...(await lendWorkdir(state, workdir, user, { ancestors: true, owner: ownerOf(workdir) })));
    network = await createBwrapNetwork(mode, (n) => recordState(state, { network: n, firewallTables: n ? [n] : [] }), spec.tools?.run, spec.pool);
  } catch (err) {
    await cleanup();
    throw err;
  }
  const net = network;
  return {
    name,
    driver: 'bwrap',
    proxyListen: net.proxyListen,
    warnings: mounts.warnings,
    notices,
    async start(options: StartOptions = {}) {
      if (started) throw new Error(`sandbox ${name} already started`);
      const proxy = options.proxy ?? spec.proxy;
      if (!proxy) throw new Error('start(): no proxy endpoint given');
      let cgroup: SandboxCgroup | undefined;
      const joinCgroup = async () => {
        await recordState(state, { cgroup: name });
        return createCgroup(name, limits).catch(async (err: Error) => {
          // a cgroup of that name already there is not ours to remove
          if ((err.cause as NodeJS.ErrnoException | undefined)?.code === 'EEXIST') await recordState(state, { cgroup: undefined });
          throw err;
        });
      };
      try {
        // Independent steps side by side: the firewall's nft run waits on the kernel while the
        // files and the cgroup are written. Each is settled before anything else happens, so a
        // failure never leaves one still being made while clean-up runs.
        const filesMade = writeSandboxFiles(name, proxy.caCertPem);
        const [files, connection, madeCgroup] = await allOrFirstError([
          filesMade.then(async (f) => {
            await writeFile(path.join(f.dir, 'seccomp.bpf'), compileSeccompFilter());
            return f;
          }),
          net.connect({ host: proxy.host, port: proxy.port }, async () => (await filesMade).dir),
          root ? joinCgroup() : Promise.resolve(undefined),
        ] as const);
        cgroup = madeCgroup;
        const seccompPath = path.join(files.dir, 'seccomp.bpf');
        const env = sandboxEnv({ proxy: { ...connection.inside, authToken: proxy.authToken }, name, user: { ...spec.env, ...options.env }, tty: spec.tty });
        const args = bwrapArgs({
          env,
          files,
          command: connection.wrapCommand(spec.command),
          workdir,
          includeWorkdir,
          readOnly: [...mounts.readOnly, ...requested.filter((p) => !mounts.readOnly.includes(p))],
          readWrite: mounts.readWrite,
          extra: connection.bwrapArgs,
          tty: !!spec.tty,
          seccompFd: SECCOMP_FD,
          infoFd: INFO_FD,
          inside: insideIds(user),
          tmpfsBytes: limits.memoryMb * MIB,
        });
        // as root, bwrap itself runs as the sandbox's user: its user namespace then maps that
        // user, never the host's root, and every file the command creates is that user's
        const argv = [
          ...launcherArgv({ openFiles: limits.openFiles, procsFiles: cgroup?.procsFiles ?? [] }),
          ...connection.argvPrefix(root ? { uid: user.uid, gid: user.gid } : undefined),
          findExecutable('bwrap'),
          ...args,
        ];
        const stdio = options.stdio ?? 'inherit';
        const seccompFd = openSync(seccompPath, 'r');
        const devNull = openSync('/dev/null', 'r');
        const [file, ...rest] = argv as [string, ...string[]];
        const startedAt = Date.now();
        let child;
        try {
          const fds: Array<'inherit' | 'pipe' | 'ignore' | number> = [stdio, stdio, stdio, seccompFd, 'pipe'];
          // whatever this process inherited without close-on-exec is /dev/null in the sandbox
          for (const fd of inheritedDescriptors(INFO_FD + 1)) {
            while (fds.length < fd) fds.push('ignore');
            fds[fd] = devNull;
          }
          child = spawn(file, rest, { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, stdio: fds });
        } finally {
          closeSync(seccompFd);
          closeSync(devNull);
        }
        const pid = child.pid ?? 0;
        // read at once: the start is read now, while the pid is surely this child's
        const pidStart = processStart(pid);
        const written = [...(workdir ? [workdir] : []), ...mounts.readWrite];
        const sandboxCgroup = cgroup;
        started = runningBwrap({
          name,
          child,
          infoFd: INFO_FD,
          reachable: connection.inside,
          exitNotes: async () => [
            ...(sandboxCgroup ? describeLimitEvents(await sandboxCgroup.events(), limits) : []),
            ...describeSymlinks(await escapingSymlinks(written, startedAt).catch(() => [])),
          ],
          cleanup,
        });
        // Only once its output is taken (runningBwrap, synchronously after the spawn): a CMD as fast
        // as `echo` can exit during this await, and Node drains the pipes of an exited child that no
        // one reads (the start-up test lost its probe line once the launcher lost an exec).
        await recordState(state, { pid, pidStart });
        return started;
      } catch (err) {
        // a command already running goes with everything else
        if (started) await started.remove();
        else await cleanup();
        throw err;
      }
    },
    async remove() {
      if (started) await started.remove();
      else await cleanup();
    },
  };
}

/** Like Promise.all, but waits for every step to settle before throwing the first failure. */
async function allOrFirstError<T extends readonly unknown[]>(steps: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(steps);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** The user namespace maps the sandbox's host ids to themselves, or to 0 for root inside. */
function insideIds(user: SandboxUser): { uid: number; gid: number } | undefined {
  return user.inside.uid !== user.uid || user.inside.gid !== user.gid ? user.inside : undefined;
}

/**
 * Limits without root: cgroups need root (or a delegated subtree), so only the open-files
 * limit applies, capped at this process's own hard limit; an explicit limit that cannot be
 * enforced refuses the sandbox rather than being dropped in silence.
 */
function bwrapLimits(spec: SandboxSpec, root: boolean): { limits: SandboxLimits; notices: string[] } {
  const { limits, explicit } = resolveLimits(spec.limits);
  if (root) return { limits, notices: [] };
  const needRoot = explicit.filter((k) => k !== 'openFiles');
  if (needRoot.length > 0) throw refuse(`process limits ${needRoot.join(', ')} need cgroups, which need root: run Sluice as root or remove them from the policy`);
  const hard = hardOpenFilesLimit();
  if (limits.openFiles > hard) {
    if (explicit.includes('openFiles')) throw refuse(`limits.open_files ${limits.openFiles} is above this user's hard limit (${hard})`);
    limits.openFiles = hard;
  }
  return {
    limits,
    notices: [`without root only the open-files limit (${limits.openFiles}) applies; the process, memory (${formatMb(limits.memoryMb)}) and CPU limits need cgroups, which need root`],
  };
}

/** Resolved on the host's PATH: the sandbox's own PATH is what nsenter sees. */
function findExecutable(name: string): string {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    const candidate = path.join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  throw refuse(`${name} not found on PATH (install bubblewrap)`);
}

