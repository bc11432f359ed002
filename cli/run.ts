import path from 'node:path';
import { startSluice, PolicyLoadError } from '../app/index.js';
import type { Sluice } from '../app/index.js';
import { loadPolicyFile, parsePolicy, formatPolicyError, DEFAULT_POLICY_YAML } from '../rules/index.js';
import type { Policy } from '../rules/index.js';
import { prepareSandbox, listSandboxes, stopSandbox, buildBaseImage } from '../sandbox/index.js';
import type { PreparedSandbox, RunningSandbox, SandboxDriver } from '../sandbox/index.js';
import { explainSpawnError } from '../sandbox/index.js';
import { flag, list, str } from './args.js';
import type { Invocation } from './args.js';
import { createDenialReporter } from './denial-reporter.js';
import type { DenialReporter } from './denial-reporter.js';
import { resolveHome } from './home.js';
import { registerInstance } from './instances.js';
import { parseResolve } from './up.js';
import type { CliIO } from './io.js';

async function staticPolicy(file: string | undefined, io: CliIO): Promise<Policy | undefined> {
  const loaded = file ? await loadPolicyFile(file) : parsePolicy(DEFAULT_POLICY_YAML, '<default policy>');
  if (!loaded.policy || loaded.errors.length) {
    for (const e of loaded.errors) io.stderr.write(`${formatPolicyError(e)}\n`);
    return undefined;
  }
  return loaded.policy;
}

/**
 * `sluice run -- CMD`: a sandbox whose only way out is a Sluice started for it alone, listening
 * on the sandbox's side of the host (its veth or bridge address). Everything created is removed
 * on every way out: CMD's exit, Ctrl-C, SIGTERM, or an error.
 */
export async function run(inv: Invocation, io: CliIO): Promise<number> {
  const values = {
    policy: str(inv, 'policy'),
    image: str(inv, 'image'),
    workdir: str(inv, 'workdir'),
    name: str(inv, 'name'),
    resolve: list(inv, 'resolve'),
    dns: str(inv, 'dns'),
    verbose: flag(inv, 'verbose'),
  };
  const positionals = inv.rest;
  const driver = (str(inv, 'driver') ?? 'bwrap') as SandboxDriver;
  const learning = str(inv, 'enforcement') === 'audit';
  const resolve = parseResolve(values.resolve);
  const policy = await staticPolicy(values.policy, io);
  if (!policy) return 1;
  const workdir = values.workdir ? path.resolve(values.workdir) : undefined;

  let prepared: PreparedSandbox | undefined;
  let sluice: Sluice | undefined;
  let running: RunningSandbox | undefined;
  let reporter: DenialReporter | undefined;
  let instance: { close(): void } | undefined;
  const tty = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  // With a terminal, Ctrl-C already reaches CMD (same foreground process group): forwarding
  // SIGINT as well would deliver it twice.
  const signals: NodeJS.Signals[] = tty ? ['SIGTERM', 'SIGHUP'] : ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const forward = (signal: NodeJS.Signals) => running?.kill(signal);
  // Sluice itself must outlive Ctrl-C so that it can clean up after CMD exits.
  const ignore = () => undefined;
  if (tty) process.on('SIGINT', ignore);
  try {
    prepared = await prepareSandbox({
      driver,
      command: positionals,
      ...(values.name ? { name: values.name } : {}),
      ...(values.image ? { image: values.image } : {}),
      ...(workdir ? { workdir } : {}),
      tty,
      ...(policy.filesystem_policy ? { filesystem: policy.filesystem_policy } : {}),
      ...(policy.process ? { process: policy.process } : {}),
    });
    sluice = await startSluice({
      home: resolveHome(inv.home, io.env),
      ...(values.policy ? { policyFile: path.resolve(values.policy) } : {}),
      listen: { host: prepared.proxyListen.host, port: prepared.proxyListen.port ?? 0 },
      resolve,
      ...(values.dns ? { dns: values.dns } : {}),
      ...(values.verbose ? { human: io.stderr } : {}),
      ...(learning ? { enforcement: 'audit' as const } : {}),
      env: io.env,
      sandbox: prepared.name,
    });
    // --verbose already prints every event; the reporter would repeat the refusals.
    if (!flag(inv, 'quiet') && !values.verbose) reporter = createDenialReporter(sluice.bus, io.stderr, { sandbox: prepared.name });
    if (learning && !flag(inv, 'quiet')) io.stderr.write(`sluice: learning mode in ${prepared.name}: what the network policy would refuse is let through and logged\n`);
    const live = sluice;
    instance = registerInstance(
      resolveHome(inv.home, io.env),
      { kind: 'run', url: sluice.url, auditFile: sluice.auditFile, sandbox: prepared.name, enforcement: learning ? 'audit' : 'enforce', ...(values.policy ? { policyFile: path.resolve(values.policy) } : {}) },
      { health: () => live.pipeline.health(), openTunnels: () => live.server.openTunnels, openConnections: () => live.server.openConnections },
    );
    for (const s of signals) process.on(s, forward);
    running = await prepared.start({
      proxy: { host: sluice.host, port: sluice.port, caCertPem: sluice.caCertPem, authToken: prepared.name },
      stdio: 'inherit',
      env: sluice.pipeline.envFor(prepared.name),
    });
    return await running.wait();
  } catch (err) {
    if (err instanceof PolicyLoadError) {
      for (const line of err.errors) io.stderr.write(`${line}\n`);
      return 1;
    }
    io.stderr.write(`sluice run: ${explainSpawnError(err) ?? (err as Error).message}\n`);
    return 125;
  } finally {
    for (const s of signals) process.off(s, forward);
    process.off('SIGINT', ignore);
    instance?.close();
    await running?.remove().catch(() => undefined);
    await prepared?.remove().catch(() => undefined);
    await sluice?.close().catch(() => undefined);
    if (reporter) {
      reporter.close();
      for (const line of reporter.summary()) io.stderr.write(`${line}\n`);
    }
  }
}

/** `sluice ps`: the sandboxes Sluice started that still exist. */
export async function ps(_inv: Invocation, io: CliIO): Promise<number> {
  const all = await listSandboxes();
  io.stdout.write(`${['NAME', 'DRIVER', 'ID', 'CREATED', 'STATE', 'COMMAND'].join('\t')}\n`);
  for (const s of all) io.stdout.write(`${[s.name, s.driver, s.id.slice(0, 12), s.createdAt, s.running ? 'running' : 'exited', s.command.join(' ')].join('\t')}\n`);
  return 0;
}

/** `sluice stop NAME`: stops the sandbox and removes what it created. */
export async function stop(inv: Invocation, _io: CliIO): Promise<number> {
  await stopSandbox(inv.positionals[0]!);
  return 0;
}

/** `sluice image build [--force]`: the local base image for the docker driver (no registry needed). */
export async function image(inv: Invocation, io: CliIO): Promise<number> {
  const tag = str(inv, 'tag');
  const result = await buildBaseImage({ ...(flag(inv, 'force') ? { force: true } : {}), ...(tag ? { tag } : {}), onProgress: (m: string) => io.stderr.write(`sluice: ${m}\n`) });
  io.stdout.write(`${result.image} ${result.built ? `built in ${(result.ms / 1000).toFixed(1)} s` : 'already present'}\n`);
  return 0;
}
