import path from 'node:path';
import { startGateway, PolicyLoadError } from '../app/index.js';
import { createEventBus, releaseMemory, tuneHeapGrowth } from '../core/index.js';
import { createMetrics, dashboardRoutes } from '../gateway/index.js';
import { native } from '../redact/index.js';
import { UsageError, flag, list, str } from './args.js';
import type { Invocation } from './args.js';
import { resolveHome } from './home.js';
import { registerInstance } from './instances.js';
import type { CliIO } from './io.js';

export function parseListen(value: string | undefined): { host: string; port: number } {
  if (!value) return { host: '127.0.0.1', port: 3128 };
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value);
  if (!m) throw new UsageError(`--listen expects HOST:PORT, got "${value}"`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port: Number(m[3]) };
}

export function parseResolve(values: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values ?? []) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new UsageError(`--resolve expects HOST=IP, got "${v}"`);
    out[v.slice(0, eq).toLowerCase().replace(/\.$/, '')] = v.slice(eq + 1).replace(/^\[|\]$/g, '');
  }
  return out;
}

/**
 * `sluice up`: the gateway. The proxy for host clients (127.0.0.1:3128), every sandbox that
 * `sluice run` starts while it runs, and the control-plane API on <home>/gateway/api.sock (and,
 * with --api-listen, on TCP with TLS and bearer tokens). Stops cleanly on SIGINT/SIGTERM,
 * stopping its sandboxes first.
 */
export async function up(inv: Invocation, io: CliIO): Promise<number> {
  const values = { policy: str(inv, 'policy'), listen: str(inv, 'listen'), 'api-listen': str(inv, 'api-listen'), resolve: list(inv, 'resolve'), dns: str(inv, 'dns'), verbose: flag(inv, 'verbose') };
  const learning = str(inv, 'enforcement') === 'audit';
  const home = resolveHome(inv.home, io.env);
  const listen = parseListen(values.listen);
  if (!/^(127\.|::1$|localhost$)/.test(listen.host)) {
    io.stderr.write(`sluice: warning: listening on ${listen.host}: anyone who can reach this address can use the proxy and its credentials; prefer 127.0.0.1 (sandboxes get their own listener)\n`);
  }
  const warm = str(inv, 'warm-networks');
  if (warm !== undefined && !/^(0|[1-9]\d?)$/.test(warm)) {
    io.stderr.write(`sluice up: --warm-networks expects a number from 0 to 99, got "${warm}"\n`);
    return 2;
  }
  const api = values['api-listen'] !== undefined ? parseListen(values['api-listen']) : undefined;
  if (api && (api.host === '0.0.0.0' || api.host === '::')) {
    io.stderr.write('sluice up: --api-listen needs the address or name clients use (its TLS certificate names it), not a wildcard\n');
    return 2;
  }
  // This process is a proxy from here on: body buffers must not drive full collections (core/heap.ts).
  tuneHeapGrowth();
  // Metrics count from the first event on, so they subscribe to the bus before the gateway starts.
  const bus = createEventBus();
  const metrics = createMetrics(bus);
  let gateway;
  try {
    gateway = await startGateway({
      bus,
      routes: [...metrics.routes, ...dashboardRoutes()],
      home,
      ...(values.policy ? { policyFile: path.resolve(values.policy) } : {}),
      listen,
      ...(api ? { api } : {}),
      resolve: parseResolve(values.resolve),
      ...(values.dns ? { dns: values.dns } : {}),
      ...(values.verbose ? { human: io.stderr } : {}),
      env: io.env,
      ...(learning ? { enforcement: 'audit' as const } : {}),
      ...(warm !== undefined ? { warmNetworks: Number(warm) } : {}),
    });
  } catch (err) {
    if (err instanceof PolicyLoadError) {
      for (const line of err.errors) io.stderr.write(`${line}\n`);
      return 1;
    }
    throw err;
  }
  metrics.attach(gateway.metricsSource);
  for (const w of gateway.warnings) io.stderr.write(`sluice: ${w}\n`);
  if (learning) io.stderr.write('sluice: learning mode (--enforcement audit) on the shared listener: what the network policy would refuse is let through and logged; `sluice policy suggest` turns it into policy\n');
  if (native.collector === undefined) io.stderr.write(`sluice: warning: redaction runs its JavaScript loop, which is slower: ${native.reason}\n`);
  if (gateway.recovered.length > 0) {
    io.stderr.write(`sluice: a previous gateway stopped while ${gateway.recovered.length} sandbox(es) ran (${gateway.recovered.join(', ')}); their resources were removed and \`sluice ps -a\` shows them as lost\n`);
  }
  const policyName = values.policy ?? 'embedded default policy (see `sluice policy show`)';
  io.stdout.write(
    [
      `Sluice is listening on ${gateway.url}`,
      `  policy:    ${policyName}`,
      `  API:       ${gateway.socketPath}${gateway.apiUrl ? ` and ${gateway.apiUrl} (bearer tokens: \`sluice token create --scope admin|read\`)` : ''}`,
      gateway.apiUrl
        ? `  dashboard: ${gateway.apiUrl}/dashboard  (metrics: ${gateway.apiUrl}/metrics; both need a token)`
        : '  dashboard: start with --api-listen 127.0.0.1:PORT to serve the dashboard and /metrics over HTTPS',
      `  CA:        ${gateway.caCertPath}`,
      `  audit log: ${gateway.auditFile}`,
      '',
      'Run an agent in a sandbox (from any terminal): sluice run [-d] -- CMD',
      'Point a host client at it:',
      `  export HTTPS_PROXY=${gateway.url} HTTP_PROXY=${gateway.url}`,
      `  export NODE_EXTRA_CA_CERTS=${gateway.caCertPath}`,
      `  curl -x ${gateway.url} --cacert ${gateway.caCertPath} https://api.github.com/`,
      '',
    ].join('\n'),
  );
  gateway.bus.on((event) => {
    if (event.type === 'policy' && event.activity === 'rejected') {
      io.stderr.write(`sluice: policy${event.sandbox ? ` of ${event.sandbox}` : ''} rejected, the last good policy stays in force:\n${(event.errors ?? []).map((e) => `  ${e}`).join('\n')}\n`);
    } else if (event.type === 'policy' && event.activity === 'loaded' && event.sandbox === undefined && event.reason.startsWith('policy reloaded')) {
      io.stderr.write(`sluice: ${event.reason}\n`);
      for (const w of event.warnings ?? []) io.stderr.write(`sluice: ${w}\n`);
    }
  });
  // Start-up is over: what it allocated is garbage, and V8 would keep the room it grew for it ~8 s longer.
  setImmediate(releaseMemory).unref();
  const instance = registerInstance(
    home,
    { kind: 'up', url: gateway.url, auditFile: gateway.auditFile, enforcement: learning ? 'audit' : 'enforce', ...(values.policy ? { policyFile: path.resolve(values.policy) } : {}) },
    gateway.listener,
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  instance.close();
  io.stderr.write('sluice: shutting down (stopping sandboxes)\n');
  await gateway.close();
  metrics.close();
  return 0;
}
