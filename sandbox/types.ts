import type { Readable, Writable } from 'node:stream';
import type { LandlockSection } from './landlock.js';
import type { NetworkPool } from './network-pool.js';
import type { Reaper } from './reaper.js';
import type { ToolRunner } from './tool-runner.js';

export type SandboxDriver = 'bwrap' | 'docker';

/** Where the sandbox reaches the Sluice proxy. */
export interface ProxyEndpoint {
  host: string;
  port: number;
  /** PEM of the Sluice CA (only the CA: the driver builds the system+Sluice bundle itself). */
  caCertPem: string;
  /** Sent as the password of `Proxy-Authorization: Basic base64("sluice:<token>")`. */
  authToken?: string;
}

export interface SandboxSpec {
  driver: SandboxDriver;
  /** `sluice-` is prefixed when missing, so clean-up can always find what Sluice made. */
  name?: string;
  command: string[];
  /** Extra environment, e.g. provider placeholders. Proxy and CA variables always win. */
  env?: Record<string, string>;
  /** Host directory bound read-write at the same path and used as the working directory. */
  workdir?: string;
  /**
   * Host paths bound read-only at the same path with either driver, the image's system trees
   * included (docker): an agent's own install directory (`sluice run --mount-install`).
   */
  readOnlyMounts?: string[];
  /** docker: the image (default `sluice-base:latest`). */
  image?: string;
  tty?: boolean;
  filesystem?: { read_only?: string[]; read_write?: string[]; include_workdir?: boolean };
  /**
   * Who the command runs as (sandbox/sandbox-user.ts). `root_inside` makes it uid 0 inside a
   * user namespace whose root is an unprivileged host user, never the host's root.
   */
  process?: { run_as_user?: string; run_as_group?: string; root_inside?: boolean };
  /** The policy's `landlock` section: `hard_requirement` refuses the sandbox (sandbox/landlock.ts). */
  landlock?: LandlockSection;
  /** Overrides of the default limits (sandbox/limits.ts); a limit that cannot be enforced refuses the sandbox. */
  limits?: { pids?: number; memoryMb?: number; cpus?: number; openFiles?: number };
  /**
   * bwrap only: `veth` (default as root) or `unix-socket` (default otherwise; needs no root,
   * and no cgroup limits are applied). See sandbox/bwrap-network.ts.
   */
  bwrapNetwork?: 'veth' | 'unix-socket';
  /** May be given here or to start(); start()'s argument wins. */
  proxy?: ProxyEndpoint;
  /**
   * A long-lived owner's runner for ip and nft (tool-runner.ts): a small shell forks them, not
   * the owner. Without one each is spawned from this process.
   */
  tools?: ToolRunner;
  /**
   * A long-lived owner's warm network resources (network-pool.ts): the sandbox takes one when
   * one is ready, and makes its own otherwise.
   */
  pool?: NetworkPool;
  /**
   * A long-lived owner's one reaper for all its sandboxes (reaper.ts startOwnerReaper). Without
   * one the sandbox starts a reaper of its own.
   */
  reaper?: Reaper;
}

/**
 * `inherit` wires the sandbox to this process's stdin/stdout/stderr (and the TTY, if spec.tty);
 * `pipe` exposes streams, for tests and for callers that post-process output.
 */
export type StdioMode = 'inherit' | 'pipe';

export interface StartOptions {
  proxy?: ProxyEndpoint;
  stdio?: StdioMode;
  /** Extra environment known only after prepare (merged over spec.env). */
  env?: Record<string, string>;
}

export interface RunningSandbox {
  readonly name: string;
  readonly driver: SandboxDriver;
  readonly proxyAddress: { host: string; port: number };
  /** Present when started with stdio 'pipe'. */
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  /** Resolves with CMD's exit code (128 + signal number when killed by a signal). */
  wait(): Promise<number>;
  /** Delivers the signal to CMD itself, not to a wrapper. */
  kill(signal?: NodeJS.Signals): void;
  /** The sandbox's init as the host sees it, for connection attribution; undefined once it is gone. */
  init(): Promise<SandboxInit | undefined>;
  /**
   * After wait(), before remove(): what the user should know about the run (a limit reached,
   * symlinks left in the workdir pointing out of it), one message per entry.
   */
  exitNotes(): Promise<string[]>;
  /** Stops CMD if still running and deletes everything the sandbox created. Idempotent. */
  remove(): Promise<void>;
}

/** A sandbox's init as the host sees it: its pid names the sandbox's network and pid namespaces. */
export interface SandboxInit {
  pid: number;
  /** The init is the sandbox's supervisor (bwrap, docker-init) rather than CMD. */
  supervisor: boolean;
}

export interface PreparedSandbox {
  readonly name: string;
  readonly driver: SandboxDriver;
  /**
   * Where the proxy must listen so that the sandbox can reach it: the host end of the veth
   * (bwrap) or the gateway of the sandbox's internal bridge (docker). Port is chosen by the
   * proxy (bind port 0) and passed to start().
   */
  readonly proxyListen: { host: string; port?: number };
  /** filesystem_policy paths left out (missing, host-only, `/`), with reasons, for the user */
  readonly warnings: string[];
  /** what the user must be told at start (root inside, limits that cannot apply without root) */
  readonly notices: string[];
  start(options?: StartOptions): Promise<RunningSandbox>;
  /** Undoes prepare when start() is never called. Idempotent. */
  remove(): Promise<void>;
}

export interface SandboxInfo {
  name: string;
  driver: SandboxDriver;
  /** bwrap: pid of the sandbox supervisor; docker: container id. */
  id: string;
  command: string[];
  createdAt: string;
  running: boolean;
  /** the process that started it is gone: the next clean-up removes it */
  orphaned: boolean;
}
