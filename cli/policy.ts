import { loadPolicyFile, formatPolicyError, compilePolicy, DEFAULT_POLICY_YAML } from '../rules/index.js';
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
