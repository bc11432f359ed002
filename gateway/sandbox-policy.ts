import { SluiceError } from '../core/index.js';
import { parsePolicy, formatPolicyError } from '../rules/index.js';
import type { Policy } from '../rules/index.js';
import { emitSandbox } from './live-sandbox.js';
import type { Live, Sandboxes } from './live-sandbox.js';
import { changedStaticSections, refuseStaticChange } from './policy-sections.js';
import { writePolicyText, writeRecord } from './records.js';
import type { SandboxRecord } from './records.js';

/**
 * Parsed as a sandbox's policy: its listener attributes each connection to the program in the
 * sandbox that opened it, so `binaries` is enforced and needs no warning.
 */
export function parseSandboxPolicy(text: string, label: string): { policy: Policy; warnings: string[] } {
  const parsed = parsePolicy(text, label, { sandboxed: true });
  if (!parsed.policy || parsed.errors.length) {
    const errors = parsed.errors.map(formatPolicyError);
    throw new SluiceError('SLUICE_POLICY_INVALID', `invalid policy: ${errors.length} error(s)`, { reason: errors.join('; '), errors });
  }
  return { policy: parsed.policy, warnings: (parsed.warnings ?? []).map(formatPolicyError) };
}

/**
 * Applies a new policy to one running sandbox: refused (409) when it would change a static
 * section, (422) when it is invalid; otherwise in force for that sandbox at once.
 */
export async function changeSandboxPolicy(set: Sandboxes, live: Live, text: string): Promise<{ record: SandboxRecord; closedTunnels: number }> {
  const { record } = live;
  if (record.state !== 'running' || !live.listener) throw new SluiceError('SLUICE_API_CONFLICT', `sandbox ${record.name} is ${record.state}; only a running sandbox's policy can change`);
  let next: { policy: Policy; warnings: string[] };
  try {
    next = parseSandboxPolicy(text, `policy of ${record.name}`);
  } catch (err) {
    emitSandbox(set, record, 'policy_refused', `policy refused: ${(err as SluiceError).message}`);
    throw err;
  }
  const locked = changedStaticSections(live.listener.policy(), next.policy);
  if (locked.length > 0) {
    const err = refuseStaticChange(record.name, locked);
    emitSandbox(set, record, 'policy_refused', err.message);
    throw err;
  }
  const result = await live.listener.apply(next.policy, `policy of sandbox ${record.name} updated (revision ${record.policyRevision + 1})`, next.warnings);
  if (!result.ok) {
    emitSandbox(set, record, 'policy_refused', `policy could not be applied: ${result.errors.join('; ')}`);
    throw new SluiceError('SLUICE_POLICY_INVALID', `policy could not be applied: ${result.errors.join('; ')}`, { reason: result.errors.join('; '), errors: result.errors });
  }
  record.policyRevision += 1;
  record.policyUpdatedAt = new Date().toISOString();
  writePolicyText(set.home, record.name, text);
  writeRecord(set.home, record);
  emitSandbox(set, record, 'policy_changed', `policy revision ${record.policyRevision} in force${result.closedTunnels ? `; ${result.closedTunnels} tunnel(s) it no longer allows were closed` : ''}`);
  return { record, closedTunnels: result.closedTunnels };
}
