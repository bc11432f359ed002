import fs from 'node:fs';
import path from 'node:path';
import { SluiceError } from '../core/index.js';
import { parsePolicy, formatPolicyError, watchPolicyFile as watchFile } from '../rules/index.js';
import type { Policy } from '../rules/index.js';
import type { DefaultPolicy } from '../gateway/index.js';
import type { Tenant } from './tenant.js';

/**
 * The gateway's default policy: the one its shared listener enforces and new sandboxes start
 * from. It follows its file (when there is one) like `sluice up` always has, and can be set
 * through the API, which writes the file too so that the two never disagree; a file change
 * whose text is what is already in force (our own write) is not applied twice.
 */
export function createDefaultPolicy(tenant: Tenant, opts: { file?: string; text: string; watch: boolean }): DefaultPolicy & { close(): void } {
  let text = opts.text;
  const file = opts.file !== undefined ? { file: opts.file } : {};
  const label = opts.file ?? '<default policy>';

  function parse(next: string): { policy: Policy; warnings: string[] } {
    const parsed = parsePolicy(next, label);
    if (!parsed.policy || parsed.errors.length) {
      const errors = parsed.errors.map(formatPolicyError);
      throw new SluiceError('SLUICE_POLICY_INVALID', `invalid policy: ${errors.length} error(s)`, { reason: errors.join('; '), errors });
    }
    return { policy: parsed.policy, warnings: (parsed.warnings ?? []).map(formatPolicyError) };
  }

  async function fromFile(): Promise<void> {
    let next: string;
    try {
      next = await fs.promises.readFile(opts.file!, 'utf8');
    } catch (err) {
      tenant.bus.emit({ type: 'policy', time: Date.now(), activity: 'rejected', ...file, reason: 'policy file unreadable; the last good policy stays in force', errors: [`${label}: ${(err as Error).message}`] });
      return;
    }
    if (next === text) return;
    let policy: { policy: Policy; warnings: string[] };
    try {
      policy = parse(next);
    } catch (err) {
      const errors = ((err as SluiceError).context.errors as string[] | undefined) ?? [(err as Error).message];
      tenant.bus.emit({ type: 'policy', time: Date.now(), activity: 'rejected', ...file, reason: 'invalid policy rejected; the last good policy stays in force', errors });
      return;
    }
    const result = await tenant.apply(policy.policy, 'policy reloaded', policy.warnings);
    if (result.ok) text = next;
  }

  const watcher = opts.file !== undefined && opts.watch ? watchFile(opts.file, () => void fromFile()) : undefined;

  return {
    get: () => ({ text, policy: tenant.source(), ...file, ...(opts.file !== undefined ? { dir: path.dirname(opts.file) } : {}) }),
    async set(next) {
      const { policy, warnings } = parse(next);
      const result = await tenant.apply(policy, 'default policy set through the API', warnings);
      if (!result.ok) throw new SluiceError('SLUICE_POLICY_INVALID', `policy could not be applied: ${result.errors.join('; ')}`, { reason: result.errors.join('; '), errors: result.errors });
      text = next;
      let persisted = false;
      if (opts.file !== undefined) {
        const tmp = `${opts.file}.sluice-${process.pid}.tmp`;
        fs.writeFileSync(tmp, next, { mode: fs.existsSync(opts.file) ? fs.statSync(opts.file).mode & 0o777 : 0o600 });
        fs.renameSync(tmp, opts.file);
        persisted = true;
      }
      return { closedTunnels: result.closedTunnels, persisted };
    },
    reloadSecrets: () => tenant.pipeline.reloadSecrets(tenant.source().providers),
    close: () => watcher?.close(),
  };
}
