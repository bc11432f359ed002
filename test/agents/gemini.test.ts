import t from 'tap';
import { AGENTS } from './agents.js';
import { checkPrivateTurn, checkTurn } from './check.js';
import { runAgent } from './harness.js';

// Three real agent runs (hosted, private, routed): 15-75 s on an idle machine, over 200 s at the
// shared machine's load; each run has its own 150 s limit.
t.setTimeout(600_000);

const spec = AGENTS.gemini!;

t.test(`${spec.name} with HTTPS_PROXY: hosted provider, credential at the wire`, async (t) => {
  checkTurn(t, await runAgent(t, spec), spec);
});

t.test(`${spec.name} with privacy redact all + pseudonymize: the provider sees no personal data, the file holds it`, async (t) => {
  checkPrivateTurn(t, await runAgent(t, spec, { privacy: true }), spec);
});

t.test(`${spec.name} with HTTPS_PROXY, routed to a local Ollama: the provider's API translated both ways`, async (t) => {
  const run = await runAgent(t, spec, { routed: true });
  checkTurn(t, run, spec);
  t.ok(run.fake.requests.every((r) => r.path.startsWith('/api/')), "only Ollama's own API was called");
});
