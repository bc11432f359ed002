import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadPolicyFile, formatPolicyError, compilePolicy, DEFAULT_POLICY_YAML } from '../rules/index.js';
import type { CliIO } from './io.js';
import { describeError, findGateway } from './gateway-client.js';
import { resolveHome } from './home.js';

export const POLICY_USAGE = 'usage: sluice policy check FILE | sluice policy show | sluice policy get NAME|--default | sluice policy set NAME|--default FILE';

/** `sluice policy check FILE`: 0 when valid; 1 after printing every error as file:line:col: message. */
export async function policy(argv: string[], io: CliIO): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'show') {
    io.stdout.write(DEFAULT_POLICY_YAML);
    return 0;
  }
  if (sub === 'get' || sub === 'set') return remotePolicy(sub, rest, io);
  if (sub !== 'check' || rest.length !== 1) {
    io.stderr.write(`${POLICY_USAGE}\n`);
    return 2;
  }
  const file = rest[0]!;
  const { policy: parsed, errors, warnings } = await loadPolicyFile(file);
  if (errors.length || !parsed) {
    for (const e of errors) io.stderr.write(`${formatPolicyError(e)}\n`);
    return 1;
  }
  compilePolicy(parsed);
  // What loads but behaves differently from OpenShell, or not at all, is said here, never silently.
  for (const w of warnings ?? []) io.stderr.write(`${formatPolicyError(w)}\n`);
  const count = Object.keys(parsed.network_policies ?? {}).length;
  io.stdout.write(`${file}: ok (${count} network ${count === 1 ? 'policy' : 'policies'})\n`);
  return 0;
}

/**
 * `sluice policy get NAME` prints a sandbox's policy as last set; `sluice policy set NAME FILE`
 * replaces it on the running sandbox: network, inference, privacy, providers and middlewares apply
 * at once; a change to filesystem_policy, landlock or process is refused, naming the section.
 * `--default` instead of NAME: the gateway's default policy.
 */
async function remotePolicy(sub: 'get' | 'set', argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { default: { type: 'boolean' }, home: { type: 'string' } }, allowPositionals: true, strict: true });
  const want = (sub === 'get' ? 0 : 1) + (values.default ? 0 : 1);
  if (positionals.length !== want) {
    io.stderr.write(`${POLICY_USAGE}\n`);
    return 2;
  }
  const name = values.default ? undefined : positionals[0]!;
  const route = name === undefined ? '/v1/policy' : `/v1/sandboxes/${encodeURIComponent(name)}/policy`;
  const client = await findGateway(resolveHome(values.home, io.env), io.env);
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
    const file = positionals.at(-1)!;
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
