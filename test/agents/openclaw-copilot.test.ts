import t from 'tap';
import { openclawArgs, NODE24 } from './agents.js';
import { checkCopilotTurn } from './copilot-check.js';
import { runCopilotClient } from './copilot-world.js';
import type { CopilotMode } from './copilot-world.js';
import { copilotTurn } from './scripts.js';

// OpenClaw's github-copilot/* provider on Node 24 (a Claude model, which Copilot serves on
// Anthropic's /v1/messages): its session and calls answered on this machine when the routes keep
// Copilot local, and passed through with the real GitHub token when they let it out.
t.setTimeout(900_000);
// Each case has its own fakes and Sluice; an OpenClaw turn is minutes of mostly waiting.
t.jobs = 3;

const command = (task: Parameters<typeof openclawArgs>[0], prompt: string) => ({ bin: NODE24, args: openclawArgs(task, prompt, 'github-copilot/claude-sonnet-4.6') });

const cases: Array<[CopilotMode, boolean]> = [
  ['local', false],
  ['hosted', false],
  ['local', true],
];
for (const [mode, redact] of cases) {
  t.test(`OpenClaw (github-copilot/*), HTTPS_PROXY, ${mode === 'local' ? 'routed to a local model' : 'hosted, token at the wire'}${redact ? ', redacted' : ''}`, async (t) => {
    const r = await runCopilotClient(t, 'OpenClaw', { mode, redact, command, script: copilotTurn, timeoutMs: 420_000 });
    checkCopilotTurn(t, r, copilotTurn, { hosted: mode === 'hosted', redact });
  });
}
