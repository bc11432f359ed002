import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { SluiceError } from '../core/index.js';
import type { AttributeClient, EventBus, SandboxEvent } from '../core/index.js';
import { parsePolicy, formatPolicyError } from '../rules/index.js';
import type { Policy } from '../rules/index.js';
import type { PreparedSandbox, RunningSandbox, SandboxDriver } from '../sandbox/index.js';
import type * as SandboxModule from '../sandbox/index.js';
import { openOutputLog, STDERR, STDOUT } from './output-log.js';
import type { OutputLog } from './output-log.js';
import { changedStaticSections, refuseStaticChange, sandboxLimits } from './policy-sections.js';
import { ACTIVE, claimRecordDir, outputFile, readPolicyText, readRecords, removeRecordDir, writePolicyText, writeRecord } from './records.js';
import type { SandboxRecord } from './records.js';

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
  close(): Promise<void>;
}

/** `attributeClient`: which program in the sandbox opened a connection, so the policy's `binaries` hold. */
export type StartListener = (opts: { sandbox: string; policy: Policy; host: string; baseDir?: string; attributeClient?: AttributeClient }) => Promise<SandboxListener>;

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
   * (an attached `sluice run`), or AUTO_REMOVE_MS after the end if nobody reads it.
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
}

interface Live {
  record: SandboxRecord;
  output: OutputLog;
  prepared?: PreparedSandbox;
  listener?: SandboxListener;
  running?: RunningSandbox;
  stdinTaken: boolean;
  stopping: boolean;
  /** The command has ended and its output is complete (exit code known). */
  exited: Promise<SandboxRecord>;
  /** …and its network, container and listener are gone too. */
  released: Promise<void>;
}

const DEFAULT_GRACE_MS = 5000;
export const AUTO_REMOVE_MS = 60_000;

/** sandbox/'s naming rule (sandboxName) for lookups, which need no validation: a map answers. */
const fullName = (name: string) => (name.startsWith('sluice-') ? name : `sluice-${name}`);

export function createSandboxManager(opts: ManagerOptions) {
  const sandboxes = new Map<string, Live>();
  // The drivers load dockerode and more: a gateway that has not started a sandbox yet does without.
  let drivers: Promise<typeof SandboxModule> | undefined;
  const sandboxModule = () => (drivers ??= import('../sandbox/index.js'));
  const emit = (record: SandboxRecord, activity: SandboxEvent['activity'], reason: string, exitCode?: number) =>
    opts.bus.emit({ type: 'sandbox', time: Date.now(), sandbox: record.name, activity, driver: record.driver, ...(exitCode !== undefined ? { exitCode } : {}), reason });

  function find(requested: string): Live {
    const name = fullName(requested);
    const live = sandboxes.get(name);
    if (!live) throw new SluiceError('SLUICE_API_NOT_FOUND', `no sandbox named ${name}`, { reason: 'see GET /v1/sandboxes (`sluice ps`)' });
    return live;
  }

  // Parsed as a sandbox's policy: its listener attributes each connection to the program in the
  // sandbox that opened it, so `binaries` is enforced and needs no warning.
  function parse(text: string, label: string): { policy: Policy; warnings: string[] } {
    const parsed = parsePolicy(text, label, { sandboxed: true });
    if (!parsed.policy || parsed.errors.length) {
      const errors = parsed.errors.map(formatPolicyError);
      throw new SluiceError('SLUICE_POLICY_INVALID', `invalid policy: ${errors.length} error(s)`, { reason: errors.join('; '), errors });
    }
    return { policy: parsed.policy, warnings: (parsed.warnings ?? []).map(formatPolicyError) };
  }

  /**
   * After the command: its output drained, the exit code recorded and announced (which is what an
   * attached `sluice run` waits for), then its resources released, off that path.
   */
  async function settle(live: Live, code: number, streams: Promise<void>, autoRemove: boolean): Promise<SandboxRecord> {
    await streams;
    const { record } = live;
    record.state = live.stopping ? 'stopped' : 'exited';
    record.exitCode = code;
    record.finishedAt = new Date().toISOString();
    record.reason = live.stopping ? `stopped; the command exited with ${code}` : `the command exited with ${code}`;
    writeRecord(opts.home, record);
    live.output.finish({ exit_code: code, state: record.state });
    emit(record, record.state === 'stopped' ? 'stopped' : 'exited', record.reason, code);
    live.released = (async () => {
      await live.running?.remove().catch(() => undefined);
      await live.listener?.close().catch(() => undefined);
    })();
    if (autoRemove) {
      void (async () => {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([live.output.consumed(), new Promise<void>((resolve) => (timer = setTimeout(resolve, AUTO_REMOVE_MS).unref()))]);
        clearTimeout(timer);
        if (sandboxes.get(record.name) === live) await removeLive(live).catch(() => undefined);
      })();
    }
    return record;
  }

  async function removeLive(live: Live): Promise<void> {
    sandboxes.delete(live.record.name);
    await live.released;
    await live.output.close();
    removeRecordDir(opts.home, live.record.name);
    emit(live.record, 'removed', 'record, policy and output removed');
  }

  async function create(spec: CreateSpec): Promise<SandboxRecord> {
    const { prepareSandbox, sandboxName, attributionOnStart } = await sandboxModule();
    let name: string;
    try {
      name = sandboxName(spec.name);
    } catch (err) {
      throw new SluiceError('SLUICE_API_INVALID', (err as Error).message);
    }
    const defaults = spec.policy === undefined ? opts.defaultPolicy() : undefined;
    const text = spec.policy ?? defaults!.text;
    const parsed = spec.policy !== undefined ? parse(spec.policy, spec.policyFile ?? `policy of ${name}`) : undefined;
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
      live.prepared = await prepareSandbox({
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
      });
      // The listener starts before the command does: attribution waits for it (no client exists before).
      live.listener = await opts.startListener({ sandbox: name, policy, host: live.prepared.proxyListen.host, attributeClient, ...(policyDir ? { baseDir: policyDir } : {}) });
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
      live.exited = running.wait().then((code) => settle(live, code, withGrace(streams), spec.autoRemove ?? false));
      record.state = 'running';
      record.startedAt = new Date().toISOString();
      writeRecord(opts.home, record);
      emit(record, 'started', `started: ${spec.command.join(' ').slice(0, 200)}`);
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
      await removeLive(live);
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
    /**
     * Applies a new policy to one running sandbox: refused (409) when it would change a static
     * section, (422) when it is invalid; otherwise in force for that sandbox at once.
     */
    async setPolicy(requested: string, text: string): Promise<{ record: SandboxRecord; closedTunnels: number }> {
      const live = find(requested);
      const { record } = live;
      if (record.state !== 'running' || !live.listener) throw new SluiceError('SLUICE_API_CONFLICT', `sandbox ${record.name} is ${record.state}; only a running sandbox's policy can change`);
      let next: { policy: Policy; warnings: string[] };
      try {
        next = parse(text, `policy of ${record.name}`);
      } catch (err) {
        emit(record, 'policy_refused', `policy refused: ${(err as SluiceError).message}`);
        throw err;
      }
      const locked = changedStaticSections(live.listener.policy(), next.policy);
      if (locked.length > 0) {
        const err = refuseStaticChange(record.name, locked);
        emit(record, 'policy_refused', err.message);
        throw err;
      }
      const result = await live.listener.apply(next.policy, `policy of sandbox ${record.name} updated (revision ${record.policyRevision + 1})`, next.warnings);
      if (!result.ok) {
        emit(record, 'policy_refused', `policy could not be applied: ${result.errors.join('; ')}`);
        throw new SluiceError('SLUICE_POLICY_INVALID', `policy could not be applied: ${result.errors.join('; ')}`, { reason: result.errors.join('; '), errors: result.errors });
      }
      record.policyRevision += 1;
      record.policyUpdatedAt = new Date().toISOString();
      writePolicyText(opts.home, record.name, text);
      writeRecord(opts.home, record);
      emit(record, 'policy_changed', `policy revision ${record.policyRevision} in force${result.closedTunnels ? `; ${result.closedTunnels} tunnel(s) it no longer allows were closed` : ''}`);
      return { record, closedTunnels: result.closedTunnels };
    },
    /** Running sandboxes' listeners, for provider listings and secret reloads. */
    listeners(): Array<{ name: string; listener: SandboxListener }> {
      return [...sandboxes.values()].filter((l) => l.record.state === 'running' && l.listener).map((l) => ({ name: l.record.name, listener: l.listener! }));
    },
    /**
     * After a restart: every sandbox a previous gateway left running is gone with it (bwrap dies
     * with its parent; a container without its proxy is useless and no longer reachable), so its
     * resources are removed and its record says it was lost. Returns the names recovered.
     */
    async recover(): Promise<string[]> {
      const { records, unreadable } = readRecords(opts.home);
      const lost: string[] = [];
      for (const record of records) {
        const output = openOutputLog(outputFile(opts.home, record.name), { ended: !ACTIVE.has(record.state) });
        if (ACTIVE.has(record.state)) {
          record.reason = `the gateway (pid ${record.gatewayPid}) stopped while the sandbox was ${record.state}; its resources were removed`;
          record.state = 'lost';
          record.exitCode = null;
          record.finishedAt = new Date().toISOString();
          writeRecord(opts.home, record);
          output.finish({ exit_code: null, state: 'lost' });
          emit(record, 'lost', record.reason);
          lost.push(record.name);
        }
        sandboxes.set(record.name, { record, output, stdinTaken: true, stopping: false, exited: Promise.resolve(record), released: Promise.resolve() });
      }
      for (const entry of unreadable) process.emitWarning(`sluice gateway: unreadable sandbox record ${entry}`);
      // Everything a dead owner left behind (ours included): netns, nft tables, containers,
      // networks. After a clean stop there is nothing of ours, and the start stays light.
      if (lost.length > 0 || unreadable.length > 0) await (await sandboxModule()).cleanupLeftovers();
      return lost;
    },
    /** Gateway shutdown: every running sandbox is stopped (its proxy is going away with us). */
    async close(graceMs = 2000): Promise<void> {
      await Promise.all([...sandboxes.values()].filter((l) => ACTIVE.has(l.record.state)).map((l) => stop(l.record.name, graceMs).catch(() => undefined)));
      await Promise.all([...sandboxes.values()].map(async (l) => {
        await l.released;
        await l.output.close();
      }));
    },
  };
}

export type SandboxManager = ReturnType<typeof createSandboxManager>;

function drain(stream: Readable | null, onChunk: (chunk: Buffer) => void): Promise<void> {
  if (!stream) return Promise.resolve();
  return new Promise((resolve) => {
    stream.on('data', onChunk);
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', () => resolve());
  });
}

/** A background process that inherited the pipes cannot hold the exit open for ever. */
function withGrace(streams: Promise<void>, ms = 2000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([streams, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]).finally(() => clearTimeout(timer));
}
