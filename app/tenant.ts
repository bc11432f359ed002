import { sandboxBus } from '../core/index.js';
import type { AttributeClient, Destination, EventBus } from '../core/index.js';
import { compilePolicy } from '../rules/index.js';
import type { CompiledPolicy, Policy } from '../rules/index.js';
import { createProxyServer } from '../proxy/index.js';
import type { ProxyServer } from '../proxy/index.js';
import { buildPipeline } from './pipeline.js';
import type { Pipeline } from './pipeline.js';
import type { Runtime } from './runtime.js';

/**
 * One policy in force on one listener: its compiled rules, its pipeline (credentials, privacy
 * router, redactor, DLP) and its proxy server. `sluice up`'s default listener is a tenant; so is
 * each sandbox on a gateway, on an address only that sandbox can reach, which is how the
 * gateway knows who is calling without believing anything the client says.
 */
export interface TenantOptions {
  policy: Policy;
  listen: { host: string; port: number };
  /** A listener dedicated to this sandbox: every client is it, and its events carry its name. */
  sandbox?: string;
  /** Folder that relative `file:` credential sources are resolved against. */
  baseDir?: string;
  /** Named in policy events (the policy file, when there is one). */
  file?: string;
  /** With `sandbox`: which program in the sandbox opened a connection (policies' `binaries`). */
  attributeClient?: AttributeClient;
  /** `audit`: learning mode, network-policy refusals are logged and let through (rules' CompileOptions). */
  enforcement?: 'enforce' | 'audit';
}

export interface ReloadResult {
  ok: boolean;
  errors: string[];
  closedTunnels: number;
}

export interface Tenant {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly bus: EventBus;
  readonly server: ProxyServer;
  readonly pipeline: Pipeline;
  policy(): CompiledPolicy;
  /** The policy in force, as parsed. */
  source(): Policy;
  /**
   * Puts `next` in force for everything that reloads (network, inference, privacy, providers):
   * at once for new requests, and tunnels it no longer allows are closed. On failure nothing
   * changes. Static sections are the caller's concern (a listener has no filesystem).
   */
  apply(next: Policy, reason?: string, warnings?: readonly string[]): Promise<ReloadResult>;
  close(): Promise<void>;
}

export async function startTenant(runtime: Runtime, opts: TenantOptions): Promise<Tenant> {
  const bus = opts.sandbox !== undefined ? sandboxBus(runtime.bus, opts.sandbox) : runtime.bus;
  let source = opts.policy;
  const compileOptions = { enforcement: opts.enforcement ?? 'enforce' } as const;
  let compiled = compilePolicy(source, compileOptions);
  const pipeline = await buildPipeline({
    policy: () => compiled,
    initial: source,
    bus,
    home: runtime.home,
    env: runtime.env,
    ...(opts.baseDir !== undefined ? { baseDir: opts.baseDir } : {}),
    ...(runtime.healthIntervalMs !== undefined ? { healthIntervalMs: runtime.healthIntervalMs } : {}),
  });
  const unscrub = runtime.addLogScrubber((value) => pipeline.scrubForLog(value));
  let server: ProxyServer;
  try {
    server = await createProxyServer({
      listen: opts.listen,
      stages: () => pipeline.stages,
      secureContextFor: (host) => runtime.leaves.secureContextFor(host),
      resolver: runtime.resolver,
      forwarder: runtime.forwarder,
      bus,
      ...(runtime.limits ? { limits: runtime.limits } : {}),
      classifier: pipeline.classifier,
      ...(opts.attributeClient ? { attributeClient: opts.attributeClient } : {}),
      identity: opts.sandbox !== undefined ? { sandbox: opts.sandbox } : { verifySandbox: (name, token) => pipeline.verifyProxyToken(name, token) },
    });
  } catch (err) {
    unscrub();
    await pipeline.close();
    throw err;
  }
  const file = opts.file !== undefined ? { file: opts.file } : {};
  let applying: Promise<unknown> = Promise.resolve();

  async function apply(next: Policy, reason = 'policy reloaded', warnings: readonly string[] = []): Promise<ReloadResult> {
    let nextCompiled: CompiledPolicy;
    try {
      nextCompiled = compilePolicy(next, compileOptions);
      await pipeline.reload(next, nextCompiled);
    } catch (err) {
      const errors = [(err as Error).message];
      bus.emit({ type: 'policy', time: Date.now(), activity: 'rejected', ...file, reason: 'policy could not be applied; the last good policy stays in force', errors });
      return { ok: false, errors, closedTunnels: 0 };
    }
    compiled = nextCompiled;
    source = next;
    const closedTunnels = server.recheckTunnels((dest: Destination) => pipeline.stillAllowed(dest));
    bus.emit({ type: 'policy', time: Date.now(), activity: 'loaded', ...file, reason: `${reason}${closedTunnels ? `; ${closedTunnels} tunnel(s) no longer allowed were closed` : ''}`, ...(warnings.length ? { warnings: [...warnings] } : {}) });
    return { ok: true, errors: [], closedTunnels };
  }

  return {
    url: server.url,
    host: server.host,
    port: server.port,
    bus,
    server,
    pipeline,
    policy: () => compiled,
    source: () => source,
    apply(next, reason, warnings) {
      // One reload at a time: two puts racing must not interleave a pipeline's reload with the other's swap.
      const run = applying.then(() => apply(next, reason, warnings));
      applying = run.catch(() => undefined);
      return run;
    },
    async close() {
      await server.close();
      unscrub();
      await pipeline.close();
    },
  };
}
