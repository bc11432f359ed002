import t from 'tap';
import { AGENTS } from './agents.js';
import { checkPrivateTurn, checkTurn } from './check.js';
import { runAgent } from './harness.js';

// OpenClaw on Node 24 with its default openai/* provider, which speaks the Responses API: out to
// the hosted provider with the real key at the wire, with redaction (the Responses request
// redacted, its streamed answer and tool arguments restored), and routed to a local Ollama (the
// Responses API translated both ways). The cases run side by side: minutes per turn under load.
t.setTimeout(900_000);
t.jobs = 3;

const spec = AGENTS['openclaw-openai']!;

t.test(`${spec.name} with HTTPS_PROXY: hosted provider, credential at the wire`, async (t) => {
  checkTurn(t, await runAgent(t, spec, { timeoutMs: 420_000 }), spec);
});

t.test(`${spec.name} with privacy redact all + pseudonymize: the provider sees no personal data, the file holds it`, async (t) => {
  checkPrivateTurn(t, await runAgent(t, spec, { privacy: true, timeoutMs: 420_000 }), spec);
});

t.test(`${spec.name} with HTTPS_PROXY, routed to a local Ollama: the Responses API translated both ways`, async (t) => {
  const run = await runAgent(t, spec, { routed: true, timeoutMs: 420_000 });
  checkTurn(t, run, spec);
  t.ok(run.fake.requests.length > 0 && run.fake.requests.every((r) => r.path.startsWith('/api/')), "only Ollama's own API was called");
});
