import fs from 'node:fs';
import t from 'tap';
import { removeSandbox } from '../../sandbox/cleanup.js';
import { createSandboxNetwork } from '../../sandbox/netns.js';
import { runCommand, type RunTool } from '../../sandbox/run-command.js';
import { claimSandbox, readState, recordState } from '../../sandbox/sandbox-state.js';
import { uniqueName } from '../helpers/gateway.js';

// `ip -batch` that stops without naming a failed line (killed at its timeout, crashed) may have
// created the namespace. It used to be taken for "not ours" and forgotten: a leak. It must stay
// recorded, so the sandbox's clean-up removes it, unless a live sandbox lists that name (its claim).

/** The real ip, which creates the namespace, then a failure that names no line, as a timeout does. */
const timesOutAfterCreating: RunTool = async (file, args, opts) => {
  await runCommand(file, args, opts);
  throw new Error(`${file} ${args.join(' ')}: no answer after 30000 ms`);
};

if (process.getuid?.() !== 0) {
  t.plan(0, 'network namespaces need root; CI runs this as root');
} else {
  t.test('a namespace ip may have made before failing on no line stays recorded and is removed by clean-up', async (t) => {
    const state = await claimSandbox({ driver: 'bwrap', name: `sluice-${uniqueName('claim')}`, command: ['test'] });
    t.teardown(() => removeSandbox(state));
    await t.rejects(createSandboxNetwork((n) => recordState(state, { network: n, firewallTables: n ? [n] : [] }), timesOutAfterCreating), /no answer/);
    const recorded = (await readState(state.name))!.network;
    t.match(recorded, /^sluice-/, 'the name is still recorded');
    t.ok(fs.existsSync(`/run/netns/${recorded}`), 'and the namespace exists');
    await removeSandbox(state);
    t.notOk(fs.existsSync(`/run/netns/${recorded}`), 'clean-up removes it: nothing leaks');
  });

  t.test('the same failure on a name a live sandbox lists leaves that sandbox\'s namespace alone', async (t) => {
    const owner = await claimSandbox({ driver: 'bwrap', name: `sluice-${uniqueName('owner')}`, command: ['test'] });
    t.teardown(() => removeSandbox(owner));
    await createSandboxNetwork((n) => recordState(owner, { network: n, firewallTables: n ? [n] : [] }));
    const theirs = owner.network;
    const other = await claimSandbox({ driver: 'bwrap', name: `sluice-${uniqueName('other')}`, command: ['test'] });
    t.teardown(() => removeSandbox(other));
    // as if this sandbox had drawn the same slot and ip then timed out on it
    await recordState(other, { network: theirs, firewallTables: [theirs] });
    await removeSandbox(other);
    t.ok(fs.existsSync(`/run/netns/${theirs}`), 'the live sandbox keeps its namespace');
  });
}
