import { parseArgs } from 'node:util';
import { loadPolicyFile, parsePolicy, formatPolicyError, compilePolicy, DEFAULT_POLICY_YAML } from '../rules/index.js';
import type { CliIO } from './io.js';

export const POLICY_USAGE = 'usage: sluice policy check FILE | sluice policy show';

/** `sluice policy check FILE`: 0 when valid; 1 after printing every error as file:line:col: message. */
export async function policy(argv: string[], io: CliIO): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'show') {
    io.stdout.write(DEFAULT_POLICY_YAML);
    return 0;
  }
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

/** `sluice explain [--policy FILE] METHOD URL`: the decision, the rule, the near misses. */
export async function explain(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { policy: { type: 'string' } }, allowPositionals: true, strict: true });
  if (positionals.length !== 2) {
    io.stderr.write('usage: sluice explain [--policy FILE] METHOD URL\n');
    return 2;
  }
  const result = values.policy ? await loadPolicyFile(values.policy) : parsePolicy(DEFAULT_POLICY_YAML, '<default policy>');
  if (!result.policy || result.errors.length) {
    for (const e of result.errors) io.stderr.write(`${formatPolicyError(e)}\n`);
    return 1;
  }
  const compiled = compilePolicy(result.policy);
  const [method, url] = positionals as [string, string];
  let explained;
  try {
    explained = compiled.explain(method.toUpperCase(), url);
  } catch (err) {
    io.stderr.write(`sluice explain: ${(err as Error).message}\n`);
    return 2;
  }
  for (const line of explained.lines) io.stdout.write(`${line}\n`);
  return explained.decision.action === 'allow' ? 0 : 1;
}
