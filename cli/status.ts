import { flag } from './args.js';
import type { Invocation } from './args.js';
import { describeError, findGateway } from './gateway-client.js';
import { resolveHome } from './home.js';
import { readInstances } from './instances.js';
import type { InstanceInfo } from './instances.js';
import type { CliIO } from './io.js';

/** What the gateway's GET /v1/status answers (gateway/observe-routes.ts). */
export interface GatewayStatus {
  where: string;
  version: string;
  audit_file: string;
  listeners: Array<{ name: string; url?: string; open_tunnels: number; backends: Record<string, { healthy: boolean; models?: string[]; checked_at?: string; error?: string }> }>;
  sandboxes: Array<{ name: string; driver: string; state: string; command: string[] }>;
  /** Set when a gateway answers but refused or failed the status call. */
  error?: string;
}

export interface StatusReport {
  home: string;
  /** The running gateway, asked over its API (SLUICE_GATEWAY or the home's socket); null when none runs. */
  gateway: GatewayStatus | null;
  /** Each Sluice process on this home: a `sluice up` (the gateway's process) or a `sluice run`'s own. */
  instances: InstanceInfo[];
  sandboxes: Array<{ name: string; driver: string; running: boolean; command: string[]; createdAt: string }>;
}

async function gatewayStatus(home: string, env: NodeJS.ProcessEnv): Promise<GatewayStatus | null> {
  let client;
  try {
    client = await findGateway(home, env);
  } catch (err) {
    // SLUICE_GATEWAY names one that does not answer: that is the status.
    return { where: env.SLUICE_GATEWAY ?? home, version: '', audit_file: '', listeners: [], sandboxes: [], error: (err as Error).message };
  }
  if (!client) return null;
  try {
    const res = await client.call<Omit<GatewayStatus, 'where'>>('GET', '/v1/status');
    if (res.status !== 200) return { where: client.where, version: '', audit_file: '', listeners: [], sandboxes: [], error: describeError(res.body as unknown as Record<string, unknown>) };
    return { where: client.where, ...res.body };
  } finally {
    client.close();
  }
}

export async function statusReport(home: string, env: NodeJS.ProcessEnv = process.env): Promise<StatusReport> {
  let sandboxes: StatusReport['sandboxes'] = [];
  const { isRunning, listSandboxes } = await import('../sandbox/index.js');
  try {
    sandboxes = (await listSandboxes()).map((s) => ({ name: s.name, driver: s.driver, running: s.running, command: s.command, createdAt: s.createdAt }));
  } catch {
    // No sandbox state readable here (no Docker engine, not root): status still answers.
  }
  return { home, gateway: await gatewayStatus(home, env), instances: readInstances(home, isRunning), sandboxes };
}

function gatewayLines(g: GatewayStatus): string[] {
  if (g.error) return [`gateway: ${g.where} answers, but status failed: ${g.error}`];
  const out = [`gateway: ${g.where} (Sluice ${g.version})`, `  audit log: ${g.audit_file}`];
  for (const l of g.listeners) {
    out.push(`  listener ${l.name}${l.url ? ` ${l.url}` : ''}: ${l.open_tunnels} open tunnel${l.open_tunnels === 1 ? '' : 's'}`);
    for (const [name, h] of Object.entries(l.backends)) {
      out.push(`    backend ${name}: ${h.healthy ? 'healthy' : 'unhealthy'}${h.models?.length ? `, ${h.models.length} models` : ''}${h.error ? ` (${h.error})` : ''}${h.checked_at ? `, checked ${h.checked_at}` : ''}`);
    }
  }
  const running = g.sandboxes.filter((b) => b.state === 'running').length;
  out.push(`  sandboxes: ${g.sandboxes.length} (${running} running)`);
  for (const b of g.sandboxes) out.push(`    ${b.name} (${b.driver}) ${b.state}: ${b.command.join(' ')}`);
  return out;
}

/** `sluice status [--json]`: the gateway (over its API), the running Sluices (listener, policy, backends' health) and the sandboxes. */
export async function status(inv: Invocation, io: CliIO): Promise<number> {
  const report = await statusReport(resolveHome(inv.home, io.env), io.env);
  if (flag(inv, 'json')) {
    io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  }
  const out: string[] = [`state: ${report.home}`, ...(report.gateway ? gatewayLines(report.gateway) : ['gateway: none running (`sluice up` starts one)'])];
  if (report.instances.length === 0) out.push('sluices: none running (start one with `sluice up`, or `sluice run -- CMD`)');
  for (const s of report.instances) {
    out.push(
      `sluice pid ${s.pid} (${s.kind === 'up' ? 'sluice up' : `sluice run, sandbox ${s.sandbox}`}) since ${s.startedAt}`,
      `  listener:  ${s.url}  (${s.openConnections} connections, ${s.openTunnels} tunnels)`,
      `  policy:    ${s.policyFile ?? 'embedded default policy'}${s.enforcement === 'audit' ? '  [learning mode: --enforcement audit]' : ''}`,
      `  audit log: ${s.auditFile}`,
    );
    const backends = Object.entries(s.backends);
    if (backends.length === 0) out.push('  backends:  none');
    for (const [name, h] of backends) {
      out.push(`  backend ${name}: ${h.healthy ? 'healthy' : 'unhealthy'}${h.models?.length ? `, ${h.models.length} models` : ''}${h.error ? ` (${h.error})` : ''}${h.checkedAt ? `, checked ${new Date(h.checkedAt).toISOString()}` : ''}`);
    }
  }
  // A gateway's sandboxes are listed above, by the gateway; these are the rest on this host.
  const others = report.sandboxes.filter((b) => !report.gateway?.sandboxes.some((g) => g.name === b.name));
  if (others.length === 0) out.push(report.gateway ? 'other sandboxes: none' : 'sandboxes: none');
  for (const b of others) out.push(`sandbox ${b.name} (${b.driver}) ${b.running ? 'running' : 'exited'}: ${b.command.join(' ')}`);
  io.stdout.write(`${out.join('\n')}\n`);
  return 0;
}
