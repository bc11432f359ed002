import { startSluice, PolicyLoadError } from '../app/index.js';
import type { Sluice } from '../app/index.js';
import { loadPolicyFile, parsePolicy, formatPolicyError, DEFAULT_POLICY_YAML } from '../rules/index.js';
import type { Policy } from '../rules/index.js';
import { prepareSandbox } from '../sandbox/index.js';
import type { PreparedSandbox, RunningSandbox } from '../sandbox/index.js';
import type { CliIO } from './io.js';
import type { RunOptions } from './run-options.js';
import { parseResolve } from './up.js';

async function staticPolicy(file: string | undefined, io: CliIO): Promise<Policy | undefined> {
  const loaded = file ? await loadPolicyFile(file) : parsePolicy(DEFAULT_POLICY_YAML, '<default policy>');
  if (!loaded.policy || loaded.errors.length) {
    for (const e of loaded.errors) io.stderr.write(`${formatPolicyError(e)}\n`);
    return undefined;
  }
  return loaded.policy;
}

/**
 * `sluice run -- CMD` with no gateway running: a sandbox whose only way out is a Sluice started
 * for it alone, in this process, listening on the sandbox's side of the host (its veth or bridge
 * address). The terminal is CMD's own. Everything created is removed on every way out: CMD's
 * exit, Ctrl-C, SIGTERM, or an error.
 */
export async function runEphemeral(opts: RunOptions, home: string, io: CliIO): Promise<number> {
  const policy = await staticPolicy(opts.policy, io);
  if (!policy) return 1;

  let prepared: PreparedSandbox | undefined;
  let sluice: Sluice | undefined;
  let running: RunningSandbox | undefined;
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
      driver: opts.driver,
      command: opts.command,
      ...(opts.name ? { name: opts.name } : {}),
      ...(opts.image ? { image: opts.image } : {}),
      ...(opts.workdir ? { workdir: opts.workdir } : {}),
      ...(Object.keys(opts.env).length ? { env: opts.env } : {}),
      tty,
      ...(policy.filesystem_policy ? { filesystem: policy.filesystem_policy } : {}),
      ...(policy.process ? { process: policy.process } : {}),
    });
    sluice = await startSluice({
      home,
      ...(opts.policy ? { policyFile: opts.policy } : {}),
      listen: { host: prepared.proxyListen.host, port: prepared.proxyListen.port ?? 0 },
      resolve: parseResolve(opts.resolve),
      ...(opts.dns ? { dns: opts.dns } : {}),
      ...(opts.verbose ? { human: io.stderr } : {}),
      env: io.env,
      sandbox: prepared.name,
    });
    for (const s of signals) process.on(s, forward);
    running = await prepared.start({
      proxy: { host: sluice.host, port: sluice.port, caCertPem: sluice.caCertPem, authToken: `${prepared.name}:${sluice.pipeline.proxyTokenFor(prepared.name)}` },
      stdio: 'inherit',
      env: sluice.pipeline.envFor(prepared.name),
    });
    return await running.wait();
  } catch (err) {
    if (err instanceof PolicyLoadError) {
      for (const line of err.errors) io.stderr.write(`${line}\n`);
      return 1;
    }
    io.stderr.write(`sluice run: ${(err as Error).message}\n`);
    return 125;
  } finally {
    for (const s of signals) process.off(s, forward);
    process.off('SIGINT', ignore);
    await running?.remove().catch(() => undefined);
    await prepared?.remove().catch(() => undefined);
    await sluice?.close().catch(() => undefined);
  }
}
