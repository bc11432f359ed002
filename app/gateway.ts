import path from 'node:path';
import type { EventBus } from '../core/index.js';
import type { BackendHealth } from '../privacy/index.js';
import { acquireGatewayLock, createApiServer, createEventStream, createSandboxManager, gatewayRoutes, observeRoutes, openApiRoute, socketPathFor } from '../gateway/index.js';
import type { ApiServer, MetricsSource, Route, SandboxListener, SandboxManager } from '../gateway/index.js';
import { createDefaultPolicy } from './default-policy.js';
import { createRuntime } from './runtime.js';
import type { RuntimeOptions } from './runtime.js';
import { loadPolicy, PolicyLoadError } from './sluice.js';
import { startTenant } from './tenant.js';
import type { Tenant } from './tenant.js';
import { sluiceVersion } from './version.js';

/**
 * `sluice up`: one process hosting the proxy for host clients, every sandbox it starts (each
 * with its own listener, policy and placeholders, see gateway/sandbox-manager.ts) and the
 * control-plane API. Everything shares one runtime: CA, audit log, upstream pool, event bus.
 */
export interface GatewayOptions extends RuntimeOptions {
  /** The default policy's file (watched); without it the embedded default policy. */
  policyFile?: string;
  /** The shared proxy listener for host clients; default 127.0.0.1:3128. */
  listen?: { host?: string; port?: number };
  /** The API on TCP with TLS and bearer tokens, besides the unix socket. */
  api?: { host: string; port: number };
  /** Default <home>/gateway/api.sock. */
  socketPath?: string;
  watch?: boolean;
  /** Extra API routes (metrics, a dashboard): same auth, scopes, audit and OpenAPI entry. */
  routes?: Route[];
  /** How long stopping a sandbox waits after SIGTERM; default 5 s. */
  graceMs?: number;
  /** Sandbox networks kept ready per driver (gateway/sandbox-manager.ts); default 2, 0 for none. */
  warmNetworks?: number;
  /** `audit`: learning mode on the shared listener (rules' CompileOptions); sandboxes keep enforcing. */
  enforcement?: 'enforce' | 'audit';
}

export interface Gateway {
  /** The shared proxy listener. */
  readonly url: string;
  readonly socketPath: string;
  /** https://host:port of the TCP API, when enabled. */
  readonly apiUrl: string | undefined;
  readonly caCertPath: string;
  readonly auditFile: string;
  readonly bus: EventBus;
  readonly sandboxes: SandboxManager;
  /** Load warnings of the default policy it started with (rules/warnings.ts). */
  readonly warnings: readonly string[];
  /** Sandboxes a previous gateway left running, found and cleaned up at start. */
  readonly recovered: string[];
  /** The shared listener's live state, for `sluice status`. */
  readonly listener: { health(): Record<string, BackendHealth>; openTunnels(): number; openConnections(): number };
  flushAudit(): Promise<void>;
  /** What /metrics reads at scrape time (gateway/metrics.ts). */
  readonly metricsSource: MetricsSource;
  close(): Promise<void>;
}

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const policyFile = opts.policyFile ? path.resolve(opts.policyFile) : undefined;
  const first = await loadPolicy(policyFile);
  if (!first.policy || !first.text || first.errors.length) throw new PolicyLoadError(first.errors);
  const lock = acquireGatewayLock(opts.home);
  const cleanups: Array<() => unknown> = [() => lock.release()];
  const unwind = async () => {
    for (const fn of cleanups.reverse()) await fn();
  };
  try {
    const runtime = await createRuntime(opts);
    cleanups.push(() => runtime.close());
    const tenant = await startTenant(runtime, {
      policy: first.policy,
      listen: { host: opts.listen?.host ?? '127.0.0.1', port: opts.listen?.port ?? 3128 },
      ...(policyFile ? { baseDir: path.dirname(policyFile), file: policyFile } : {}),
      ...(opts.enforcement ? { enforcement: opts.enforcement } : {}),
    });
    cleanups.push(() => tenant.close());
    runtime.bus.emit({ type: 'policy', time: Date.now(), activity: 'loaded', ...(policyFile ? { file: policyFile } : {}), reason: `${policyFile ? `policy loaded from ${policyFile}` : 'embedded default policy loaded'}${opts.enforcement === 'audit' ? ' (learning mode: network-policy refusals are logged, not enforced)' : ''}`, ...(first.warnings.length ? { warnings: first.warnings } : {}) });
    const defaults = createDefaultPolicy(tenant, { text: first.text, watch: opts.watch !== false, ...(policyFile ? { file: policyFile } : {}) });
    cleanups.push(() => defaults.close());

    const sandboxes = createSandboxManager({
      home: opts.home,
      bus: runtime.bus,
      caCertPem: runtime.caCertPem,
      defaultPolicy: () => defaults.get(),
      ...(opts.graceMs !== undefined ? { graceMs: opts.graceMs } : {}),
      ...(opts.warmNetworks !== undefined ? { warmNetworks: opts.warmNetworks } : {}),
      startListener: async ({ sandbox, policy, host, port, baseDir, attributeClient }) => {
        const start = (listenPort: number) => startTenant(runtime, { policy, sandbox, listen: { host, port: listenPort }, ...(baseDir ? { baseDir } : {}), ...(attributeClient ? { attributeClient } : {}) });
        // the port a warm sandbox network's firewall names; if something took it meanwhile, any
        // port, and the sandbox's driver installs its firewall for that one
        const tenant = port ? await start(port).catch((err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? start(0) : Promise.reject(err))) : await start(0);
        return listenerOf(tenant, sandbox);
      },
    });
    const recovered = await sandboxes.recover({ previousDied: !!lock.stale });
    cleanups.push(() => sandboxes.close());

    const events = createEventStream(runtime.onAuditLine);
    cleanups.push(() => events.close());
    const version = sluiceVersion();
    const metricsSource: MetricsSource = {
      sandboxes: () => sandboxes.list(),
      listeners: () => [
        { name: 'default', openTunnels: tenant.server.openTunnels, health: tenant.pipeline.health() },
        ...sandboxes.listeners().map(({ name, listener }) => ({ name, openTunnels: listener.openTunnels?.() ?? 0, health: listener.health?.() ?? {} })),
      ],
      auditDropped: () => runtime.auditDropped,
    };
    const routes: Route[] = [
      ...gatewayRoutes({ manager: sandboxes, events, defaults, version }),
      ...observeRoutes({ manager: sandboxes, defaults, version, source: metricsSource, url: tenant.url, auditFile: runtime.auditFile }),
      ...(opts.routes ?? []),
    ];
    routes.push(openApiRoute(() => routes, version));
    const api: ApiServer = await createApiServer({
      home: opts.home,
      routes,
      bus: runtime.bus,
      socketPath: opts.socketPath ?? socketPathFor(opts.home),
      ...(opts.api ? { tcp: { ...opts.api, secureContext: () => runtime.leaves.secureContextFor(opts.api!.host) } } : {}),
    });
    // Undone in reverse: the API closes first, so no sandbox starts while the others are stopped.
    cleanups.push(() => api.close());

    let closing: Promise<void> | undefined;
    return {
      url: tenant.url,
      socketPath: api.socketPath,
      apiUrl: api.url,
      caCertPath: runtime.caCertPath,
      auditFile: runtime.auditFile,
      bus: runtime.bus,
      sandboxes,
      warnings: first.warnings,
      recovered,
      listener: { health: () => tenant.pipeline.health(), openTunnels: () => tenant.server.openTunnels, openConnections: () => tenant.server.openConnections },
      flushAudit: () => runtime.flushAudit(),
      metricsSource,
      close: () => (closing ??= unwind()),
    };
  } catch (err) {
    await unwind();
    throw err;
  }
}

function listenerOf(tenant: Tenant, sandbox: string): SandboxListener {
  return {
    host: tenant.host,
    port: tenant.port,
    env: () => tenant.pipeline.envFor(sandbox),
    token: () => tenant.pipeline.proxyTokenFor(sandbox),
    policy: () => tenant.source(),
    apply: (next, reason, warnings) => tenant.apply(next, reason, warnings),
    reloadSecrets: () => tenant.pipeline.reloadSecrets(tenant.source().providers),
    openTunnels: () => tenant.server.openTunnels,
    health: () => tenant.pipeline.health(),
    close: () => tenant.close(),
  };
}
