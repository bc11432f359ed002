import path from 'node:path';
import { startSluice, PolicyLoadError } from '../app/index.js';
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

export async function up(inv: Invocation, io: CliIO): Promise<number> {
  const values = { policy: str(inv, 'policy'), listen: str(inv, 'listen'), resolve: list(inv, 'resolve'), dns: str(inv, 'dns'), verbose: flag(inv, 'verbose') };
  const enforcement = str(inv, 'enforcement');
  const listen = parseListen(values.listen);
  if (!/^(127\.|::1$|localhost$)/.test(listen.host)) {
    io.stderr.write(`sluice: warning: listening on ${listen.host}: anyone who can reach this address can use the proxy and its credentials; prefer 127.0.0.1 (sandboxes get their own listener)\n`);
  }
  let sluice;
  try {
    sluice = await startSluice({
      home: resolveHome(inv.home, io.env),
      ...(values.policy ? { policyFile: path.resolve(values.policy) } : {}),
      listen,
      resolve: parseResolve(values.resolve),
      ...(values.dns ? { dns: values.dns } : {}),
      ...(values.verbose ? { human: io.stderr } : {}),
      ...(enforcement === 'audit' ? { enforcement: 'audit' as const } : {}),
      env: io.env,
    });
  } catch (err) {
    if (err instanceof PolicyLoadError) {
      for (const line of err.errors) io.stderr.write(`${line}\n`);
      return 1;
    }
    throw err;
  }
  for (const w of sluice.warnings) io.stderr.write(`sluice: ${w}\n`);
  if (native.collector === undefined) io.stderr.write(`sluice: warning: redaction runs its JavaScript loop, which is slower: ${native.reason}\n`);
  const policyName = values.policy ?? 'embedded default policy (see `sluice policy show`)';
  if (enforcement === 'audit') io.stderr.write('sluice: learning mode (--enforcement audit): what the network policy would refuse is let through and logged; `sluice policy suggest` turns it into policy\n');
  io.stdout.write(
    [
      `Sluice is listening on ${sluice.url}`,
      `  policy:    ${policyName}`,
      `  CA:        ${sluice.caCertPath}`,
      `  audit log: ${sluice.auditFile}`,
      '',
      'Point a client at it:',
      `  export HTTPS_PROXY=${sluice.url} HTTP_PROXY=${sluice.url}`,
      `  export NODE_EXTRA_CA_CERTS=${sluice.caCertPath}`,
      `  curl -x ${sluice.url} --cacert ${sluice.caCertPath} https://api.github.com/`,
      '',
    ].join('\n'),
  );
  sluice.bus.on((event) => {
    if (event.type === 'policy' && event.activity === 'rejected') {
      io.stderr.write(`sluice: policy rejected, the last good policy stays in force:\n${(event.errors ?? []).map((e) => `  ${e}`).join('\n')}\n`);
    } else if (event.type === 'policy' && event.activity === 'loaded' && event.reason.startsWith('policy reloaded')) {
      io.stderr.write(`sluice: ${event.reason}\n`);
      for (const w of event.warnings ?? []) io.stderr.write(`sluice: ${w}\n`);
    }
  });
  const running = sluice;
  const instance = registerInstance(
    resolveHome(inv.home, io.env),
    { kind: 'up', url: sluice.url, auditFile: sluice.auditFile, enforcement: enforcement === 'audit' ? 'audit' : 'enforce', ...(values.policy ? { policyFile: values.policy } : {}) },
    { health: () => running.pipeline.health(), openTunnels: () => running.server.openTunnels, openConnections: () => running.server.openConnections },
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  io.stderr.write('sluice: shutting down\n');
  instance.close();
  await sluice.close();
  return 0;
}
