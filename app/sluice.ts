import path from 'node:path';
import type { AttributeClient, EventBus } from '../core/index.js';
import { loadPolicyFile, parsePolicy, formatPolicyError, watchPolicyFile as watchFile, DEFAULT_POLICY_YAML } from '../rules/index.js';
import type { CompiledPolicy, Policy } from '../rules/index.js';
import type { ProxyServer } from '../proxy/index.js';
import type { LeafCache } from '../certs/index.js';
import type { Pipeline } from './pipeline.js';
import { createRuntime } from './runtime.js';
import type { Runtime, RuntimeOptions } from './runtime.js';
import { startTenant } from './tenant.js';
import type { ReloadResult, Tenant } from './tenant.js';

/**
 * The composition root for one listener: a runtime (CA, audit, pool) and one tenant (policy,
 * stages, listener), plus hot reload of the policy file. Nothing here is module-level: two
 * Sluices can run in one process (tests do). The gateway (app/gateway.ts) builds on the same parts.
 */
export interface SluiceOptions extends RuntimeOptions {
  /** Policy file; without it the embedded default policy is used (and not watched). */
  policyFile?: string;
  listen?: { host?: string; port?: number };
  watch?: boolean;
  /** Every client of this Sluice is this sandbox (an ephemeral `sluice run` starts one Sluice per sandbox). */
  sandbox?: string;
  /**
   * With `sandbox`: tells which program in the sandbox opened a connection, so that policies'
   * `binaries` are enforced (sandbox/connection-identity.ts). Without it `binaries` cannot narrow
   * a policy, and loading one that names them warns.
   */
  attributeClient?: AttributeClient;
  /** `audit`: learning mode, network-policy refusals are logged and let through (see CompileOptions). */
  enforcement?: 'enforce' | 'audit';
}

export interface Sluice {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly caCertPath: string;
  readonly caCertPem: string;
  readonly auditFile: string;
  readonly bus: EventBus;
  readonly server: ProxyServer;
  readonly pipeline: Pipeline;
  readonly leafCache: LeafCache;
  /** Load warnings of the policy Sluice started with (rules/warnings.ts). */
  readonly warnings: readonly string[];
  policy(): CompiledPolicy;
  /** Waits until every audit event emitted so far is on disk. */
  flushAudit(): Promise<void>;
  reload(): Promise<ReloadResult>;
  close(): Promise<void>;
}

export class PolicyLoadError extends Error {
  constructor(readonly errors: string[]) {
    super(`invalid policy:\n${errors.join('\n')}`);
    this.name = 'PolicyLoadError';
  }
}

/**
 * The policy file, or the embedded default; errors and warnings formatted as file:line:col: message.
 * `offThread` for reloads: the proxy is serving then, and a large policy must not stall it.
 */
export async function loadPolicy(file: string | undefined, opts: { offThread?: boolean; sandboxed?: boolean } = {}): Promise<{ policy?: Policy; text?: string; errors: string[]; warnings: string[] }> {
  const { offThread, ...warnings } = opts;
  const result = file !== undefined ? await loadPolicyFile(file, { offThread: offThread === true, ...warnings }) : { ...parsePolicy(DEFAULT_POLICY_YAML, '<default policy>', warnings), text: DEFAULT_POLICY_YAML };
  return { ...(result.policy ? { policy: result.policy, text: result.text } : {}), errors: result.errors.map(formatPolicyError), warnings: (result.warnings ?? []).map(formatPolicyError) };
}

export async function startSluice(opts: SluiceOptions): Promise<Sluice> {
  const policyFile = opts.policyFile ? path.resolve(opts.policyFile) : undefined;
  const load = { sandboxed: opts.attributeClient !== undefined };
  const first = await loadPolicy(policyFile, load);
  if (!first.policy || first.errors.length) throw new PolicyLoadError(first.errors);
  const runtime = await createRuntime(opts);
  let tenant: Tenant;
  try {
    tenant = await startTenant(runtime, {
      policy: first.policy,
      listen: { host: opts.listen?.host ?? '127.0.0.1', port: opts.listen?.port ?? 3128 },
      ...(opts.sandbox !== undefined ? { sandbox: opts.sandbox } : {}),
      ...(opts.attributeClient ? { attributeClient: opts.attributeClient } : {}),
      ...(opts.enforcement ? { enforcement: opts.enforcement } : {}),
      ...(policyFile ? { baseDir: path.dirname(policyFile), file: policyFile } : {}),
    });
  } catch (err) {
    await runtime.close();
    throw err;
  }
  const watched = watchPolicyFile(tenant, policyFile, { watch: opts.watch !== false, warnings: first.warnings, load, learning: opts.enforcement === 'audit' });
  return sluiceOf(runtime, tenant, watched, first.warnings);
}

/** The policy file's reload (on change, or on request) for a tenant. */
export interface WatchedPolicy {
  reload(): Promise<ReloadResult>;
  close(): void;
}

export interface WatchOptions {
  watch: boolean;
  /** Load warnings of the policy already in force, carried by the first 'loaded' event. */
  warnings: readonly string[];
  /** How the file is read again (rules' WarningOptions: a sandbox's policy may enforce `binaries`). */
  load?: { sandboxed?: boolean };
  /** Learning mode is in force: the first 'loaded' event says so. */
  learning?: boolean;
}

export function watchPolicyFile(tenant: Tenant, policyFile: string | undefined, opts: WatchOptions): WatchedPolicy {
  const file = policyFile !== undefined ? { file: policyFile } : {};
  const warned = (w: readonly string[]) => (w.length ? { warnings: [...w] } : {});
  tenant.bus.emit({ type: 'policy', time: Date.now(), activity: 'loaded', ...file, reason: `${policyFile ? `policy loaded from ${policyFile}` : 'embedded default policy loaded'}${opts.learning ? ' (learning mode: network-policy refusals are logged, not enforced)' : ''}`, ...warned(opts.warnings) });
  async function reload(): Promise<ReloadResult> {
    const next = await loadPolicy(policyFile, { offThread: true, ...opts.load });
    if (!next.policy || next.errors.length) {
      tenant.bus.emit({ type: 'policy', time: Date.now(), activity: 'rejected', ...file, reason: 'invalid policy rejected; the last good policy stays in force', errors: next.errors });
      return { ok: false, errors: next.errors, closedTunnels: 0 };
    }
    return tenant.apply(next.policy, 'policy reloaded', next.warnings);
  }
  const watcher = policyFile && opts.watch ? watchFile(policyFile, () => void reload()) : undefined;
  return {
    reload,
    close: () => watcher?.close(),
  };
}

function sluiceOf(runtime: Runtime, tenant: Tenant, watched: WatchedPolicy, warnings: readonly string[]): Sluice {
  return {
    url: tenant.url,
    host: tenant.host,
    port: tenant.port,
    caCertPath: runtime.caCertPath,
    caCertPem: runtime.caCertPem,
    auditFile: runtime.auditFile,
    bus: runtime.bus,
    server: tenant.server,
    pipeline: tenant.pipeline,
    leafCache: runtime.leaves,
    warnings,
    policy: () => tenant.policy(),
    flushAudit: () => runtime.flushAudit(),
    reload: () => watched.reload(),
    async close() {
      watched.close();
      await tenant.close();
      await runtime.close();
    },
  };
}
