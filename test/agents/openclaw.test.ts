import t from 'tap';
import { AGENTS } from './agents.js';
import { checkTurn } from './check.js';
import { runAgent } from './harness.js';

// OpenClaw on Node 24 with its default anthropic/* and openai/* providers (the latter speaks the
// Responses API), nothing set but the proxy, Sluice's CA and the placeholder key: out to the
// hosted provider, the real key put on at the wire. Its shell tool is `exec`, and after every tool
// result it adds an internal-context user message the scripted fakes must not answer with another call.
t.setTimeout(900_000);

for (const name of ['openclaw-anthropic', 'openclaw-openai']) {
  const spec = AGENTS[name]!;
  t.test(`${spec.name} with HTTPS_PROXY: hosted provider, credential at the wire`, async (t) => {
    checkTurn(t, await runAgent(t, spec, { timeoutMs: 240_000 }), spec);
  });
}
