import t from 'tap';
import { makeDestination } from '../../core/index.js';
import type { LlmApi } from '../../core/index.js';
import { agentFor, providerShape, send, startProviderWorld } from './provider-world.js';

// The class, not the listed cases: random spellings of every recognised call path classify as
// their canonical form, and random mutations of them sent through a live Sluice never reach a
// provider. Seeded, so a failure names the spelling that broke it and can be replayed.

const SEED = Number(process.env.SLUICE_FUZZ_SEED ?? Date.now() % 100_000);
t.comment(`seed ${SEED} (replay with SLUICE_FUZZ_SEED=${SEED})`);

function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x1_0000_0000;
  };
}
const rnd = prng(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;

const CALLS: Array<[string, string, string, LlmApi]> = [
  ['api.openai.com', 'POST', '/v1/chat/completions', 'openai-chat'],
  ['api.openai.com', 'POST', '/v1/completions', 'openai-completions'],
  ['api.openai.com', 'POST', '/v1/embeddings', 'openai-embeddings'],
  ['api.openai.com', 'GET', '/v1/models', 'openai-models'],
  ['api.anthropic.com', 'POST', '/v1/messages', 'anthropic-messages'],
  ['api.anthropic.com', 'POST', '/v1/messages/count_tokens', 'anthropic-count-tokens'],
  ['api.anthropic.com', 'GET', '/v1/models', 'anthropic-models'],
  ['inference.local', 'POST', '/api/chat', 'ollama-chat'],
  ['inference.local', 'POST', '/api/generate', 'ollama-generate'],
  ['inference.local', 'POST', '/api/embed', 'ollama-embed'],
  ['inference.local', 'GET', '/api/tags', 'ollama-tags'],
];

const hex = (c: string): string => {
  const h = c.charCodeAt(0).toString(16).padStart(2, '0');
  return `%${rnd() < 0.5 ? h.toUpperCase() : h.toLowerCase()}`;
};

/** A spelling every reader of RFC 3986 takes for the same resource: escapes, dot-segments, empty segments, a trailing slash. */
function respell(path: string): string {
  let out = rnd() < 0.2 ? '/' : '';
  for (const seg of path.split('/').slice(1)) {
    const r = rnd();
    if (r < 0.15) out += '/.';
    else if (r < 0.3) out += `/${pick(['x', 'a%62c', '..x', 'v2'])}/..`;
    else if (r < 0.4) out += '/';
    out += `/${[...seg].map((c) => (rnd() < 0.3 ? hex(c) : c)).join('')}`;
  }
  const end = rnd();
  if (end < 0.2) out += '/';
  else if (end < 0.3) out += '/.';
  return out;
}

/** Edits that may or may not make another resource: whatever they make, it must not reach a provider. */
function mutate(path: string): string {
  const i = 1 + Math.floor(rnd() * (path.length - 1));
  const edits = [
    () => path.slice(0, i) + path[i]!.toUpperCase() + path.slice(i + 1),
    () => `${path};x=1`,
    () => path.slice(0, i) + ';' + path.slice(i),
    () => path.slice(0, i) + pick(['%2F', '%2f', '%5C', '%00', '%2e%2e/', '%20', '%C0%AE', '\u00e9', '//', '/../']) + path.slice(i),
    () => `/..${path}`,
    () => path.replace('/v1/', pick(['/v2/', '/v1beta/', '/V1/', '/v1/openai/'])),
    () => `${path}/batches`,
    () => respell(path),
  ];
  return pick(edits)();
}

const world = await startProviderWorld();
t.teardown(() => world.close());

t.test('random spellings of every recognised call classify as the call', async (t) => {
  const sluice = await world.defaultSluice(t);
  const classify = (host: string, method: string, rawPath: string) =>
    sluice.pipeline.classifier.classify({ dest: makeDestination(host, host === 'inference.local' ? 80 : 443), method, rawPath, headers: host === 'api.anthropic.com' ? { 'anthropic-version': '2023-06-01' } : {} });
  let checked = 0;
  for (const [host, method, path, api] of CALLS) {
    t.equal(classify(host, method, path).api, api, `${method} ${host}${path}`);
    for (let n = 0; n < 300; n++) {
      const spelling = respell(path);
      const c = classify(host, method, spelling);
      if (c.api !== api || (c.path !== path && c.path !== `${path}/`)) t.fail(`${method} ${host}${spelling} classified as ${c.api ?? 'unrecognised'} on ${c.path}`);
      checked++;
    }
  }
  t.equal(checked, CALLS.length * 300);
});

t.test('random mutations through a live Sluice under the embedded default policy: none reaches a provider', async (t) => {
  const sluice = await world.defaultSluice(t);
  const agent = agentFor(t, sluice);
  let answered = 0;
  sluice.bus.on((e) => {
    if (e.type === 'llm_call' && e.action === 'route') answered++;
  });
  const bodies: Record<string, unknown> = {
    'api.openai.com': { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] },
    'api.anthropic.com': { model: 'claude-sonnet-4', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] },
  };
  const providers = CALLS.filter(([host]) => host !== 'inference.local');
  for (let n = 0; n < 120; n++) {
    const [host, method, path] = pick(providers);
    const spelling = mutate(path);
    const verb = rnd() < 0.8 ? method : pick(['POST', 'PUT', 'PATCH', 'DELETE', 'GET']);
    const hasBody = verb !== 'GET' && verb !== 'DELETE';
    const before = world.reached().length;
    const routedBefore = answered;
    let a;
    try {
      a = await send(agent, verb, `https://${host}${spelling}`, hasBody ? bodies[host] : undefined);
    } catch (err) {
      // A spelling undici itself will not send (a raw non-ASCII byte, say) never left the client.
      t.comment(`${verb} ${spelling}: not sent by the client (${(err as Error).message})`);
      continue;
    }
    if (world.reached().length !== before) t.fail(`${verb} https://${host}${spelling} reached the provider`);
    // Either the router answered the call itself (its audit event says so), or it is a refusal in the provider's shape.
    const problem = answered > routedBefore ? undefined : providerShape(host, a);
    if (problem) t.fail(`${verb} https://${host}${spelling}: ${problem}`);
  }
  t.same(world.reached(), [], 'nothing reached either provider');
});
