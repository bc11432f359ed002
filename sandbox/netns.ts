import { randomInt } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { runCommand, runQuietly, type RunTool } from './run-command.js';

/**
 * A network namespace joined to the host by one veth pair in 10.200.0.0/16, one /30 per
 * sandbox. The namespace gets no default route, no IPv6 addresses and no DNS: the only peer it
 * can address at all is the host end of the veth, and the firewall narrows that to the proxy.
 */
export interface SandboxNetwork {
  /** `sluice-<slot>`: the netns, the host-side interface and the nft table share this name. */
  readonly name: string;
  readonly netnsPath: string;
  readonly hostIp: string;
  readonly sandboxIp: string;
  remove(): Promise<void>;
}

export const NETNS_PREFIX = 'sluice-';
const SLOTS = 1 << 14; // /30 blocks in 10.200.0.0/16
const ATTEMPTS = 8;

export function slotAddresses(slot: number): { hostIp: string; sandboxIp: string } {
  const base = slot * 4;
  const third = base >> 8;
  const fourth = base & 0xff;
  return { hostIp: `10.200.${third}.${fourth + 1}`, sandboxIp: `10.200.${third}.${fourth + 2}` };
}

export function slotName(slot: number): string {
  return `${NETNS_PREFIX}${slot.toString(16).padStart(4, '0')}`;
}

/**
 * Claims a slot by creating its netns: `ip netns add` fails if another process got there first,
 * so concurrent `sluice run`s never share an address without any shared state file.
 * `record` is told each candidate name before it is created, so that the sandbox's state lists
 * the namespace from before it exists (a crash at any point leaves nothing unaccounted for).
 */
export async function createSandboxNetwork(record: (name: string) => Promise<void>, run: RunTool = runCommand): Promise<SandboxNetwork> {
  let lastError: unknown;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const slot = randomInt(1, SLOTS);
    const name = slotName(slot);
    await record(name);
    const network = networkFor(name, slot, run);
    const outcome = await claimAndWire(name, slot, run);
    if (outcome === 'wired') return network;
    if (outcome.claimed === true) {
      await network.remove();
      throw outcome.error;
    }
    // ip stopped without naming a line (killed at its timeout, crashed): the namespace may or may
    // not be ours. It stays recorded, so the caller's clean-up (removeSandbox) removes it unless a
    // live sandbox lists that name too (then it was that sandbox's claim, not ours).
    if (outcome.claimed === 'unknown') throw outcome.error;
    // not ours: another sandbox holds the slot (or ip failed before creating anything)
    lastError = outcome.error;
    await record('');
  }
  throw new Error(`could not claim a sandbox network in 10.200.0.0/16 after ${ATTEMPTS} attempts`, { cause: lastError });
}

function networkFor(name: string, slot: number, run: RunTool): SandboxNetwork {
  const { hostIp, sandboxIp } = slotAddresses(slot);
  return {
    name,
    netnsPath: `/run/netns/${name}`,
    hostIp,
    sandboxIp,
    async remove() {
      await removeSandboxNetwork(name, run);
    },
  };
}

/**
 * Two `ip -batch` runs: the first creates the namespace (the claim) and the host end, the second
 * configures the inside (a batch line cannot name another namespace). ip stops a batch at its
 * first failing line and names it, so a failure on line 1 means nothing was created: the slot is
 * someone else's and must not be removed. A failure naming no line is neither. addrgenmode none stops the kernel giving either end an
 * IPv6 link-local address, so there is no IPv6 path at all.
 */
async function claimAndWire(name: string, slot: number, run: RunTool): Promise<'wired' | { claimed: boolean | 'unknown'; error: unknown }> {
  const { hostIp, sandboxIp } = slotAddresses(slot);
  const host = [
    `netns add ${name}`,
    `link add ${name} type veth peer name eth0 netns ${name}`,
    `link set ${name} addrgenmode none`,
    `addr add ${hostIp}/30 dev ${name}`,
    `link set ${name} up`,
  ];
  const inside = [
    'link set eth0 addrgenmode none',
    `addr add ${sandboxIp}/30 dev eth0`,
    'link set eth0 up',
    'link set lo up',
  ];
  try {
    await run('ip', ['-batch', '-'], { input: host.join('\n') + '\n' });
  } catch (error) {
    const line = failedLine(error);
    return { claimed: line === 0 ? 'unknown' : line > 1, error };
  }
  try {
    await run('ip', ['-n', name, '-batch', '-'], { input: inside.join('\n') + '\n' });
  } catch (error) {
    return { claimed: true, error };
  }
  return 'wired';
}

/** The batch line ip reports as failed (`Command failed -:N`), or 0 when it names none (timeout, crash). */
export function failedLine(error: unknown): number {
  const m = /Command failed -:(\d+)/.exec((error as Error | undefined)?.message ?? '');
  return m ? Number(m[1]) : 0;
}

/**
 * Idempotent: deleting the netns destroys the veth pair with it. One ip run does both (`-force`
 * goes on past a line whose object is already gone). Retried once if the namespace stays.
 */
export async function removeSandboxNetwork(name: string, run: RunTool = runCommand): Promise<void> {
  if (!name.startsWith(NETNS_PREFIX) || /\s/.test(name)) throw new Error(`not a sandbox network: ${JSON.stringify(name)}`);
  for (let attempt = 0; attempt < 2; attempt++) {
    await runQuietly('ip', ['-force', '-batch', '-'], `link del ${name}\nnetns del ${name}\n`, run);
    if (!existsSync(`/run/netns/${name}`)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `sluice-` network namespaces, with their age (the namespace file's, set when it was made). */
export async function listSandboxNetworks(): Promise<Array<{ name: string; ageMs: number }>> {
  const { stdout } = await runCommand('ip', ['netns', 'list']);
  return stdout
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(NETNS_PREFIX))
    .map((name) => {
      let ageMs = 0;
      try {
        ageMs = Date.now() - statSync(`/run/netns/${name}`).mtimeMs;
      } catch {
        // just removed
      }
      return { name, ageMs };
    });
}
