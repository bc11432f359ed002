import fs from 'node:fs';
import path from 'node:path';
import { createEventBus } from '../core/index.js';
import type { Destination, EventBus } from '../core/index.js';
import { compilePolicy, loadPolicyFile, parsePolicy, formatPolicyError, DEFAULT_POLICY_YAML } from '../rules/index.js';
import type { CompiledPolicy, Policy } from '../rules/index.js';
import { loadOrCreateCA, createLeafCache } from '../certs/index.js';
import { createAuditLog } from '../audit/index.js';
import { createForwarder, createProxyServer, createResolver } from '../proxy/index.js';
import type { ProxyLimits, ProxyServer } from '../proxy/index.js';
import { buildPipeline } from './pipeline.js';
import type { Pipeline } from './pipeline.js';

/**
 * The composition root: policy, CA, audit, stages and the listener, plus hot reload.
 * Nothing here is module-level: two Sluices can run in one process (tests do).
 */
export interface SluiceOptions {
  home: string;
  /** Policy file; without it the embedded default policy is used (and not watched). */
  policyFile?: string;
  listen?: { host?: string; port?: number };
  /** --resolve HOST=IP pins (trusted). */
  resolve?: Record<string, string>;
  /** --dns HOST:PORT */
  dns?: string;
  /** Where audit JSONL goes; default <home>/audit/audit.jsonl. */
  auditFile?: string;
  /** --verbose: one line per event on this stream. */
  human?: NodeJS.WritableStream;
  /** Extra CAs trusted for upstream TLS (tests; users set NODE_EXTRA_CA_CERTS). */
  upstreamCA?: string[];
  env?: NodeJS.ProcessEnv;
  limits?: Partial<ProxyLimits>;
  watch?: boolean;
  bus?: EventBus;
  /** Every client of this Sluice is this sandbox (`sluice run` starts one Sluice per sandbox). */
  sandbox?: string;
  /** Background health checks of LLM backends (ms); 0 disables them. */
  healthIntervalMs?: number;
  /** `audit`: learning mode, network-policy refusals are logged and let through (see CompileOptions). */
  enforcement?: 'enforce' | 'audit';
}

export interface ReloadResult {
  ok: boolean;
  errors: string[];
  closedTunnels: number;
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
  /** Load warnings of the policy Sluice started with (rules/warnings.ts). */
  readonly warnings: readonly string[];
  policy(): CompiledPolicy;
  /** Waits until every audit event emitted so far is on disk. */
  flushAudit(): Promise<void>;
  reload(): Promise<ReloadResult>;
  close(): Promise<void>;
}

export async function loadPolicy(file: string | undefined): Promise<{ policy?: Policy; errors: string[]; warnings: string[] }> {
  const result = file ? await loadPolicyFile(file) : parsePolicy(DEFAULT_POLICY_YAML, '<default policy>');
  return { ...(result.policy ? { policy: result.policy } : {}), errors: result.errors.map(formatPolicyError), warnings: (result.warnings ?? []).map(formatPolicyError) };
}

export class PolicyLoadError extends Error {
  constructor(readonly errors: string[]) {
    super(`invalid policy:\n${errors.join('\n')}`);
    this.name = 'PolicyLoadError';
  }
}

export async function startSluice(opts: SluiceOptions): Promise<Sluice> {
  const bus = opts.bus ?? createEventBus();
  const policyFile = opts.policyFile ? path.resolve(opts.policyFile) : undefined;
  const first = await loadPolicy(policyFile);
  if (!first.policy || first.errors.length) throw new PolicyLoadError(first.errors);
  const compileOptions = { enforcement: opts.enforcement ?? 'enforce' } as const;
  let compiled = compilePolicy(first.policy, compileOptions);
  const about = { ...(policyFile ? { file: policyFile } : {}), ...(opts.sandbox ? { sandbox: opts.sandbox } : {}) };

  fs.mkdirSync(opts.home, { recursive: true, mode: 0o700 });
  const auditFile = opts.auditFile ?? path.join(opts.home, 'audit', 'audit.jsonl');
  fs.mkdirSync(path.dirname(auditFile), { recursive: true, mode: 0o700 });
  const audit = createAuditLog(bus, { file: auditFile, ...(opts.human ? { human: opts.human } : {}) });
  const ca = await loadOrCreateCA(opts.home);
  const leaves = await createLeafCache(ca);

  const pipeline = await buildPipeline({
    policy: () => compiled,
    initial: first.policy,
    bus,
    home: opts.home,
    env: opts.env ?? process.env,
    ...(policyFile ? { baseDir: path.dirname(policyFile) } : {}),
    ...(opts.healthIntervalMs !== undefined ? { healthIntervalMs: opts.healthIntervalMs } : {}),
  });
  const pins = new Map<string, string>();
  for (const [host, ip] of Object.entries(opts.resolve ?? {})) pins.set(host, ip);
  const resolver = createResolver({ pins, ...(opts.dns ? { dnsServer: opts.dns } : {}) });
  const forwarder = createForwarder({ ...(opts.upstreamCA ? { extraCA: opts.upstreamCA } : {}), ...(opts.limits?.connectTimeoutMs ? { connectTimeoutMs: opts.limits.connectTimeoutMs } : {}) });
  const server = await createProxyServer({
    ...(opts.listen ? { listen: opts.listen } : {}),
    stages: () => pipeline.stages,
    secureContextFor: (host) => leaves.secureContextFor(host),
    resolver,
    forwarder,
    bus,
    ...(opts.limits ? { limits: opts.limits } : {}),
    classifier: pipeline.classifier,
    ...(opts.sandbox ? { sandbox: opts.sandbox } : {}),
  });
  bus.emit({ type: 'policy', time: Date.now(), activity: 'loaded', ...about, reason: `${policyFile ? `policy loaded from ${policyFile}` : 'embedded default policy loaded'}${opts.enforcement === 'audit' ? ' (learning mode: network-policy refusals are logged, not enforced)' : ''}`, ...(first.warnings.length ? { warnings: first.warnings } : {}) });

  async function reload(): Promise<ReloadResult> {
    const next = await loadPolicy(policyFile);
    if (!next.policy || next.errors.length) {
      bus.emit({ type: 'policy', time: Date.now(), activity: 'rejected', ...about, reason: 'invalid policy rejected; the last good policy stays in force', errors: next.errors });
      return { ok: false, errors: next.errors, closedTunnels: 0 };
    }
    let nextCompiled: CompiledPolicy;
    try {
      nextCompiled = compilePolicy(next.policy, compileOptions);
      await pipeline.reload(next.policy, nextCompiled);
    } catch (err) {
      const errors = [(err as Error).message];
      bus.emit({ type: 'policy', time: Date.now(), activity: 'rejected', ...about, reason: 'policy could not be applied; the last good policy stays in force', errors });
      return { ok: false, errors, closedTunnels: 0 };
    }
    compiled = nextCompiled;
    const closedTunnels = server.recheckTunnels((dest: Destination) => pipeline.stillAllowed(dest));
    bus.emit({ type: 'policy', time: Date.now(), activity: 'loaded', ...about, reason: `policy reloaded${closedTunnels ? `; ${closedTunnels} tunnel(s) no longer allowed were closed` : ''}`, ...(next.warnings.length ? { warnings: next.warnings } : {}) });
    return { ok: true, errors: [], closedTunnels };
  }

  const watcher = policyFile && opts.watch !== false ? watchFile(policyFile, () => void reload()) : undefined;

  return {
    url: server.url,
    host: server.host,
    port: server.port,
    caCertPath: ca.certPath,
    caCertPem: ca.certPem,
    auditFile,
    bus,
    server,
    pipeline,
    warnings: first.warnings,
    policy: () => compiled,
    flushAudit: () => audit.flush(),
    reload,
    async close() {
      watcher?.close();
      await server.close();
      await forwarder.close();
      await pipeline.close();
      leaves.close();
      await audit.close();
    },
  };
}

/**
 * Watches the file's directory, not the file: editors and `kubectl cp`-style tools replace
 * files by rename, which a watch on the old inode would miss. Changes are debounced.
 */
function watchFile(file: string, onChange: () => void): { close(): void } {
  const dir = path.dirname(file);
  const base = path.basename(file);
  let timer: NodeJS.Timeout | undefined;
  let last = statKey(file);
  const watcher = fs.watch(dir, { persistent: false }, (_event, name) => {
    if (name !== null && name !== base) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      const key = statKey(file);
      if (key === last) return;
      last = key;
      onChange();
    }, 50);
  });
  watcher.on('error', () => undefined);
  return {
    close() {
      clearTimeout(timer);
      watcher.close();
    },
  };
}

function statKey(file: string): string {
  try {
    const st = fs.statSync(file);
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return 'missing';
  }
}
