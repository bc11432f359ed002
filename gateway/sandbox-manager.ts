import path from 'node:path';
import type { Writable } from 'node:stream';
import { SluiceError } from '../core/index.js';
import type { AttributeClient, EventBus, SandboxEvent } from '../core/index.js';
import type { Policy } from '../rules/index.js';
import type { BackendHealth } from '../privacy/index.js';
import type { NetworkPool, Reaper, SandboxDriver, ToolRunner } from '../sandbox/index.js';
import type * as SandboxModule from '../sandbox/index.js';
import { drain, emitSandbox, removeLive, settle, withGrace } from './live-sandbox.js';
import type { Live, Sandboxes } from './live-sandbox.js';
import { openOutputLog, STDERR, STDOUT } from './output-log.js';
import type { OutputLog } from './output-log.js';
import { sandboxLimits } from './policy-sections.js';
import { ACTIVE, claimRecordDir, outputFile, readPolicyText, removeRecordDir, writePolicyText, writeRecord } from './records.js';
import type { SandboxRecord } from './records.js';
import { recoverSandboxes } from './recovery.js';
import { changeSandboxPolicy, parseSandboxPolicy } from './sandbox-policy.js';

/**
 * The sandboxes of one gateway: created, watched, stopped and removed here, each with a proxy
 * listener of its own (`SandboxListener`, built by app/ from the sandbox's policy) on the one
 * address only it can reach. Resources (network, container, listener) are released as soon as
 * the command exits; the record, the policy and the output stay until the sandbox is removed.
 */
export interface SandboxListener {
  readonly host: string;
  readonly port: number;
  /** Provider placeholders for this sandbox. */
  env(): Record<string, string>;
  /** The credential this sandbox proves itself with on a shared listener. */
  token(): string;
  policy(): Policy;
  apply(next: Policy, reason: string, warnings?: readonly string[]): Promise<{ ok: boolean; errors: string[]; closedTunnels: number }>;
  /** Re-reads the secrets of the providers in force. */
  reloadSecrets(): Promise<void>;
  /** Live state for metrics and status; absent on listeners that keep none. */
  openTunnels?(): number;
  health?(): Record<string, BackendHealth>;
  close(): Promise<void>;
}

/**
 * `attributeClient`: which program in the sandbox opened a connection, so the policy's `binaries` hold.
 * `port`: the one the sandbox's warm firewall lets through; another (0: any) if it is taken.
 */
export type StartListener = (opts: { sandbox: string; policy: Policy; host: string; port?: number; baseDir?: string; attributeClient?: AttributeClient }) => Promise<SandboxListener>;

export interface CreateSpec {
  name?: string;
  command: string[];
  driver: SandboxDriver;
  image?: string;
  workdir?: string;
  env?: Record<string, string>;
  /** Host paths bound read-only (SandboxSpec.readOnlyMounts). */
  readOnly?: string[];
  /** Policy text (YAML or JSON); default: the gateway's default policy. */
  policy?: string;
  /** The file `policy` was read from: names its errors; relative `file:` sources are read from its folder. */
  policyFile?: string;
  /** Keep stdin open for POST …/stdin; otherwise the command reads end-of-file at once. */
  stdin?: boolean;
  /**
   * Remove the record once the command has ended and a reader has had its output to the end
   * (an attached `sluice run`), or AUTO_REMOVE_MS (live-sandbox.ts) after the end if nobody reads it.
   */
  autoRemove?: boolean;
  limits?: { pids?: number; memoryMb?: number; cpus?: number };
}

export interface ManagerOptions {
  home: string;
  bus: EventBus;
  caCertPem: string;
  startListener: StartListener;
  /** The gateway's default policy, for sandboxes created without one. */
  defaultPolicy(): { text: string; policy: Policy; dir?: string };
  /** How long `stop` waits after SIGTERM before SIGKILL; default 5 s. */
  graceMs?: number;
  /**
   * Sandbox networks kept ready per driver (sandbox/network-pool.ts), from that driver's first
   * create on; 0 makes every sandbox its own. Default DEFAULT_POOL_SIZE (2).
   */
  warmNetworks?: number;
}

const DEFAULT_GRACE_MS = 5000;

/** sandbox/'s naming rule (sandboxName) for lookups, which need no validation: a map answers. */
const fullName = (name: string) => (name.startsWith('sluice-') ? name : `sluice-${name}`);

export function createSandboxManager(opts: ManagerOptions) {
  const set: Sandboxes = { home: opts.home, bus: opts.bus, byName: new Map<string, Live>() };
  const sandboxes = set.byName;
  // The drivers load dockerode and more: a gateway that has not started a sandbox yet does without.
  let drivers: Promise<typeof SandboxModule> | undefined;
  const sandboxModule = () => (drivers ??= import('../sandbox/index.js'));
  // ip and nft for every sandbox are forked by one small shell, not by this (large) process
  let tools: ToolRunner | undefined;
  let pool: NetworkPool | undefined;
  // one reaper for every sandbox and warm network this gateway makes, should it die (reaper.ts)
  let reaper: Reaper | undefined;
  const emit = (record: SandboxRecord, activity: SandboxEvent['activity'], reason: string, exitCode?: number) => emitSandbox(set, record, activity, reason, exitCode);

  function find(requested: string): Live {
    const name = fullName(requested);
    const live = sandboxes.get(name);
    if (!live) throw new SluiceError('SLUICE_API_NOT_FOUND', `no sandbox named ${name}`, { reason: 'see GET /v1/sandboxes (`sluice ps`)' });
    return live;
  }


  async function create(spec: CreateSpec): Promise<SandboxRecord> {
    const { prepareSandbox, sandboxName, attributionOnStart, startToolRunner, startOwnerReaper, createNetworkPool, DEFAULT_POOL_SIZE } = await sandboxModule();
    let name: string;
    try {
      name = sandboxName(spec.name);
    } catch (err) {
      throw new SluiceError('SLUICE_API_INVALID', (err as Error).message);
    }
    const defaults = spec.policy === undefined ? opts.defaultPolicy() : undefined;
    const text = spec.policy ?? defaults!.text;
    const parsed = spec.policy !== undefined ? parseSandboxPolicy(spec.policy, spec.policyFile ?? `policy of ${name}`) : undefined;
    const policy = parsed?.policy ?? defaults!.policy;
    const policyDir = spec.policyFile !== undefined ? path.dirname(spec.policyFile) : defaults?.dir;
    if (sandboxes.has(name)) throw new SluiceError('SLUICE_API_CONFLICT', `a sandbox named ${name} already exists`, { reason: `remove it first (\`sluice rm ${name}\`)` });
    try {
      claimRecordDir(opts.home, name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new SluiceError('SLUICE_API_CONFLICT', `a sandbox named ${name} already exists`);
      throw err;
    }
    const now = new Date().toISOString();
    const record: SandboxRecord = {
      name,
      driver: spec.driver,
      command: spec.command,
      ...(spec.image ? { image: spec.image } : {}),
      ...(spec.workdir ? { workdir: spec.workdir } : {}),
      env: Object.keys(spec.env ?? {}),
      stdin: spec.stdin ?? false,
      state: 'creating',
      createdAt: now,
      gatewayPid: process.pid,
      policyRevision: 1,
      policyUpdatedAt: now,
      ...(policyDir ? { policyDir } : {}),
    };
    writePolicyText(opts.home, name, text);
    writeRecord(opts.home, record);
    const live: Live = { record, output: openOutputLog(outputFile(opts.home, name)), stdinTaken: false, stopping: false, exited: Promise.resolve(record), released: Promise.resolve() };
    sandboxes.set(name, live);
    const { attributeClient, started } = attributionOnStart();
    try {
      tools ??= startToolRunner();
      reaper ??= startOwnerReaper();
      const warm = (pool ??= createNetworkPool({
        size: opts.warmNetworks ?? DEFAULT_POOL_SIZE,
        run: tools.run,
        onError: (driver, err) => process.emitWarning(`sluice gateway: a warm ${driver} sandbox network could not be made (sandboxes make their own): ${(err as Error).message}`),
      }));
      live.prepared = await prepareSandbox({
        tools,
        reaper,
        pool: warm,
        driver: spec.driver,
        name,
        command: spec.command,
        ...(spec.image ? { image: spec.image } : {}),
        ...(spec.workdir ? { workdir: spec.workdir } : {}),
        ...(spec.env ? { env: spec.env } : {}),
        ...(spec.readOnly ? { readOnlyMounts: spec.readOnly } : {}),
        // the policy's process.limits; a limit the API call names overrides the policy's
        ...(spec.limits || policy.process?.limits ? { limits: { ...sandboxLimits(policy.process?.limits), ...spec.limits } } : {}),
        ...(policy.filesystem_policy ? { filesystem: policy.filesystem_policy } : {}),
        ...(policy.process ? { process: policy.process } : {}),
        ...(policy.landlock ? { landlock: policy.landlock } : {}),
      });
      // The listener starts before the command does: attribution waits for it (no client exists before).
      const { host, port } = live.prepared.proxyListen;
      live.listener = await opts.startListener({ sandbox: name, policy, host, ...(port !== undefined ? { port } : {}), attributeClient, ...(policyDir ? { baseDir: policyDir } : {}) });
      // What the policy asks for that Sluice does differently is said where the operator looks, never silently dropped.
      if (parsed?.warnings.length) opts.bus.emit({ type: 'policy', time: Date.now(), activity: 'loaded', sandbox: name, reason: `policy of sandbox ${name} loaded`, warnings: parsed.warnings });
      record.proxy = { host: live.listener.host, port: live.listener.port };
      const said = [...live.prepared.warnings, ...live.prepared.notices];
      emit(record, 'created', `${spec.driver} sandbox created; its proxy listens on ${live.listener.host}:${live.listener.port}${said.length ? `; ${said.join('; ')}` : ''}`);
      const running = await live.prepared.start({
        proxy: { host: live.listener.host, port: live.listener.port, caCertPem: opts.caCertPem, authToken: `${name}:${live.listener.token()}` },
        stdio: 'pipe',
        env: live.listener.env(),
      });
      live.running = running;
      started(running);
      if (!record.stdin) running.stdin?.end();
      const streams = Promise.all([drain(running.stdout, (c) => live.output.write(STDOUT, c)), drain(running.stderr, (c) => live.output.write(STDERR, c))]).then(() => undefined);
      live.exited = running.wait().then((code) => settle(set, live, code, withGrace(streams), spec.autoRemove ?? false));
      record.state = 'running';
      record.startedAt = new Date().toISOString();
      writeRecord(opts.home, record);
      emit(record, 'started', `started: ${spec.command.join(' ').slice(0, 200)}`);
      // refilled once this create is done with the CPU; the first create of a driver starts it
      warm.fill(spec.driver);
      return record;
    } catch (err) {
      started(undefined);
      sandboxes.delete(name);
      await live.running?.remove().catch(() => undefined);
      await live.prepared?.remove().catch(() => undefined);
      await live.listener?.close().catch(() => undefined);
      await live.output.close();
      removeRecordDir(opts.home, name);
      emit(record, 'failed', `could not start: ${(err as Error).message}`);
      pool?.fill(spec.driver);
      if (err instanceof SluiceError) throw err;
      throw new SluiceError('SLUICE_SANDBOX_FAILED', `sandbox ${name} could not start: ${(err as Error).message}`, { reason: (err as Error).message });
    }
  }

  async function stop(requested: string, graceMs = opts.graceMs ?? DEFAULT_GRACE_MS): Promise<SandboxRecord> {
    const live = find(requested);
    if (live.record.state === 'creating') throw new SluiceError('SLUICE_API_CONFLICT', `sandbox ${live.record.name} is still being created`, { reason: 'try again once it runs' });
    if (!ACTIVE.has(live.record.state) || !live.running) return live.exited;
    live.stopping = true;
    live.running.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), graceMs);
    });
    const first = await Promise.race([live.exited, timeout]);
    clearTimeout(timer);
    // remove() kills what is left (SIGKILL) and the exit handler records it
    if (first === 'timeout') await live.running.remove();
    const record = await live.exited;
    await live.released;
    return record;
  }

  return {
    create,
    stop,
    list: (): SandboxRecord[] => [...sandboxes.values()].map((l) => l.record).sort((a, b) => a.createdAt.localeCompare(b.createdAt)),
    get: (name: string): SandboxRecord => find(name).record,
    kill(requested: string, signal: NodeJS.Signals): void {
      const live = find(requested);
      if (live.record.state !== 'running' || !live.running) throw new SluiceError('SLUICE_API_CONFLICT', `sandbox ${live.record.name} is not running`);
      live.running.kill(signal);
    },
    async remove(requested: string, force: boolean): Promise<void> {
      const live = find(requested);
      if (ACTIVE.has(live.record.state)) {
        if (!force) throw new SluiceError('SLUICE_API_CONFLICT', `sandbox ${live.record.name} is ${live.record.state}`, { reason: 'stop it first, or remove with force' });
        await stop(requested, 0);
      }
      await removeLive(set, live);
    },
    /** Resolves once the command has exited and its output is complete. */
    wait: (requested: string): Promise<SandboxRecord> => find(requested).exited,
    output: (requested: string): OutputLog => find(requested).output,
    /** The command's stdin, once: a second writer would interleave. */
    takeStdin(requested: string): Writable {
      const live = find(requested);
      if (!live.record.stdin) throw new SluiceError('SLUICE_API_CONFLICT', `sandbox ${live.record.name} was created without stdin`, { reason: 'create it with "stdin": true' });
      if (live.record.state !== 'running' || !live.running?.stdin) throw new SluiceError('SLUICE_API_CONFLICT', `sandbox ${live.record.name} is not running`);
      if (live.stdinTaken) throw new SluiceError('SLUICE_API_CONFLICT', `the stdin of ${live.record.name} is already attached`);
      live.stdinTaken = true;
      return live.running.stdin;
    },
    policy(requested: string): { record: SandboxRecord; text: string } {
      const live = find(requested);
      return { record: live.record, text: readPolicyText(opts.home, live.record.name) ?? '' };
    },
    /** See sandbox-policy.ts. */
    setPolicy: (requested: string, text: string) => changeSandboxPolicy(set, find(requested), text),
    /** Running sandboxes' listeners, for provider listings and secret reloads. */
    listeners(): Array<{ name: string; listener: SandboxListener }> {
      return [...sandboxes.values()].filter((l) => l.record.state === 'running' && l.listener).map((l) => ({ name: l.record.name, listener: l.listener! }));
    },
    /** See recovery.ts. */
    recover: async (opts: { previousDied?: boolean } = {}): Promise<string[]> => recoverSandboxes(set, async () => (await sandboxModule()).cleanupLeftovers(), opts.previousDied),
    /** Gateway shutdown: every running sandbox is stopped (its proxy is going away with us). */
    async close(graceMs = 2000): Promise<void> {
      await Promise.all([...sandboxes.values()].filter((l) => ACTIVE.has(l.record.state)).map((l) => stop(l.record.name, graceMs).catch(() => undefined)));
      await Promise.all([...sandboxes.values()].map(async (l) => {
        await l.released;
        await l.output.close();
      }));
      await pool?.close();
      tools?.close();
      reaper?.stop();
    },
  };
}

export type SandboxManager = ReturnType<typeof createSandboxManager>;

