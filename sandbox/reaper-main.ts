// Entry point of the reaper (sandbox/reaper.ts): runs once the owner of sandbox NAME has exited.
// usage: node reaper-main.js NAME
import { removeSandbox } from './cleanup.js';
import { isRunning } from './owner.js';
import { readState } from './sandbox-state.js';

const name = process.argv[2];
// imported by a test runner that globs the folder: nothing to do without a sandbox name
if (name?.startsWith('sluice-')) {
  try {
    // The pipe closes while the owner is still exiting: give it a moment to be gone for good.
    for (let i = 0; i < 50; i++) {
      const state = await readState(name);
      if (!state) break;
      if (!isRunning(state.owner)) {
        await removeSandbox(state);
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    // stderr is the run dir's reaper.log; the sandbox stays for the next clean-up
    process.stderr.write(`${new Date().toISOString()} ${name}: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  }
}
