import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startSluice, PolicyLoadError } from '../app/index.js';
import type { Sluice } from '../app/index.js';
import { loadPolicyFile, parsePolicy, formatPolicyError, DEFAULT_POLICY_YAML } from '../rules/index.js';
import type { Policy } from '../rules/index.js';
import { prepareSandbox, listSandboxes, stopSandbox, buildBaseImage, cleanupLeftovers, createSandboxAttribution } from '../sandbox/index.js';
import type { PreparedSandbox, RunningSandbox, SandboxDriver, SandboxSpec } from '../sandbox/index.js';
import { resolveHome } from './home.js';
import { parseResolve } from './up.js';
import type { CliIO } from './io.js';

export const RUN_USAGE = 'usage: sluice run [--driver bwrap|docker] [--policy FILE] [--image IMAGE] [--workdir DIR] [--name NAME] [--home DIR] [--resolve HOST=IP]... [--dns HOST:PORT] [--verbose] -- CMD [ARGS...]';

async function staticPolicy(file: string | undefined, io: CliIO): Promise<Policy | undefined> {
  const loaded = file ? await loadPolicyFile(file) : parsePolicy(DEFAULT_POLICY_YAML, '<default policy>');
  if (!loaded.policy || loaded.errors.length) {
    for (const e of loaded.errors) io.stderr.write(`${formatPolicyError(e)}\n`);
    return undefined;
  }
  return loaded.policy;
}

/** How long CMD has to exit after SIGTERM/SIGINT before everything in the sandbox is killed. */
export const STOP_GRACE_MS = 5000;

/**
 * `sluice run -- CMD`: a sandbox whose only way out is a Sluice started for it alone, listening
 * on the sandbox's side of the host (its veth or bridge address). Everything created is removed
 * on every way out: CMD's exit, Ctrl-C, SIGTERM, or an error; if this process is killed outright,
 * the sandbox's reaper removes it.
 */
export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      driver: { type: 'string', default: 'bwrap' },
      policy: { type: 'string' },
      image: { type: 'string' },
      workdir: { type: 'string' },
      name: { type: 'string' },
      home: { type: 'string' },
      resolve: { type: 'string', multiple: true },
      dns: { type: 'string' },
      verbose: { type: 'boolean', short: 'v' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length === 0) {
    io.stderr.write(`${RUN_USAGE}\n`);
    return 2;
  }
  const driver = values.driver as SandboxDriver;
  if (driver !== 'bwrap' && driver !== 'docker') {
    io.stderr.write(`sluice run: --driver must be bwrap or docker\n`);
    return 2;
  }
  const policy = await staticPolicy(values.policy, io);
  if (!policy) return 1;
  const workdir = values.workdir ? path.resolve(values.workdir) : undefined;
  const say = (line: string) => io.stderr.write(`sluice run: ${line}\n`);
  // what dead runs left behind goes while this one starts (it never touches a live sandbox)
  const sweep = cleanupLeftovers().catch(() => undefined);

  let prepared: PreparedSandbox | undefined;
  let sluice: Sluice | undefined;
  let running: RunningSandbox | undefined;
  // The proxy starts before the sandbox does: attribution waits for it (no client exists before).
  let started: (sandbox: RunningSandbox | undefined) => void = () => undefined;
  const sandboxStarted = new Promise<RunningSandbox | undefined>((resolve) => (started = resolve));
  const tty = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  const stopper = createStopper(() => running, tty);
  try {
    prepared = await prepareSandbox({
      driver,
      command: positionals,
      ...(values.name ? { name: values.name } : {}),
      ...(values.image ? { image: values.image } : {}),
      ...(workdir ? { workdir } : {}),
      tty,
      ...(policy.filesystem_policy ? { filesystem: policy.filesystem_policy } : {}),
      ...(policy.process ? { process: policy.process, limits: sandboxLimits(policy.process.limits) } : {}),
    });
    for (const line of [...prepared.warnings, ...prepared.notices]) say(line);
    stopper.check();
    sluice = await startSluice({
      home: resolveHome(values.home, io.env),
      ...(values.policy ? { policyFile: values.policy } : {}),
      listen: { host: prepared.proxyListen.host, port: prepared.proxyListen.port ?? 0 },
      resolve: parseResolve(values.resolve),
      ...(values.dns ? { dns: values.dns } : {}),
      ...(values.verbose ? { human: io.stderr } : {}),
      env: io.env,
      sandbox: prepared.name,
      attributeClient: createSandboxAttribution({ init: async () => (await sandboxStarted)?.init() }),
    });
    stopper.check();
    running = await prepared.start({
      proxy: { host: sluice.host, port: sluice.port, caCertPem: sluice.caCertPem, authToken: prepared.name },
      stdio: 'inherit',
      env: sluice.pipeline.envFor(prepared.name),
    });
    started(running);
    stopper.started();
    const code = await Promise.race([running.wait(), stopper.stopped]);
    if (stopper.signal) say(`stopped by ${stopper.signal}${stopper.forced ? ` (the command did not exit within ${STOP_GRACE_MS / 1000} s of it: killed)` : ''}`);
    for (const line of await running.exitNotes().catch(() => [])) say(line);
    return stopper.signal ? 128 + (os.constants.signals[stopper.signal] ?? 0) : code;
  } catch (err) {
    if (stopper.signal) {
      say(`stopped by ${stopper.signal} before the command started`);
      return 128 + (os.constants.signals[stopper.signal] ?? 0);
    }
    if (err instanceof PolicyLoadError) {
      for (const line of err.errors) io.stderr.write(`${line}\n`);
      return 1;
    }
    say((err as Error).message);
    return 125;
  } finally {
    started(undefined);
    stopper.dispose();
    await running?.remove().catch(() => undefined);
    await prepared?.remove().catch(() => undefined);
    await sluice?.close().catch(() => undefined);
    // a clean-up stuck on an unresponsive engine must not keep this run from ending
    await Promise.race([sweep, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
  }
}

function sandboxLimits(limits: NonNullable<Policy['process']>['limits']): SandboxSpec['limits'] {
  if (!limits) return undefined;
  return {
    ...(limits.processes !== undefined ? { pids: limits.processes } : {}),
    ...(limits.memory_mb !== undefined ? { memoryMb: limits.memory_mb } : {}),
    ...(limits.cpus !== undefined ? { cpus: limits.cpus } : {}),
    ...(limits.open_files !== undefined ? { openFiles: limits.open_files } : {}),
  };
}

/**
 * SIGTERM, SIGINT and SIGHUP always end `sluice run`: the first is passed to CMD; if CMD has not
 * exited STOP_GRACE_MS later (it ignores the signal, or its init was stopped), the whole sandbox is
 * killed from the host, where nothing inside can resist it; a second signal kills at once.
 * A signal before CMD starts ends the start-up (a second one exits at once, and the sandbox's
 * reaper removes what was made). With a terminal, Ctrl-C already reaches CMD
 * (same foreground process group), so SIGINT is not forwarded again, only counted.
 */
function createStopper(current: () => RunningSandbox | undefined, tty: boolean) {
  let resolveStopped: (code: number) => void = () => undefined;
  const stopped = new Promise<number>((resolve) => (resolveStopped = resolve));
  let timer: NodeJS.Timeout | undefined;
  const state = { signal: undefined as NodeJS.Signals | undefined, forced: false };
  const kill = async () => {
    state.forced = true;
    const sandbox = current();
    await sandbox?.remove().catch(() => undefined);
    resolveStopped(sandbox ? await sandbox.wait() : 130);
  };
  const forward = (sandbox: RunningSandbox, signal: NodeJS.Signals) => {
    if (!(tty && signal === 'SIGINT')) sandbox.kill(signal);
    void sandbox.wait().then(resolveStopped);
    timer = setTimeout(() => void kill(), STOP_GRACE_MS);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    const sandbox = current();
    if (state.signal) {
      // a second signal while the sandbox is still being made: leave now, the reaper removes it
      if (!sandbox) process.exit(128 + (os.constants.signals[signal] ?? 0));
      clearTimeout(timer);
      void kill();
      return;
    }
    state.signal = signal;
    if (sandbox) forward(sandbox, signal);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  return {
    stopped,
    get signal() {
      return state.signal;
    },
    get forced() {
      return state.forced;
    },
    /** Ends the start-up when a signal came before CMD started. */
    check() {
      if (state.signal) throw new Error(`stopped by ${state.signal}`);
    },
    /** CMD runs: a signal that came while it was being started is passed on now. */
    started() {
      const sandbox = current();
      if (state.signal && sandbox) forward(sandbox, state.signal);
    },
    dispose() {
      clearTimeout(timer);
      for (const s of signals) process.off(s, onSignal);
    },
  };
}

/**
 * `sluice ps`: the sandboxes Sluice started that still exist. Orphans (their `sluice run` is gone)
 * are listed as such, then removed; one that cannot be removed stays listed, with the reason.
 */
export async function ps(_argv: string[], io: CliIO): Promise<number> {
  const all = await listSandboxes();
  const report = await cleanupLeftovers();
  io.stdout.write(`${['NAME', 'DRIVER', 'ID', 'CREATED', 'STATE', 'COMMAND'].join('\t')}\n`);
  for (const s of all) {
    const state = s.orphaned ? (report.removed.includes(s.name) ? 'orphan, removed now' : 'orphan') : s.running ? 'running' : 'exited';
    io.stdout.write(`${[s.name, s.driver, s.id.slice(0, 12), s.createdAt, state, s.command.join(' ')].join('\t')}\n`);
  }
  for (const failure of report.failed) io.stderr.write(`sluice ps: could not remove ${failure}\n`);
  return 0;
}

/** `sluice stop NAME`: stops the sandbox and removes what it created. */
export async function stop(argv: string[], io: CliIO): Promise<number> {
  if (argv.length !== 1) {
    io.stderr.write('usage: sluice stop NAME\n');
    return 2;
  }
  await stopSandbox(argv[0]!);
  return 0;
}

/** `sluice image build [--force]`: the local base image for the docker driver (no registry needed). */
export async function image(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { force: { type: 'boolean' }, tag: { type: 'string' } }, allowPositionals: true, strict: true });
  if (positionals[0] !== 'build') {
    io.stderr.write('usage: sluice image build [--force] [--tag NAME]\n');
    return 2;
  }
  const result = await buildBaseImage({ ...(values.force ? { force: true } : {}), ...(values.tag ? { tag: values.tag } : {}), onProgress: (m: string) => io.stderr.write(`${m}\n`) });
  io.stdout.write(`${result.image} ${result.built ? `built in ${(result.ms / 1000).toFixed(1)} s` : 'already present'}\n`);
  return 0;
}
