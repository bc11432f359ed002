import t from 'tap';
import type { Test } from 'tap';
import OpenAI from 'openai';
import { ProxyAgent, fetch as undiciFetch } from 'undici';
import { startTestSluice } from '../helpers/sluice.js';
import type { TestSluice } from '../helpers/sluice.js';
import { createTestCA } from '../helpers/tls.js';
import { tlsFront } from '../helpers/tls-front.js';
import { createFakeOpenAI } from '../fakes/index.js';
import type { FakeBackend } from '../fakes/index.js';

// Issue 4's acceptance test: a hosted call leaves redacted in every string field; the answer that
// quotes the placeholders reaches the openai SDK with the originals restored; `block` gets a 403.

const EMAIL = 'jane.doe@example.com';
const CARD = '4111 1111 1111 1111';
const AWS = 'AKIAIOSFODNN7EXAMPLE';
const PHONE = '+1 415 555 2671';
const ORIGINALS = [EMAIL, CARD, AWS, 'jane.doe', '4111 1111'];

/** The fake model repeats every placeholder it was given, in text and in a tool call. */
function quoting(fake: () => FakeBackend) {
  return () => {
    const req = fake().requests.at(-1)!;
    const body = JSON.stringify(req.body);
    const placeholders = [...new Set(body.match(/<[A-Z_]+_\d+>/g) ?? [])];
    return {
      text: `I saw ${placeholders.join(' and ')} in your message.`,
      toolCalls: [{ name: 'send_email', arguments: { to: placeholders.find((p) => p.startsWith('<EMAIL')) ?? 'none', note: placeholders.join(',') } }],
      usage: { input: 30, output: 12 },
    };
  };
}

let hosted: FakeBackend;
let provider: FakeBackend;
let front: { port: number; close(): Promise<void> };
let sluice: TestSluice;
let client: OpenAI;
let direct: OpenAI;
let dispatcher: ProxyAgent;

t.before(async () => {
  hosted = await createFakeOpenAI({ reply: quoting(() => hosted) });
  provider = await createFakeOpenAI({ reply: quoting(() => provider) });
  const ca = await createTestCA();
  front = await tlsFront(await ca.issue(['api.openai.com']), provider.port);
  sluice = await startTestSluice(
    `version: 1
network_policies:
  openai:
    endpoints: [{ host: api.openai.com, port: ${front.port} }]
privacy:
  redact: all
  mode: pseudonymize
  operators: { private_key: block }
inference:
  backends:
    hosted: { type: openai, url: "${hosted.url}/v1" }
  routes:
    - { name: to-provider, match: { api: openai, model: "gpt-allow" }, action: allow }
    - { name: hosted, match: { api: openai }, backend: hosted }
`,
    { upstreamCA: [ca.caPem], resolve: { 'api.openai.com': '127.0.0.1' }, healthIntervalMs: 0 },
  );
  dispatcher = new ProxyAgent({ uri: sluice.url, requestTls: { ca: sluice.caCertPem } });
  const common = { apiKey: 'sk-placeholder', maxRetries: 0, fetch: undiciFetch as unknown as typeof fetch, fetchOptions: { dispatcher } as never };
  client = new OpenAI(common);
  direct = new OpenAI({ ...common, baseURL: `https://api.openai.com:${front.port}/v1` });
});
t.teardown(async () => {
  await dispatcher?.close();
  await sluice?.close();
  await Promise.all([hosted?.close(), provider?.close(), front?.close()]);
});

const prompt = `Email ${EMAIL} about card ${CARD}; our AWS key is ${AWS}; call ${PHONE}.`;
const request = (model: string) => ({
  model,
  messages: [
    { role: 'system' as const, content: `You help ${EMAIL}.` },
    { role: 'user' as const, content: prompt },
    { role: 'assistant' as const, content: null, tool_calls: [{ id: 'c1', type: 'function' as const, function: { name: 'lookup', arguments: JSON.stringify({ card: CARD }) } }] },
    { role: 'tool' as const, tool_call_id: 'c1', content: `owner: ${EMAIL}` },
  ],
  tools: [{ type: 'function' as const, function: { name: 'send_email', parameters: { type: 'object', properties: { to: { type: 'string' } } } } }],
});

function assertRedacted(t: Test, fake: FakeBackend) {
  const seen = JSON.stringify(fake.requests.at(-1)!.body);
  for (const o of ORIGINALS) t.notMatch(seen, o, `"${o}" did not leave`);
  t.match(seen, /<EMAIL_1>/, 'emails became placeholders');
  t.match(seen, /<CREDIT_CARD_1>/);
  t.match(seen, /"role":"system"/, 'JSON structure and field names untouched');
  t.match(seen, /"tool_call_id":"c1"/);
}

for (const [name, getClient, getFake, model] of [
  ['routed to a hosted backend', () => client, () => hosted, 'gpt-4o'],
  ['allowed out to the provider itself', () => direct, () => provider, 'gpt-allow'],
] as const) {
  t.test(`${name}: redacted out, restored back (not streaming)`, async (t) => {
    const res = await getClient().chat.completions.create(request(model));
    assertRedacted(t, getFake());
    const msg = res.choices[0]!.message;
    t.match(msg.content, EMAIL, 'the answer quotes the original email');
    t.match(msg.content, CARD);
    const call = msg.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
    t.equal(JSON.parse(call.function.arguments).to, EMAIL, 'tool-call arguments restored for the agent');
  });

  t.test(`${name}: redacted out, restored back (streaming, placeholders split across deltas)`, async (t) => {
    const final = await getClient().chat.completions.stream({ ...request(model), stream_options: { include_usage: true } }).finalChatCompletion();
    assertRedacted(t, getFake());
    const msg = final.choices[0]!.message;
    t.match(msg.content, EMAIL);
    t.notMatch(msg.content, /<EMAIL_\d+>/, 'no placeholder leaks to the agent');
    const call = msg.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
    t.equal(JSON.parse(call.function.arguments).to, EMAIL);
  });
}

t.test('a block entity type is refused with a 403 naming the type, never the value', async (t) => {
  const key = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7bq98yvqcLIrk9Zi0x1Dj3fA5\n-----END RSA PRIVATE KEY-----';
  const before = hosted.requests.length;
  const err = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: `here: ${key}` }] }).then(
    () => undefined,
    (e: unknown) => e as InstanceType<typeof OpenAI.APIError>,
  );
  t.equal(err?.status, 403);
  t.equal(err?.headers?.get('x-sluice-error'), 'redaction_blocked');
  t.match(err?.message, /private_key/, 'an OpenAI-shaped error the SDK reads, naming the type');
  t.type((err?.error as { type?: string } | undefined)?.type, 'string', 'an OpenAI error object');
  t.notMatch(JSON.stringify(err?.error), /MIIE/);
  t.equal(hosted.requests.length, before, 'nothing was sent');
});
