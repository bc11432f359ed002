import t from 'tap';
import { AGENTS } from './agents.js';
import { checkTurn } from './check.js';
import { sandboxCells } from './sandbox-harness.js';

// Qwen Code inside `sluice run`, both drivers, routed and hosted: four real turns, side by side.
t.setTimeout(1_200_000);
const isRoot = process.getuid?.() === 0;

t.test('Qwen Code inside sluice run', { skip: isRoot ? false : 'needs root for network namespaces and docker' }, async (t) => {
  t.jobs = 4;
  sandboxCells(t, AGENTS.qwen!, checkTurn);
});
