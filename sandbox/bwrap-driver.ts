import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { bwrapArgs } from './bwrap-args.js';
import { cgroupLauncher, createCgroup, hasLimits, type SandboxCgroup } from './cgroup.js';
import { createBwrapNetwork, type BwrapNetworkMode } from './bwrap-network.js';
import { resolveHostUser } from './host-user.js';
import { policyMounts } from './mount-policy.js';
import { descendants } from './process-alive.js';
import { sandboxEnv } from './sandbox-env.js';
import { removeSandboxFiles, writeSandboxFiles, writeStateFile } from './sandbox-files.js';
import { compileSocketFilter } from './seccomp.js';
import type { PreparedSandbox, RunningSandbox, SandboxSpec, StartOptions } from './types.js';

/** What `sluice ps`/`stop` and leftover clean-up need to find a bwrap sandbox again. */
export interface BwrapState {
  driver: 'bwrap';
  name: string;
  /** netns and nft table name; '' for the unix-socket network */
  network: string;
  pid: number;
  ownerPid: number;
  command: string[];
  createdAt: string;
}

const SECCOMP_FD = 3;
const INFO_FD = 4;

export async function prepareBwrap(spec: SandboxSpec, name: string): Promise<PreparedSandbox> {
  const root = process.getuid?.() === 0;
  const mode: BwrapNetworkMode = spec.bwrapNetwork ?? (root ? 'veth' : 'unix-socket');
  if (mode === 'veth' && !root) {
    throw new Error('bwrap with a veth network needs root (nftables, network namespaces); without root use the unix-socket network');
  }
  const user = await resolveHostUser(spec.process?.run_as_user, spec.process?.run_as_group);
  if (user && !root && user.uid !== process.getuid?.()) {
    throw new Error(`run_as_user ${spec.process?.run_as_user}: switching users needs root`);
  }
  const mounts = policyMounts(spec.filesystem);
  const network = await createBwrapNetwork(mode);
  let started: RunningSandbox | undefined;
  const cleanup = async () => {
    await network.remove();
    await removeSandboxFiles(name);
  };
  return {
    name,
    driver: 'bwrap',
    proxyListen: network.proxyListen,
    warnings: mounts.warnings,
    async start(options: StartOptions = {}) {
      if (started) throw new Error(`sandbox ${name} already started`);
      const proxy = options.proxy ?? spec.proxy;
      if (!proxy) throw new Error('start(): no proxy endpoint given');
      let cgroup: SandboxCgroup | undefined;
      try {
        const files = await writeSandboxFiles(name, proxy.caCertPem);
        const connection = await network.connect({ host: proxy.host, port: proxy.port }, files.dir);
        const seccompPath = path.join(files.dir, 'seccomp.bpf');
        await writeFile(seccompPath, compileSocketFilter());
        // cgroups need root (or a delegated subtree): without root, limits are not applied
        if (hasLimits(spec.limits) && root) cgroup = await createCgroup(name, spec.limits);

        const workdir = spec.workdir ? path.resolve(spec.workdir) : undefined;
        const env = sandboxEnv({ proxy: { ...connection.inside, authToken: proxy.authToken }, name, user: { ...spec.env, ...options.env }, tty: spec.tty });
        const args = bwrapArgs({
          env,
          files,
          command: connection.wrapCommand(spec.command),
          workdir,
          includeWorkdir: spec.filesystem?.include_workdir ?? true,
          readOnly: mounts.readOnly,
          readWrite: mounts.readWrite,
          extra: connection.bwrapArgs,
          tty: !!spec.tty,
          seccompFd: SECCOMP_FD,
          infoFd: INFO_FD,
        });
        const dropUser = user ? ['/usr/bin/setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--'] : [];
        const argv = [...cgroupLauncher(cgroup?.procsFiles ?? []), ...connection.argvPrefix, ...dropUser, findExecutable('bwrap'), ...args];
        const stdio = options.stdio ?? 'inherit';
        const seccompFd = openSync(seccompPath, 'r');
        const [file, ...rest] = argv as [string, ...string[]];
        let child;
        try {
          child = spawn(file, rest, { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, stdio: [stdio, stdio, stdio, seccompFd, 'pipe'] });
        } finally {
          closeSync(seccompFd);
        }
        started = runningBwrap({
          name,
          child,
          reachable: connection.inside,
          cleanup: async () => {
            await cgroup?.remove();
            await cleanup();
          },
        });
        await writeStateFile(name, {
          driver: 'bwrap',
          name,
          network: network.resourceName,
          pid: child.pid ?? 0,
          ownerPid: process.pid,
          command: spec.command,
          createdAt: new Date().toISOString(),
        } satisfies BwrapState);
        return started;
      } catch (err) {
        await cgroup?.remove();
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

/** Resolved on the host's PATH: the sandbox's own PATH is what nsenter sees. */
function findExecutable(name: string): string {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    const candidate = path.join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`${name} not found on PATH (install bubblewrap)`);
}

/**
 * bwrap's info fd names the sandbox's PID 1, which is bwrap itself acting as init: the kernel
 * drops signals to a namespace's init that it has no handler for, so CMD (its child) is signalled.
 */
function commandProcesses(initPid: number): number[] {
  try {
    return readFileSync(`/proc/${initPid}/task/${initPid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function runningBwrap(opts: {
  name: string;
  child: ReturnType<typeof spawn>;
  reachable: { host: string; port: number };
  cleanup: () => Promise<void>;
}): RunningSandbox {
  const { child } = opts;
  let commandPid: number | undefined;
  let initKnown: (pid: number | undefined) => void = () => undefined;
  const initPid = new Promise<number | undefined>((resolve) => (initKnown = resolve));
  // bwrap reports the host pid of the sandbox's init on --info-fd; CMD is its child.
  const info = child.stdio[INFO_FD] as Readable | null;
  let infoText = '';
  info?.on('data', (chunk: Buffer) => {
    infoText += chunk.toString();
    const match = /"child-pid"\s*:\s*(\d+)/.exec(infoText);
    if (match) initKnown((commandPid = Number(match[1])));
  });
  info?.on('error', () => undefined);
  const exited = new Promise<number>((resolve) => {
    child.on('error', () => {
      initKnown(undefined);
      resolve(127);
    });
    child.on('exit', (code, signal) => {
      initKnown(undefined);
      resolve(code ?? 128 + (signal ? (os.constants.signals[signal] ?? 0) : 0));
    });
  });
  let removed: Promise<void> | undefined;
  // Node resumes (drains into nothing) the output pipes of a child that exits while nobody reads them, so a
  // fast CMD lost its output when the caller attached its listeners a moment after start() returned (under
  // load; it failed the start-up test in two clean-clone CI runs of twelve). Piped into streams of our own from
  // the start, the output waits for its reader.
  const stdout = child.stdout?.pipe(new PassThrough()) ?? null;
  const stderr = child.stderr?.pipe(new PassThrough()) ?? null;
  return {
    name: opts.name,
    driver: 'bwrap',
    proxyAddress: opts.reachable,
    stdin: child.stdin,
    stdout,
    stderr,
    wait: () => exited,
    // bwrap itself is the init (pid 1 inside), a supervisor of the sandbox, not one of its programs.
    init: async () => {
      const pid = child.exitCode === null && child.signalCode === null ? await initPid : undefined;
      return pid === undefined ? undefined : { pid, supervisor: true };
    },
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      const targets = commandPid ? commandProcesses(commandPid) : [];
      if (targets.length === 0 && child.pid) targets.push(child.pid);
      for (const pid of targets) {
        try {
          process.kill(pid, signal);
        } catch {
          // already gone
        }
      }
    },
    remove() {
      removed ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          // the whole tree, not only bwrap: --die-with-parent does not cover a sandbox that is
          // still being set up when its monitor dies
          for (const pid of child.pid ? descendants(child.pid) : []) {
            try {
              process.kill(pid, 'SIGKILL');
            } catch {
              // gone
            }
          }
          child.kill('SIGKILL');
          await exited;
        }
        await opts.cleanup();
      })();
      return removed;
    },
  };
}
