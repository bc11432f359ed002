import path from 'node:path';
import t from 'tap';
import { NODE24, openclawArgs } from './agents.js';
import { checkCopilotTurn } from './copilot-check.js';
import { runCopilotInSandbox } from './copilot-sandbox-world.js';
import type { CopilotSandboxOptions } from './copilot-sandbox-world.js';
import { agentImage } from './sandbox-harness.js';
import { copilotTurn } from './scripts.js';

// GitHub Copilot's clients inside `sluice run`, default provider, no proxy variable set
// (copilot-sandbox-world.ts): Copilot CLI on both drivers, routed locally (Sluice is its GitHub
// session) and hosted with the token at the wire, its bwrap hosted turn with `redact: all`; and
// OpenClaw's github-copilot/* provider (a Claude model, which Copilot serves on Anthropic's
// /v1/messages; Node 24 mounted with --mount-install) routed and hosted on bwrap, hosted with
// `redact: all`. Under docker
// Copilot CLI's terminal addon needs libutil.so.1 and an exec HOME, which the image and the driver
// give. Every cell has its own fakes, Sluice and workdir, so they run side by side.
t.setTimeout(1_500_000);
const isRoot = process.getuid?.() === 0;
const only = process.env.SLUICE_AGENT_CELLS?.split(',');

type Client = { name: string; command: CopilotSandboxOptions['command'] };
const copilotCli: Client = { name: 'Copilot CLI', command: (_task, prompt) => ({ bin: path.resolve('node_modules/.bin/copilot'), args: ['-p', prompt, '--allow-all-tools', '--no-auto-update'] }) };
const openclaw: Client = { name: 'OpenClaw (github-copilot/*)', command: (task, prompt) => ({ bin: NODE24, args: openclawArgs(task, prompt, 'github-copilot/claude-sonnet-4.6') }) };

const cells: Array<[Client, Pick<CopilotSandboxOptions, 'driver' | 'mode' | 'privacy'>]> = [
  [copilotCli, { driver: 'bwrap', mode: 'local' }],
  [copilotCli, { driver: 'bwrap', mode: 'hosted', privacy: true }],
  [copilotCli, { driver: 'docker', mode: 'local' }],
  [copilotCli, { driver: 'docker', mode: 'hosted' }],
  [openclaw, { driver: 'bwrap', mode: 'local' }],
  [openclaw, { driver: 'bwrap', mode: 'hosted', privacy: true }],
];

t.test('GitHub Copilot clients inside sluice run', { skip: isRoot ? false : 'needs root for network namespaces and docker' }, async (t) => {
  t.jobs = 4;
  const image = cells.some(([, c]) => c.driver === 'docker') ? agentImage() : undefined;
  for (const [client, cell] of cells) {
    const name = `${cell.driver}-${cell.mode === 'local' ? 'routed' : 'hosted'}${cell.privacy ? '-private' : ''}`;
    const what = cell.mode === 'local' ? 'routed to a local model' : `hosted, token at the wire${cell.privacy ? ', redact all + pseudonymize' : ''}`;
    t.test(`${client.name} in sluice run --driver ${cell.driver}: ${what}`, { skip: only && !only.includes(name) ? 'not in SLUICE_AGENT_CELLS' : false }, async (t) => {
      if (cell.driver === 'docker') await image;
      const r = await runCopilotInSandbox(t, client.name, { ...cell, command: client.command });
      checkCopilotTurn(t, r, copilotTurn, { hosted: cell.mode === 'hosted', personal: cell.privacy === true });
    });
  }
});
