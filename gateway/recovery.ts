import { emitSandbox } from './live-sandbox.js';
import type { Sandboxes } from './live-sandbox.js';
import { openOutputLog } from './output-log.js';
import { ACTIVE, outputFile, readRecords, writeRecord } from './records.js';

/**
 * After a restart: every sandbox a previous gateway left running is gone with it (bwrap dies
 * with its parent; a container without its proxy is useless and no longer reachable), so its
 * resources are removed and its record says it was lost. Re-adopting a container instead would
 * need its listener back on the same address with the same credential, and its output of the
 * time in between, which nobody read: not done. `previousDied`: the last gateway on this state
 * folder did not stop cleanly (a stale lock). Returns the names recovered.
 */
export async function recoverSandboxes(set: Sandboxes, cleanupLeftovers: () => Promise<unknown>, previousDied = false): Promise<string[]> {
  const { records, unreadable } = readRecords(set.home);
  const lost: string[] = [];
  for (const record of records) {
    const output = openOutputLog(outputFile(set.home, record.name), { ended: !ACTIVE.has(record.state) });
    if (ACTIVE.has(record.state)) {
      record.reason = `the gateway (pid ${record.gatewayPid}) stopped while the sandbox was ${record.state}; its resources were removed`;
      record.state = 'lost';
      record.exitCode = null;
      record.finishedAt = new Date().toISOString();
      writeRecord(set.home, record);
      output.finish({ exit_code: null, state: 'lost' });
      emitSandbox(set, record, 'lost', record.reason);
      lost.push(record.name);
    }
    set.byName.set(record.name, { record, output, stdinTaken: true, stopping: false, exited: Promise.resolve(record), released: Promise.resolve() });
  }
  for (const entry of unreadable) process.emitWarning(`sluice gateway: unreadable sandbox record ${entry}`);
  // Everything a dead owner left behind (ours included): netns, nft tables, containers,
  // networks, and the warm networks a gateway keeps ready when no sandbox runs. After a clean
  // stop there is nothing of ours, and the start stays light.
  if (lost.length > 0 || unreadable.length > 0 || previousDied) await cleanupLeftovers();
  return lost;
}
