import fs from 'node:fs';
import path from 'node:path';
import { createEventBus } from '../core/index.js';
import type { EventBus } from '../core/index.js';
import { loadOrCreateCA, createLeafCache } from '../certs/index.js';
import type { LeafCache } from '../certs/index.js';
import { createAuditLog } from '../audit/index.js';
import type { AuditLineListener } from '../audit/index.js';
import { createForwarder, createResolver } from '../proxy/index.js';
import type { Forwarder, ProxyLimits, Resolver } from '../proxy/index.js';

/**
 * What every listener of one Sluice process shares: the event bus and its audit log, the CA
 * and leaf cache, the resolver and the upstream connection pool. A gateway runs one runtime and
 * many tenants (its default listener and one per sandbox), so a hundred sandboxes cost one CA,
 * one audit file and one pool, not a hundred.
 */
export interface RuntimeOptions {
  home: string;
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
  bus?: EventBus;
  /** Background health checks of LLM backends (ms); 0 disables them. */
  healthIntervalMs?: number;
  /** Memory the minted leaf certificates may hold (certs/leaf-cache.ts); default 32 MiB. */
  leafCacheBytes?: number;
}

export interface Runtime {
  readonly home: string;
  readonly bus: EventBus;
  readonly env: NodeJS.ProcessEnv;
  readonly caCertPath: string;
  readonly caCertPem: string;
  readonly auditFile: string;
  readonly leaves: LeafCache;
  readonly resolver: Resolver;
  readonly forwarder: Forwarder;
  readonly limits: Partial<ProxyLimits> | undefined;
  readonly healthIntervalMs: number | undefined;
  /**
   * Adds a tenant's scrubber (its real credentials and secret types) for strings bound for the
   * audit log and --verbose; every string passes through all of them. Returns its removal.
   */
  addLogScrubber(scrub: (value: string) => string): () => void;
  /** Each later event as the audit file holds it, scrubbed and rendered once (the gateway's event stream). */
  onAuditLine(listener: AuditLineListener): () => void;
  /** Waits until every audit event emitted so far is on disk. */
  flushAudit(): Promise<void>;
  /** Audit lines dropped since start (the disk could not keep up, or failed). */
  readonly auditDropped: number;
  close(): Promise<void>;
}

export async function createRuntime(opts: RuntimeOptions): Promise<Runtime> {
  const bus = opts.bus ?? createEventBus();
  fs.mkdirSync(opts.home, { recursive: true, mode: 0o700 });
  const auditFile = opts.auditFile ?? path.join(opts.home, 'audit', 'audit.jsonl');
  fs.mkdirSync(path.dirname(auditFile), { recursive: true, mode: 0o700 });
  // Tenants (which know the secrets) are built after the audit log, which must see their first events.
  const scrubbers = new Set<(value: string) => string>();
  const scrub = (value: string) => {
    let out = value;
    for (const s of scrubbers) out = s(out);
    return out;
  };
  const audit = createAuditLog(bus, { file: auditFile, ...(opts.human ? { human: opts.human } : {}), scrub });
  const ca = await loadOrCreateCA(opts.home);
  const leaves = await createLeafCache(ca, opts.leafCacheBytes !== undefined ? { maxBytes: opts.leafCacheBytes } : {});
  const pins = new Map<string, string>(Object.entries(opts.resolve ?? {}));
  const resolver = createResolver({ pins, ...(opts.dns ? { dnsServer: opts.dns } : {}) });
  const forwarder = createForwarder({ ...(opts.upstreamCA ? { extraCA: opts.upstreamCA } : {}), ...(opts.limits?.connectTimeoutMs ? { connectTimeoutMs: opts.limits.connectTimeoutMs } : {}) });
  return {
    home: opts.home,
    bus,
    env: opts.env ?? process.env,
    caCertPath: ca.certPath,
    caCertPem: ca.certPem,
    auditFile,
    leaves,
    resolver,
    forwarder,
    limits: opts.limits,
    healthIntervalMs: opts.healthIntervalMs,
    onAuditLine: (listener) => audit.onLine(listener),
    addLogScrubber(fn) {
      scrubbers.add(fn);
      return () => void scrubbers.delete(fn);
    },
    flushAudit: () => audit.flush(),
    get auditDropped() {
      return audit.dropped;
    },
    async close() {
      await forwarder.close();
      leaves.close();
      await audit.close();
    },
  };
}
