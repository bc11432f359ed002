import path from 'node:path';
import t from 'tap';
import { checkCopilotTurn } from './copilot-check.js';
import { runCopilotClient } from './copilot-world.js';
import type { CopilotMode } from './copilot-world.js';
import { copilotTurn } from './scripts.js';

t.setTimeout(600_000);
// Each case has its own fakes and Sluice, so they run side by side.
t.jobs = 4;

// GitHub Copilot CLI with its default provider, nothing set but the proxy, Sluice's CA and the
// placeholder token `sluice env` gives: routed to a local model (Sluice is its GitHub session), and
// passed through to the hosted service with the real token put on at the wire.

const copilot = (_task: unknown, prompt: string) => ({ bin: path.resolve('node_modules/.bin/copilot'), args: ['-p', prompt, '--allow-all-tools', '--no-auto-update'] });

const cases: Array<[CopilotMode, boolean]> = [
  ['local', false],
  ['hosted', false],
  ['local', true],
  ['hosted', true],
];
for (const [mode, redact] of cases) {
  t.test(`Copilot CLI, HTTPS_PROXY, ${mode === 'local' ? 'routed to a local model' : 'hosted, token at the wire'}${redact ? ', redacted' : ''}`, async (t) => {
    const r = await runCopilotClient(t, 'Copilot CLI', { mode, redact, command: copilot, script: copilotTurn });
    checkCopilotTurn(t, r, copilotTurn, { hosted: mode === 'hosted', redact });
  });
}
