import t from 'tap';
import { AGENTS } from './agents.js';
import { checkTurn } from './check.js';
import { sandboxCells } from './sandbox-harness.js';

// OpenClaw (Node 24, `npm run agents:node24`) inside `sluice run`: --mount-install of its Node
// binary brings the Node 24 project's node_modules in, OpenClaw included. anthropic/* on both
// drivers, routed and hosted, its bwrap hosted turn with `redact: all` (the provider never sees
// the e-mail address or the AWS key, the file its `exec` tool writes holds them); openai/* (the
// Responses API) routed on bwrap and hosted on both, its bwrap hosted turn redacted the same way
// (pseudonyms restored in the Responses stream's text and tool arguments). Its github-copilot/* provider is in
// copilot-sandbox.test.ts. An OpenClaw turn costs minutes here (its own start-up and SQLite
// maintenance, which `--auth-env-only` leaves no setting to skip), so the cells run side by side.
t.setTimeout(1_500_000);
const isRoot = process.getuid?.() === 0;

t.test('OpenClaw (Node 24) inside sluice run', { skip: isRoot ? false : 'needs root for network namespaces and docker' }, async (t) => {
  t.jobs = 4;
  sandboxCells(t, AGENTS['openclaw-anthropic']!, checkTurn, [
    { driver: 'bwrap', routed: true },
    { driver: 'bwrap', routed: false, privacy: true },
    { driver: 'docker', routed: true },
    { driver: 'docker', routed: false },
  ]);
  sandboxCells(t, AGENTS['openclaw-openai']!, checkTurn, [
    { driver: 'bwrap', routed: true },
    { driver: 'bwrap', routed: false, privacy: true },
    { driver: 'docker', routed: false },
  ]);
});
