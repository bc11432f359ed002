import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { buildBaseImage, cleanupLeftovers, ensureDocker, listSandboxes, type SandboxDriver } from '../../sandbox/index.js';
import { listFirewallTables } from '../../sandbox/firewall.js';
import { listSandboxNetworks } from '../../sandbox/netns.js';
import { sluiceRunDir } from '../../sandbox/sandbox-files.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Runs crash-owner.ts, waits for its sandbox, then kills it with SIGKILL: nothing is cleaned. */
async function crashedOwner(driver: SandboxDriver): Promise<{ name: string; proxyHost: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'crash-owner.ts'), driver], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  const line = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (c: Buffer) => {
      text += c.toString();
      const m = /READY .*\n/.exec(text);
      if (m) resolve(m[0]);
    });
    child.on('exit', (code) => reject(new Error(`crash-owner exited early (${code})`)));
  });
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  const [, name = '', proxyHost = ''] = line.trim().split(' ');
  return { name, proxyHost };
}

if (process.getuid?.() !== 0) {
  t.plan(0, 'needs root to create sandboxes (CI runs this as root)');
} else {
  t.test('bwrap: leftovers of a crashed owner are found and removed', async (t) => {
    const { name } = await crashedOwner('bwrap');
    t.ok((await listSandboxes()).some((s) => s.name === name), 'the orphan is listed');
    const state = JSON.parse(fs.readFileSync(path.join(sluiceRunDir(), name, 'state.json'), 'utf8')) as { network: string };
    t.ok((await listSandboxNetworks()).some((n) => n.name === state.network), 'its netns is still there');
    t.ok((await listFirewallTables()).includes(state.network), 'and its firewall table');
    const removed = await cleanupLeftovers();
    t.ok(removed.removed.includes(name), `cleanup reports ${name}`);
    t.notOk((await listSandboxes()).some((s) => s.name === name), 'no longer listed');
    t.notOk((await listSandboxNetworks()).some((n) => n.name === state.network), 'netns removed');
    t.notOk((await listFirewallTables()).includes(state.network), 'firewall table removed');
    t.notOk(fs.existsSync(path.join(sluiceRunDir(), name)), 'state files removed');
  });

  t.test('docker: leftovers of a crashed owner are found and removed', async (t) => {
    await buildBaseImage();
    const docker = await ensureDocker();
    const { name } = await crashedOwner('docker');
    t.ok((await listSandboxes()).some((s) => s.name === name && s.running), 'the orphan container still runs');
    const [network] = await docker.listNetworks({ filters: { label: [`sluice.sandbox=${name}`] } });
    const bridge = network?.Labels?.['sluice.bridge'] ?? '';
    t.ok((await listFirewallTables()).includes(bridge), `its bridge firewall ${bridge} is still there`);
    const removed = await cleanupLeftovers();
    t.ok(removed.removed.includes(name), `cleanup reports ${name}`);
    t.notOk((await listSandboxes()).some((s) => s.name === name), 'container removed');
    t.notOk((await listFirewallTables()).includes(bridge), 'bridge firewall table removed');
    t.same(await docker.listNetworks({ filters: { label: [`sluice.sandbox=${name}`] } }), [], 'network removed');
  });
}
