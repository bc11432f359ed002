// Entry point of the reaper (sandbox/reaper.ts): runs once the owner of sandbox NAME has exited,
// or, with --owner PID START, once that owner (a gateway) has: then it removes what every dead
// owner left, as `sluice ps` does.
// usage: node reaper-main.js NAME | node reaper-main.js --owner PID START
import { cleanupLeftovers, removeSandbox } from './cleanup.js';
import { isRunning } from './owner.js';
import { OWNER_FLAG } from './reaper.js';
import { readState } from './sandbox-state.js';

const [target, pid, start] = process.argv.slice(2);
const pause = () => new Promise((r) => setTimeout(r, 100));

async function reapSandbox(name: string): Promise<void> {
  // The pipe closes while the owner is still exiting: give it a moment to be gone for good.
  for (let i = 0; i < 50; i++) {
    const state = await readState(name);
    if (!state) return;
    if (!isRunning(state.owner)) {
      await removeSandbox(state);
      return;
    }
    await pause();
  }
}

async function reapOwner(owner: { pid: number; start: number }): Promise<void> {
  for (let i = 0; i < 50 && isRunning(owner); i++) await pause();
  // still running after 5 s: the pipe was closed by something else; its sandboxes stay its own
  if (isRunning(owner)) return;
  const report = await cleanupLeftovers();
  if (report.failed.length) throw new Error(`left for the next clean-up: ${report.failed.join('; ')}`);
}

// imported by a test runner that globs the folder: nothing to do without a target
if (target === OWNER_FLAG || target?.startsWith('sluice-')) {
  try {
    if (target === OWNER_FLAG) await reapOwner({ pid: Number(pid), start: Number(start) });
    else await reapSandbox(target);
  } catch (err) {
    // stderr is the run dir's reaper.log; what is left stays for the next clean-up
    process.stderr.write(`${new Date().toISOString()} ${target === OWNER_FLAG ? `owner ${pid}` : target}: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  }
}
