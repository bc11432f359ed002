import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { bwrapArgs } from './bwrap-args.js';
import { cgroupLauncher, createCgroup, hasLimits, type SandboxCgroup } from './cgroup.js';
import { installFirewall, removeFirewall } from './firewall.js';
import { resolveHostUser } from './host-user.js';
import { createSandboxNetwork, removeSandboxNetwork } from './netns.js';
import { createRelay, type Relay } from './relay.js';
import { sandboxEnv } from './sandbox-env.js';
import { removeSandboxFiles, writeSandboxFiles, writeStateFile } from './sandbox-files.js';
import { compileSocketFilter } from './seccomp.js';
import type { PreparedSandbox, RunningSandbox, SandboxSpec, StartOptions } from './types.js';

/** What `sluice ps`/`stop` and leftover clean-up need to find a bwrap sandbox again. */
export interface BwrapState {
  driver: 'bwrap';
  name: string;
  network: string;
  pid: number;
  ownerPid: number;
  command: string[];
  createdAt: string;
}

const SECCOMP_FD = 3;
const INFO_FD = 4;

export async function prepareBwrap(spec: SandboxSpec, name: string): Promise<PreparedSandbox> {
  if (process.getuid?.() !== 0) {
    throw new Error('the bwrap driver needs root to create its network namespace and firewall (run as root, or use --driver docker)');
  }
  const user = await resolveHostUser(spec.process?.run_as_user, spec.process?.run_as_group);
  const network = await createSandboxNetwork();
  let started: RunningSandbox | undefined;
  const cleanup = async () => {
    await removeFirewall(network.name);
    await removeSandboxNetwork(network.name);
    await removeSandboxFiles(name);
  };
  return {
    name,
    driver: 'bwrap',
    proxyListen: { host: network.hostIp },
    async start(options: StartOptions = {}) {
      if (started) throw new Error(`sandbox ${name} already started`);
      const proxy = options.proxy ?? spec.proxy;
      if (!proxy) throw new Error('start(): no proxy endpoint given');
      let relay: Relay | undefined;
      let cgroup: SandboxCgroup | undefined;
      try {
        if (proxy.host !== network.hostIp) {
          relay = await createRelay({ host: network.hostIp, target: { host: proxy.host, port: proxy.port } });
        }
        const reachable = { host: network.hostIp, port: relay?.port ?? proxy.port };
        await installFirewall({ table: network.name, iface: network.name, proxyHost: reachable.host, proxyPort: reachable.port });
        const files = await writeSandboxFiles(name, proxy.caCertPem);
        const seccompPath = path.join(files.dir, 'seccomp.bpf');
        await writeFile(seccompPath, compileSocketFilter());
        if (hasLimits(spec.limits)) cgroup = await createCgroup(name, spec.limits);

        const workdir = spec.workdir ? path.resolve(spec.workdir) : undefined;
        const env = sandboxEnv({ proxy: { ...reachable, authToken: proxy.authToken }, name, user: { ...spec.env, ...options.env }, tty: spec.tty });
        const args = bwrapArgs({
          env,
          files,
          command: spec.command,
          workdir,
          includeWorkdir: spec.filesystem?.include_workdir ?? true,
          readOnly: spec.filesystem?.read_only ?? [],
          readWrite: spec.filesystem?.read_write ?? [],
          tty: !!spec.tty,
          seccompFd: SECCOMP_FD,
          infoFd: INFO_FD,
        });
        const dropUser = user ? ['/usr/bin/setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--'] : [];
        const argv = [
          ...cgroupLauncher(cgroup?.procsFiles ?? []),
          '/usr/bin/nsenter',
          `--net=${network.netnsPath}`,
          '--',
          ...dropUser,
          findExecutable('bwrap'),
          ...args,
        ];
        const stdio = options.stdio ?? 'inherit';
        const seccompFd = openSync(seccompPath, 'r');
        const [file, ...rest] = argv as [string, ...string[]];
        let child;
        try {
          child = spawn(file, rest, { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, stdio: [stdio, stdio, stdio, seccompFd, 'pipe'] });
        } finally {
          closeSync(seccompFd);
        }
        started = runningBwrap({ name, child, reachable, relay, cleanup: async () => {
          await relay?.close();
          await cgroup?.remove();
          await cleanup();
        } });
        await writeStateFile(name, {
          driver: 'bwrap',
          name,
          network: network.name,
          pid: child.pid ?? 0,
          ownerPid: process.pid,
          command: spec.command,
          createdAt: new Date().toISOString(),
        } satisfies BwrapState);
        return started;
      } catch (err) {
        await relay?.close();
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
  relay: Relay | undefined;
  cleanup: () => Promise<void>;
}): RunningSandbox {
  const { child } = opts;
  let commandPid: number | undefined;
  // bwrap reports the host pid of the sandbox's init on --info-fd; CMD is its child.
  const info = child.stdio[INFO_FD] as Readable | null;
  let infoText = '';
  info?.on('data', (chunk: Buffer) => {
    infoText += chunk.toString();
    const match = /"child-pid"\s*:\s*(\d+)/.exec(infoText);
    if (match) commandPid = Number(match[1]);
  });
  info?.on('error', () => undefined);
  const exited = new Promise<number>((resolve) => {
    child.on('error', () => resolve(127));
    child.on('exit', (code, signal) => {
      resolve(code ?? 128 + (signal ? (os.constants.signals[signal] ?? 0) : 0));
    });
  });
  let removed: Promise<void> | undefined;
  return {
    name: opts.name,
    driver: 'bwrap',
    proxyAddress: opts.reachable,
    stdin: child.stdin,
    stdout: child.stdout,
    stderr: child.stderr,
    wait: () => exited,
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
          child.kill('SIGKILL');
          await exited;
        }
        await opts.cleanup();
      })();
      return removed;
    },
  };
}
