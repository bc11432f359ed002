import { runCommand, runQuietly, type RunTool } from './run-command.js';

/**
 * One nftables table per sandbox, named like the sandbox's interface so that clean-up can find
 * leftovers. From that interface only TCP to the proxy's address and port is accepted; the rest
 * is rejected (not dropped) so that a bypass attempt fails at once instead of hanging until a
 * timeout. Forwarding from or to the interface is refused, so the host never routes sandbox
 * traffic anywhere, whatever its ip_forward setting or Docker's FORWARD rules say.
 *
 * The `inet` family covers IPv4 and IPv6 in one table; the priority runs these chains before
 * iptables-nft's filter chains (priority 0), and a reject here is final whatever they would do.
 */
export interface FirewallSpec {
  /** nft table name; `sluice-…` */
  table: string;
  /** the host-side interface traffic from the sandbox arrives on */
  iface: string;
  proxyHost: string;
  proxyPort: number;
}

export const FIREWALL_PREFIX = 'sluice-';

export function firewallRuleset(spec: FirewallSpec): string {
  const iface = JSON.stringify(spec.iface);
  const family = spec.proxyHost.includes(':') ? 'ip6' : 'ip';
  return [
    `table inet ${spec.table} {`,
    '  chain input {',
    '    type filter hook input priority -10; policy accept;',
    `    iifname ${iface} ${family} daddr ${spec.proxyHost} tcp dport ${spec.proxyPort} accept`,
    `    iifname ${iface} meta l4proto tcp reject with tcp reset`,
    `    iifname ${iface} reject with icmpx type admin-prohibited`,
    '  }',
    '  chain forward {',
    '    type filter hook forward priority -10; policy accept;',
    `    iifname ${iface} reject with icmpx type admin-prohibited`,
    `    oifname ${iface} drop`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/**
 * Installs (or replaces) the table atomically: nft applies a whole file or nothing. Declaring the
 * table, deleting it and defining it again in one file replaces a leftover without a second nft
 * run (each commit waits for the kernel: 30-150 ms on a busy host).
 */
export async function installFirewall(spec: FirewallSpec, run: RunTool = runCommand): Promise<void> {
  if (!spec.table.startsWith(FIREWALL_PREFIX)) throw new Error(`firewall table must start with ${FIREWALL_PREFIX}`);
  await run('nft', ['-f', '-'], { input: `table inet ${spec.table}\ndelete table inet ${spec.table}\n${firewallRuleset(spec)}` });
}

export async function removeFirewall(table: string, run: RunTool = runCommand): Promise<void> {
  await runQuietly('nft', ['delete', 'table', 'inet', table], undefined, run);
}

export async function listFirewallTables(): Promise<string[]> {
  const { stdout } = await runCommand('nft', ['list', 'tables', 'inet']);
  return stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[2] ?? '')
    .filter((name) => name.startsWith(FIREWALL_PREFIX));
}
