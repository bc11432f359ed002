import { startSluice, PolicyLoadError } from '../app/index.js';
import { tuneHeapGrowth } from '../core/index.js';
import type { Sluice } from '../app/index.js';
import { sandboxLimits } from '../gateway/index.js';
import { loadPolicyFile, parsePolicy, formatPolicyError, DEFAULT_POLICY_YAML } from '../rules/index.js';
import type { Policy } from '../rules/index.js';
import { cleanupLeftovers, attributionOnStart, explainSpawnError, prepareSandbox } from '../sandbox/index.js';
import type { PreparedSandbox, RunningSandbox } from '../sandbox/index.js';
import { createDenialReporter } from './denial-reporter.js';
import type { DenialReporter } from './denial-reporter.js';
import { registerInstance } from './instances.js';
import type { CliIO } from './io.js';
import type { RunOptions } from './run-options.js';
import { createStopper, signalExit, STOP_GRACE_MS } from './stopper.js';
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
 * exit, Ctrl-C, SIGTERM, or an error; if this process is killed outright, the sandbox's reaper
 * removes it.
 */
export async function runEphemeral(opts: RunOptions, home: string, io: CliIO): Promise<number> {
  const policy = await staticPolicy(opts.policy, io);
  if (!policy) return 1;
  const say = (line: string) => io.stderr.write(`sluice run: ${line}\n`);
  // what dead runs left behind goes while this one starts (it never touches a live sandbox)
  const sweep = cleanupLeftovers().catch(() => undefined);

  let prepared: PreparedSandbox | undefined;
  let sluice: Sluice | undefined;
  let running: RunningSandbox | undefined;
  let reporter: DenialReporter | undefined;
  let instance: { close(): void } | undefined;
  const tty = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  const stopper = createStopper(() => running, tty);
  // The proxy starts before the sandbox does: attribution waits for it (no client exists before).
  const { attributeClient, started } = attributionOnStart();
  try {
    const limits = sandboxLimits(policy.process?.limits);
    prepared = await prepareSandbox({
      driver: opts.driver,
      command: opts.command,
      ...(opts.name ? { name: opts.name } : {}),
      ...(opts.image ? { image: opts.image } : {}),
      ...(opts.workdir ? { workdir: opts.workdir } : {}),
      ...(Object.keys(opts.env).length ? { env: opts.env } : {}),
      ...(opts.readOnly.length ? { readOnlyMounts: opts.readOnly } : {}),
      tty,
      ...(policy.filesystem_policy ? { filesystem: policy.filesystem_policy } : {}),
      ...(policy.process ? { process: policy.process } : {}),
      ...(policy.landlock ? { landlock: policy.landlock } : {}),
      ...(limits ? { limits } : {}),
    });
    for (const line of [...prepared.warnings, ...prepared.notices]) say(line);
    stopper.check();
    tuneHeapGrowth(); // this process is the sandbox's proxy (core/heap.ts)
    sluice = await startSluice({
      home,
      ...(opts.policy ? { policyFile: opts.policy } : {}),
      listen: { host: prepared.proxyListen.host, port: prepared.proxyListen.port ?? 0 },
      resolve: parseResolve(opts.resolve),
      ...(opts.dns ? { dns: opts.dns } : {}),
      ...(opts.verbose ? { human: io.stderr } : {}),
      env: io.env,
      ...(opts.learning ? { enforcement: 'audit' as const } : {}),
      sandbox: prepared.name,
      attributeClient,
    });
    // --verbose already prints every event; the reporter would repeat the refusals.
    if (!opts.quiet && !opts.verbose) reporter = createDenialReporter(sluice.bus, io.stderr, { sandbox: prepared.name });
    if (opts.learning && !opts.quiet) say(`learning mode in ${prepared.name}: what the network policy would refuse is let through and logged`);
    const live = sluice;
    instance = registerInstance(
      home,
      { kind: 'run', url: sluice.url, auditFile: sluice.auditFile, sandbox: prepared.name, enforcement: opts.learning ? 'audit' : 'enforce', ...(opts.policy ? { policyFile: opts.policy } : {}) },
      { health: () => live.pipeline.health(), openTunnels: () => live.server.openTunnels, openConnections: () => live.server.openConnections },
    );
    stopper.check();
    running = await prepared.start({
      proxy: { host: sluice.host, port: sluice.port, caCertPem: sluice.caCertPem, authToken: `${prepared.name}:${sluice.pipeline.proxyTokenFor(prepared.name)}` },
      stdio: 'inherit',
      env: sluice.pipeline.envFor(prepared.name),
    });
    started(running);
    stopper.started();
    const code = await Promise.race([running.wait(), stopper.stopped]);
    if (stopper.signal) say(`stopped by ${stopper.signal}${stopper.forced ? ` (the command did not exit within ${STOP_GRACE_MS / 1000} s of it: killed)` : ''}`);
    for (const line of await running.exitNotes().catch(() => [])) say(line);
    return stopper.signal ? signalExit(stopper.signal) : code;
  } catch (err) {
    if (stopper.signal) {
      say(`stopped by ${stopper.signal} before the command started`);
      return signalExit(stopper.signal);
    }
    if (err instanceof PolicyLoadError) {
      for (const line of err.errors) io.stderr.write(`${line}\n`);
      return 1;
    }
    say(explainSpawnError(err) ?? (err as Error).message);
    return 125;
  } finally {
    started(undefined);
    stopper.dispose();
    instance?.close();
    await running?.remove().catch(() => undefined);
    await prepared?.remove().catch(() => undefined);
    await sluice?.close().catch(() => undefined);
    if (reporter) {
      reporter.close();
      for (const line of reporter.summary()) io.stderr.write(`${line}\n`);
    }
    // a clean-up stuck on an unresponsive engine must not keep this run from ending
    await Promise.race([sweep, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
  }
}
