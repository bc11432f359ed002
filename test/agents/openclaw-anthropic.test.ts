import t from 'tap';
import { AGENTS } from './agents.js';
import { checkPrivateTurn, checkTurn } from './check.js';
import { runAgent } from './harness.js';

// OpenClaw on Node 24 with its default anthropic/* provider, nothing set but the proxy, Sluice's CA
// and the placeholder key: out to the hosted provider with the real key put on at the wire, and
// with redaction (the provider never sees the e-mail address or the AWS key; the file its `exec`
// tool writes holds them). OpenClaw takes minutes per turn on a loaded machine, so the cases run
// side by side. After every tool result it adds an internal-context user message the scripted
// fake must not answer with another call.
t.setTimeout(900_000);
t.jobs = 2;

const spec = AGENTS['openclaw-anthropic']!;

t.test(`${spec.name} with HTTPS_PROXY: hosted provider, credential at the wire`, async (t) => {
  checkTurn(t, await runAgent(t, spec, { timeoutMs: 420_000 }), spec);
});

t.test(`${spec.name} with privacy redact all + pseudonymize: the provider sees no personal data, the file holds it`, async (t) => {
  checkPrivateTurn(t, await runAgent(t, spec, { privacy: true, timeoutMs: 420_000 }), spec);
});
