// Entry point of the reaper (sandbox/reaper.ts): runs once the owner of sandbox NAME has exited.
// usage: node reaper-main.js NAME
import { removeSandbox } from './cleanup.js';
import { isRunning } from './owner.js';
import { readState } from './sandbox-state.js';

const name = process.argv[2];
// imported by a test runner that globs the folder: nothing to do without a sandbox name
if (name?.startsWith('sluice-')) {
  const state = await readState(name);
  if (state && !isRunning(state.owner)) await removeSandbox(state);
}
