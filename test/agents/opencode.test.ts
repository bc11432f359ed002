import t from 'tap';
import { AGENTS } from './agents.js';
import { checkTurn } from './check.js';
import { runAgent } from './harness.js';

const spec = AGENTS.opencode!;

t.test(`${spec.name} with HTTPS_PROXY: hosted provider, credential at the wire`, async (t) => {
  checkTurn(t, await runAgent(t, spec), spec);
});
