import t from 'tap';
import { PassThrough } from 'node:stream';
import { ProxyAgent, request } from 'undici';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { createEventBus } from '../../core/index.js';
import { createCredentials } from '../../credentials/index.js';
import { createFakeAnthropic, createFakeOpenAI } from '../fakes/index.js';
import type { FakeBackend } from '../fakes/index.js';
import { createTestCA } from '../helpers/tls.js';
import { startUpstream } from '../helpers/upstream.js';
import type { Upstream } from '../helpers/upstream.js';
import { startTestSluice } from '../helpers/sluice.js';
import { tlsFront } from '../helpers/tls-front.js';
import type { TestSluice } from '../helpers/sluice.js';
import { leakedSecrets, SECRETS } from './context.js';

let openaiFake: FakeBackend;
let anthropicFake: FakeBackend;
let fronts: { port: number; close(): Promise<void> }[];
let other: Upstream;
let sluice: TestSluice;
let agent: ProxyAgent;
let placeholders: Record<string, string>;
const human = new PassThrough();
const humanOut: Buffer[] = [];
human.on('data', (c: Buffer) => humanOut.push(c));
const bodies: string[] = [];

t.before(async () => {
  const ca = await createTestCA();
  const cert = await ca.issue(['api.openai.com', 'api.anthropic.com', 'other.example.test']);
  // The fakes answer 401 unless they receive the real key.
  openaiFake = await createFakeOpenAI({ apiKey: SECRETS.OPENAI_API_KEY });
  anthropicFake = await createFakeAnthropic({ apiKey: SECRETS.ANTHROPIC_API_KEY });
  fronts = [await tlsFront(cert, openaiFake.port), await tlsFront(cert, anthropicFake.port)];
  other = await startUpstream({ cert });
  const [oa, an] = fronts.map((f) => f.port);
  const policy = `
version: 1
network_policies:
  llm:
    endpoints:
      - { host: api.openai.com, port: ${oa} }
      - { host: api.anthropic.com, port: ${an} }
  other:
    endpoints:
      - { host: other.example.test, port: ${other.port} }
inference:
  routes:
    - { match: {}, action: allow }
providers:
  openai: { from: "env:OPENAI_API_KEY", endpoints: [{ host: api.openai.com, port: ${oa} }] }
  anthropic: { from: "env:ANTHROPIC_API_KEY", endpoints: [{ host: api.anthropic.com, port: ${an} }] }
`;
  sluice = await startTestSluice(policy, {
    upstreamCA: [ca.caPem],
    resolve: { 'api.openai.com': '127.0.0.1', 'api.anthropic.com': '127.0.0.1', 'other.example.test': '127.0.0.1' },
    env: { OPENAI_API_KEY: SECRETS.OPENAI_API_KEY, ANTHROPIC_API_KEY: SECRETS.ANTHROPIC_API_KEY },
    human,
  });
  t.ok(sluice.pipeline.stages.some((s) => s.name === 'credentials'), 'the pipeline runs the credentials stage');
  const providers = sluice.policy().policy?.providers;
  // What `sluice env` prints: another process, no secrets, same home, same placeholders.
  const env = await createCredentials(providers, { home: sluice.home, env: {}, bus: createEventBus(), placeholdersOnly: true });
  placeholders = env.envFor('default');
  env.close();
  agent = new ProxyAgent({ uri: sluice.url, requestTls: { ca: sluice.caCertPem } });
});

t.teardown(async () => {
  await agent?.close();
  await sluice?.close();
  await Promise.all([openaiFake?.close(), anthropicFake?.close(), other?.close(), ...(fronts ?? []).map((f) => f.close())]);
});

t.test('openai SDK with the placeholder reaches the fake with the real key', async (t) => {
  t.match(placeholders.OPENAI_API_KEY, /^sk-proj-[A-Za-z0-9_-]{156}$/);
  const client = new OpenAI({ apiKey: placeholders.OPENAI_API_KEY, baseURL: `https://api.openai.com:${fronts[0]!.port}/v1`, fetchOptions: { dispatcher: agent } as never, maxRetries: 0 });
  const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
  t.ok(completion.choices[0]?.message.content);
  const seen = openaiFake.requests.at(-1)!;
  t.equal(seen.headers.authorization, `Bearer ${SECRETS.OPENAI_API_KEY}`);

  const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  t.ok(text.length > 0, 'streaming works through the response scrubber');
});

t.test('anthropic SDK: x-api-key and Bearer auth token both get the real key', async (t) => {
  t.match(placeholders.ANTHROPIC_API_KEY, /^sk-ant-api03-[\w-]{93}AA$/);
  const base = `https://api.anthropic.com:${fronts[1]!.port}`;
  const withKey = new Anthropic({ apiKey: placeholders.ANTHROPIC_API_KEY, baseURL: base, fetchOptions: { dispatcher: agent } as never, maxRetries: 0 });
  const msg = await withKey.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 32, messages: [{ role: 'user', content: 'hi' }] });
  t.equal(msg.type, 'message');
  // This SDK version sends the key as Authorization: Bearer; older ones use x-api-key. Either way, the real key.
  t.equal(anthropicKey(), SECRETS.ANTHROPIC_API_KEY);

  const withToken = new Anthropic({ apiKey: null, authToken: placeholders.ANTHROPIC_API_KEY, baseURL: base, fetchOptions: { dispatcher: agent } as never, maxRetries: 0 });
  await withToken.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 32, messages: [{ role: 'user', content: 'hi' }] });
  t.equal(anthropicFake.requests.at(-1)!.headers.authorization, `Bearer ${SECRETS.ANTHROPIC_API_KEY}`);

  const explicit = await viaProxy(`${base}/v1/messages`, {
    headers: { 'x-api-key': placeholders.ANTHROPIC_API_KEY!, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }),
  });
  t.equal(explicit.status, 200);
  t.equal(anthropicFake.requests.at(-1)!.headers['x-api-key'], SECRETS.ANTHROPIC_API_KEY, 'x-api-key too');
});

function anthropicKey(): string | undefined {
  const h = anthropicFake.requests.at(-1)!.headers;
  return (h['x-api-key'] as string | undefined) ?? h.authorization?.replace(/^Bearer /, '');
}

t.test('sandbox identity from its issued proxy credential selects the placeholders', async (t) => {
  const env = await createCredentials(sluice.policy().policy?.providers, { home: sluice.home, env: {}, bus: createEventBus(), placeholdersOnly: true });
  const sb1 = env.envFor('sb1');
  const sb1Token = env.proxyTokenFor('sb1');
  const sb2Token = env.proxyTokenFor('sb2');
  env.close();
  t.not(sb1.OPENAI_API_KEY, placeholders.OPENAI_API_KEY);
  const basic = (user: string) => `Basic ${Buffer.from(user).toString('base64')}`;
  const sb1Agent = new ProxyAgent({ uri: sluice.url, token: basic(`sluice:sb1:${sb1Token}`), requestTls: { ca: sluice.caCertPem } });
  t.teardown(() => sb1Agent.close());
  const url = `https://api.openai.com:${fronts[0]!.port}/v1/models`;
  const own = await request(url, { dispatcher: sb1Agent, headers: { authorization: `Bearer ${sb1.OPENAI_API_KEY}` } });
  await own.body.text();
  t.equal(own.statusCode, 200, "sb1's own placeholder works");
  t.equal(openaiFake.requests.at(-1)!.headers.authorization, `Bearer ${SECRETS.OPENAI_API_KEY}`);
  const foreign = await request(url, { dispatcher: sb1Agent, headers: { authorization: `Bearer ${placeholders.OPENAI_API_KEY}` } });
  bodies.push(await foreign.body.text());
  t.equal(foreign.statusCode, 403, "the default sandbox's placeholder is refused in sb1");
  t.equal(foreign.headers['x-sluice-error'], 'credential_unknown');

  // Claiming sb1 without its credential, or with another sandbox's, is refused before any tunnel opens.
  for (const [label, user] of [['a bare name (the old claim)', 'sluice:sb1'], ["sb2's token", `sluice:sb1:${sb2Token}`], ['a made-up token', 'sluice:sb1:AAAA']] as const) {
    const forged = new ProxyAgent({ uri: sluice.url, token: basic(user), requestTls: { ca: sluice.caCertPem } });
    const err = await request(url, { dispatcher: forged, headers: { authorization: `Bearer ${sb1.OPENAI_API_KEY}` } }).then(
      () => undefined,
      (e: Error & { statusCode?: number }) => e,
    );
    await forged.close();
    t.match(String(err?.message ?? err), /407/, `${label}: CONNECT answered 407`);
  }
  const plain = await request(`http://other.example.test:${other.port}/`, { method: 'GET', dispatcher: new ProxyAgent({ uri: sluice.url, token: basic('sluice:sb1') }) }).catch((e: Error) => e);
  t.match(String((plain as Error).message ?? ''), /407/, 'plain-HTTP requests are held to the same rule');
});

async function viaProxy(url: string, init: { headers?: Record<string, string>; body?: string; method?: string } = {}) {
  const res = await request(url, { dispatcher: agent, method: (init.method ?? (init.body ? 'POST' : 'GET')) as 'GET', headers: init.headers ?? {}, ...(init.body !== undefined ? { body: init.body } : {}) });
  const text = await res.body.text();
  bodies.push(text, JSON.stringify(res.headers));
  return { status: res.statusCode, headers: res.headers, text };
}

t.test('the placeholder sent to another allowed host: 403 credential_endpoint_mismatch', async (t) => {
  const before = other.requests.length;
  const res = await viaProxy(`https://other.example.test:${other.port}/v1/chat/completions`, { headers: { authorization: `Bearer ${placeholders.OPENAI_API_KEY}` } });
  t.equal(res.status, 403);
  t.equal(res.headers['x-sluice-error'], 'credential_endpoint_mismatch');
  t.equal(JSON.parse(res.text).error, 'credential_endpoint_mismatch');
  const inBody = await viaProxy(`https://other.example.test:${other.port}/paste`, { body: JSON.stringify({ note: placeholders.ANTHROPIC_API_KEY }) });
  t.equal(inBody.status, 403, 'in a body too');
  // Egress DLP runs before credentials and may see the key-shaped placeholder first.
  t.equal(inBody.headers['x-sluice-error'], 'credential_endpoint_mismatch', 'DLP leaves placeholders to the credentials stage');
  t.equal(other.requests.filter((r) => r.body.includes(Buffer.from(placeholders.ANTHROPIC_API_KEY!))).length, 0, 'the placeholder never reached the other host whole');
  t.equal(other.requests.length - before <= 1, true);
});

t.test('the real key, raw, base64 or URL-encoded, to any host: blocked', async (t) => {
  const s = SECRETS.OPENAI_API_KEY;
  const before = other.requests.length;
  const tries: { headers?: Record<string, string>; query?: string; path?: string }[] = [
    { headers: { authorization: `Bearer ${s}` } },
    { headers: { 'x-data': Buffer.from(`k=${s}`).toString('base64') } },
    { query: `?k=${encodeURIComponent(s)}` },
    { path: `/upload/${Buffer.from(s).toString('base64url')}` },
  ];
  for (const init of tries) {
    const res = await viaProxy(`https://other.example.test:${other.port}${init.path ?? '/x'}${init.query ?? ''}`, { headers: init.headers ?? {} });
    t.equal(res.status, 403);
    // Query strings and bodies also pass the egress DLP first, which may name it dlp_blocked.
    t.match(res.headers['x-sluice-error'], init.query ? /^(secret_exfiltration|dlp_blocked)$/ : /^secret_exfiltration$/);
  }
  const own = await viaProxy(`https://api.openai.com:${fronts[0]!.port}/v1/models`, { headers: { authorization: `Bearer ${s}` } });
  t.equal(own.headers['x-sluice-error'], 'secret_exfiltration', 'even to its own provider: the sandbox must not hold it');
  t.equal(other.requests.length, before, 'nothing reached the upstream');
});

t.test('no byte Sluice wrote contains a secret', async (t) => {
  const audit = JSON.stringify(await sluice.readAudit());
  t.ok(audit.includes('credential_endpoint_mismatch'), 'the audit log has the findings');
  t.ok(audit.includes('secret_exfiltration'));
  const everything = [audit, Buffer.concat(humanOut).toString(), ...bodies].join('\n');
  t.same(leakedSecrets(everything), []);
});
