import path from 'node:path';
import { parseArgs } from 'node:util';
import { startSluice, PolicyLoadError } from '../app/index.js';
import type { Sluice } from '../app/index.js';
import { loadPolicyFile, parsePolicy, formatPolicyError, DEFAULT_POLICY_YAML } from '../rules/index.js';
import type { Policy } from '../rules/index.js';
import { prepareSandbox, listSandboxes, stopSandbox, buildBaseImage, createSandboxAttribution } from '../sandbox/index.js';
import type { PreparedSandbox, RunningSandbox, SandboxDriver } from '../sandbox/index.js';
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

/**
 * `sluice run -- CMD`: a sandbox whose only way out is a Sluice started for it alone, listening
 * on the sandbox's side of the host (its veth or bridge address). Everything created is removed
 * on every way out: CMD's exit, Ctrl-C, SIGTERM, or an error.
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

  let prepared: PreparedSandbox | undefined;
  let sluice: Sluice | undefined;
  let running: RunningSandbox | undefined;
  // The proxy starts before the sandbox does: attribution waits for it (no client exists before).
  let started: (sandbox: RunningSandbox | undefined) => void = () => undefined;
  const sandboxStarted = new Promise<RunningSandbox | undefined>((resolve) => (started = resolve));
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
    for (const s of signals) process.on(s, forward);
    running = await prepared.start({
      proxy: { host: sluice.host, port: sluice.port, caCertPem: sluice.caCertPem, authToken: prepared.name },
      stdio: 'inherit',
      env: sluice.pipeline.envFor(prepared.name),
    });
    started(running);
    return await running.wait();
  } catch (err) {
    if (err instanceof PolicyLoadError) {
      for (const line of err.errors) io.stderr.write(`${line}\n`);
      return 1;
    }
    io.stderr.write(`sluice run: ${(err as Error).message}\n`);
    return 125;
  } finally {
    started(undefined);
    for (const s of signals) process.off(s, forward);
    process.off('SIGINT', ignore);
    await running?.remove().catch(() => undefined);
    await prepared?.remove().catch(() => undefined);
    await sluice?.close().catch(() => undefined);
  }
}

/** `sluice ps`: the sandboxes Sluice started that still exist. */
export async function ps(_argv: string[], io: CliIO): Promise<number> {
  const all = await listSandboxes();
  io.stdout.write(`${['NAME', 'DRIVER', 'ID', 'CREATED', 'STATE', 'COMMAND'].join('\t')}\n`);
  for (const s of all) io.stdout.write(`${[s.name, s.driver, s.id.slice(0, 12), s.createdAt, s.running ? 'running' : 'exited', s.command.join(' ')].join('\t')}\n`);
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
