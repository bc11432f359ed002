import { flag } from './args.js';
import type { Invocation } from './args.js';
import { resolveHome } from './home.js';
import { readInstances } from './instances.js';
import type { InstanceInfo } from './instances.js';
import type { CliIO } from './io.js';

export interface StatusReport {
  home: string;
  /** No gateway yet (issue: the gateway); each Sluice below is a `sluice up` or a `sluice run`'s own. */
  gateway: null;
  instances: InstanceInfo[];
  sandboxes: Array<{ name: string; driver: string; running: boolean; command: string[]; createdAt: string }>;
}

export async function statusReport(home: string): Promise<StatusReport> {
  let sandboxes: StatusReport['sandboxes'] = [];
  try {
    const { listSandboxes } = await import('../sandbox/index.js');
    sandboxes = (await listSandboxes()).map((s) => ({ name: s.name, driver: s.driver, running: s.running, command: s.command, createdAt: s.createdAt }));
  } catch {
    // No sandbox state readable here (no Docker engine, not root): status still answers.
  }
  return { home, gateway: null, instances: readInstances(home), sandboxes };
}

/** `sluice status [--json]`: the running Sluices (listener, policy, backends' health) and the sandboxes. */
export async function status(inv: Invocation, io: CliIO): Promise<number> {
  const report = await statusReport(resolveHome(inv.home, io.env));
  if (flag(inv, 'json')) {
    io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  }
  const out: string[] = [`state: ${report.home}`, 'gateway: none (each Sluice below runs on its own)'];
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
  if (report.sandboxes.length === 0) out.push('sandboxes: none');
  for (const b of report.sandboxes) out.push(`sandbox ${b.name} (${b.driver}) ${b.running ? 'running' : 'exited'}: ${b.command.join(' ')}`);
  io.stdout.write(`${out.join('\n')}\n`);
  return 0;
}
