import { readFile } from 'node:fs/promises';
import { loadPolicyFile, formatPolicyError } from '../rules/index.js';
import { UsageError, flag } from './args.js';
import type { Invocation } from './args.js';
import { describeError, findGateway } from './gateway-client.js';
import { resolveHome } from './home.js';
import type { CliIO } from './io.js';

/**
 * `sluice policy get NAME` prints a sandbox's policy as last set; `sluice policy set NAME FILE`
 * replaces it on the running sandbox: network, inference, privacy, providers and middlewares apply
 * at once; a change to filesystem_policy, landlock or process is refused, naming the section.
 * `--default` instead of NAME: the gateway's default policy.
 */
export const policyGet = (inv: Invocation, io: CliIO) => remotePolicy('get', inv, io);
export const policySet = (inv: Invocation, io: CliIO) => remotePolicy('set', inv, io);

async function remotePolicy(sub: 'get' | 'set', inv: Invocation, io: CliIO): Promise<number> {
  const byDefault = flag(inv, 'default');
  const want = (sub === 'get' ? 0 : 1) + (byDefault ? 0 : 1);
  if (inv.positionals.length !== want) {
    throw new UsageError(byDefault ? 'NAME and --default exclude each other' : sub === 'get' ? 'missing NAME (or --default)' : 'expected NAME FILE (or --default FILE)', inv.command);
  }
  const name = byDefault ? undefined : inv.positionals[0]!;
  const route = name === undefined ? '/v1/policy' : `/v1/sandboxes/${encodeURIComponent(name)}/policy`;
  const client = await findGateway(resolveHome(inv.home, io.env), io.env);
  if (!client) {
    io.stderr.write(`sluice policy ${sub}: no gateway is running (start one with \`sluice up\`)\n`);
    return 1;
  }
  try {
    if (sub === 'get') {
      const res = await client.call('GET', route);
      if (res.status !== 200) {
        io.stderr.write(`sluice policy get: ${describeError(res.body)}\n`);
        return 1;
      }
      io.stdout.write(String(res.body.yaml));
      return 0;
    }
    const file = inv.positionals.at(-1)!;
    const loaded = await loadPolicyFile(file);
    // checked here first so that errors point into the user's file, not at an upload
    if (!loaded.policy || loaded.errors.length) {
      for (const e of loaded.errors) io.stderr.write(`${formatPolicyError(e)}\n`);
      return 1;
    }
    const res = await client.call('PUT', route, await readFile(file, 'utf8'), 'application/yaml');
    if (res.status !== 200) {
      io.stderr.write(`sluice policy set: ${describeError(res.body)}\n`);
      for (const line of (res.body.errors as string[] | undefined) ?? []) io.stderr.write(`  ${line}\n`);
      return 1;
    }
    const closed = Number(res.body.closed_tunnels ?? 0);
    const where = name === undefined ? `the default policy${res.body.persisted ? ' (written to its file)' : ''}` : `${String(res.body.sandbox)} (revision ${String(res.body.revision)})`;
    io.stdout.write(`policy in force for ${where}${closed ? `; ${closed} tunnel(s) it no longer allows were closed` : ''}\n`);
    return 0;
  } finally {
    client.close();
  }
}
