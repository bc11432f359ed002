import t from 'tap';
import { AGENTS } from './agents.js';
import { checkTurn } from './check.js';
import { sandboxCells } from './sandbox-harness.js';

// OpenClaw (Node 24, `npm run agents:node24`) inside `sluice run`: --mount-install of its Node binary brings
// the Node 24 project's node_modules in, OpenClaw included. Both drivers, routed and hosted.
t.setTimeout(1_200_000);
const isRoot = process.getuid?.() === 0;

t.test('OpenClaw (anthropic/*, Node 24) inside sluice run', { skip: isRoot ? false : 'needs root for network namespaces and docker' }, async (t) => {
  sandboxCells(t, AGENTS['openclaw-anthropic']!, checkTurn);
});
