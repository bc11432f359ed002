import { loadPolicyFile, formatPolicyError, compilePolicy, policyJsonSchema, DEFAULT_POLICY_YAML } from '../rules/index.js';
import type { Invocation } from './args.js';
import type { CliIO } from './io.js';

/** `sluice policy check FILE`: 0 when valid; 1 after printing every error as file:line:col: message. */
export async function policyCheck(inv: Invocation, io: CliIO): Promise<number> {
  const file = inv.positionals[0]!;
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

/** `sluice policy show`: the embedded default policy, a starting point for your own. */
export async function policyShow(_inv: Invocation, io: CliIO): Promise<number> {
  io.stdout.write(DEFAULT_POLICY_YAML);
  return 0;
}

/** `sluice policy schema`: the JSON Schema editors validate policy files with. */
export async function policySchema(_inv: Invocation, io: CliIO): Promise<number> {
  const schema = { title: 'Sluice policy', ...policyJsonSchema() };
  io.stdout.write(`${JSON.stringify(schema, null, 2)}\n`);
  return 0;
}
