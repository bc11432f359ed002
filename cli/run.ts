import { randomBytes } from 'node:crypto';
import type { Invocation } from './args.js';
import { findGateway } from './gateway-client.js';
import { resolveHome } from './home.js';
import type { CliIO } from './io.js';
import { runOptions } from './run-options.js';

/**
 * `sluice run [-d] -- CMD`: on the running gateway when there is one (`sluice up`), otherwise
 * in a Sluice started for this sandbox alone; one line on stderr says which. Only this file and
 * the client are loaded on the gateway path, which keeps `sluice run -- true` short.
 */
export async function run(inv: Invocation, io: CliIO): Promise<number> {
  const opts = runOptions(inv, io.env);
  if (!opts.quiet) for (const note of opts.notes) io.stderr.write(`sluice run: ${note}\n`);
  const home = resolveHome(inv.home, io.env);
  // the sandbox module's naming rule (sandboxName), applied here so that the line below can say it
  const name = opts.name ? (opts.name.startsWith('sluice-') ? opts.name : `sluice-${opts.name}`) : `sluice-${randomBytes(4).toString('hex')}`;
  // Loaded while the gateway answers its health check rather than after it.
  const remote = opts.noGateway ? undefined : import('./run-remote.js');
  remote?.catch(() => undefined);
  const gateway = opts.noGateway ? undefined : await findGateway(home, io.env);
  if (gateway) {
    if (opts.resolve || opts.dns || opts.verbose || opts.learning) {
      gateway.close();
      io.stderr.write('sluice run: --resolve, --dns, --verbose and --enforcement configure a Sluice of its own; the running gateway has its own (`sluice up --resolve …`, `sluice up --enforcement audit`), or add --no-gateway\n');
      return 2;
    }
    const { runOnGateway } = await remote!;
    return runOnGateway(gateway, { ...opts, name }, io);
  }
  if (opts.detach) {
    io.stderr.write('sluice run -d: no gateway is running to keep the sandbox after this command returns; start one with `sluice up`\n');
    return 2;
  }
  if (!opts.quiet) io.stderr.write(`sluice: no gateway running; ${name} gets a Sluice of its own in this process\n`);
  const { runEphemeral } = await import('./run-ephemeral.js');
  return runEphemeral({ ...opts, name }, home, io);
}
