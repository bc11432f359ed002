import { readFileSync } from 'node:fs';
import t from 'tap';
import { createRedactor } from '../../redact/index.js';
import type { LlmApi } from '../../core/index.js';

const EMAIL = 'jane@example.com';
const KEY = 'AKIAZ2R7Q3M5N6P4T7XY';
const IMG_URL = `https://img.example.com/${EMAIL}/a.png`;
const B64 = `iVBORw0KGgo${KEY}AAAANSUhEUg==`;

/** Every key path with its value type: redaction must leave this unchanged. */
function shape(v: unknown, path = '$', out: string[] = []): string[] {
  if (Array.isArray(v)) {
    out.push(`${path}:array(${v.length})`);
    v.forEach((x, i) => shape(x, `${path}[${i}]`, out));
  } else if (v !== null && typeof v === 'object') {
    out.push(`${path}:object`);
    for (const [k, x] of Object.entries(v)) shape(x, `${path}.${k}`, out);
  } else out.push(`${path}:${typeof v}`);
  return out;
}

const CASES: Array<{ api: LlmApi; body: () => Record<string, unknown>; untouched: string[] }> = [
  {
    api: 'openai-chat',
    body: () => ({
      model: `model-${EMAIL}`,
      user: EMAIL,
      messages: [
        { role: 'system', content: `Operator is ${EMAIL}` },
        { role: 'user', name: EMAIL, content: [{ type: 'text', text: `my key ${KEY}` }, { type: 'image_url', image_url: { url: IMG_URL } }, { type: 'image_url', image_url: { url: `data:image/png;base64,${B64}` } }] },
        { role: 'assistant', content: null, tool_calls: [{ id: `call_${KEY}`, type: 'function', function: { name: 'send_mail', arguments: JSON.stringify({ to: EMAIL, body: 'hi', cc: [EMAIL], n: 3 }) } }] },
        { role: 'tool', tool_call_id: `call_${KEY}`, content: `sent to ${EMAIL}` },
        { role: 'assistant', function_call: { name: 'f', arguments: `{"password": "Tr0ub4dor&3xK9!"}` } },
      ],
      tools: [{ type: 'function', function: { name: 'send_mail', description: `mail as ${EMAIL}`, parameters: { type: 'object' } } }],
    }),
    untouched: ['model', 'user', 'messages.1.name', 'image_url', 'tool_call_id', 'id', 'tools'],
  },
  {
    api: 'openai-completions',
    body: () => ({ model: 'gpt-3.5-turbo-instruct', prompt: [`a ${EMAIL}`, `b ${KEY}`, [1, 2, 3]], suffix: `c ${EMAIL}` }),
    untouched: [],
  },
  { api: 'openai-embeddings', body: () => ({ model: 'text-embedding-3-small', input: [`a ${EMAIL}`, `b ${KEY}`] }), untouched: [] },
  {
    api: 'anthropic-messages',
    body: () => ({
      model: 'claude-sonnet-4-5',
      metadata: { user_id: EMAIL },
      system: [{ type: 'text', text: `Operator ${EMAIL}`, cache_control: { type: 'ephemeral' } }],
      messages: [
        { role: 'user', content: `hello, ${EMAIL}` },
        { role: 'assistant', content: [{ type: 'thinking', thinking: `user is ${EMAIL}`, signature: 'sig' }, { type: 'text', text: `ok ${EMAIL}` }, { type: 'tool_use', id: `toolu_${KEY}`, name: 'send', input: { to: EMAIL, nested: { list: [KEY, 5] }, api_key: 'Zq8vN2xL7pR4tY6wB1cE3gH5' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: `toolu_${KEY}`, content: [{ type: 'text', text: `done ${KEY}` }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: B64 } }] }, { type: 'image', source: { type: 'url', url: IMG_URL } }, { type: 'document', source: { type: 'text', media_type: 'text/plain', data: `doc ${EMAIL}` } }] },
      ],
    }),
    untouched: ['model', 'metadata', 'thinking', 'signature', 'id', 'tool_use_id', 'source.data (base64)', 'url'],
  },
  { api: 'anthropic-count-tokens', body: () => ({ model: 'claude', system: `s ${EMAIL}`, messages: [{ role: 'user', content: `u ${KEY}` }] }), untouched: [] },
  {
    api: 'ollama-chat',
    body: () => ({
      model: 'qwen3:8b',
      messages: [
        { role: 'user', content: `hi ${EMAIL}`, images: [B64] },
        { role: 'assistant', content: '', tool_calls: [{ function: { name: 'mail', arguments: { to: EMAIL, count: 2 } } }] },
        { role: 'tool', content: `ok ${KEY}`, tool_name: 'mail' },
      ],
      options: { temperature: 0 },
    }),
    untouched: ['model', 'images'],
  },
  { api: 'ollama-generate', body: () => ({ model: 'llama3', prompt: `p ${EMAIL}`, system: `s ${KEY}`, suffix: `x ${EMAIL}`, images: [B64], context: [1, 2], template: `{{ .Prompt }} ${EMAIL}` }), untouched: ['images', 'template'] },
  { api: 'ollama-embed', body: () => ({ model: 'nomic-embed-text', input: [`a ${EMAIL}`, `b ${KEY}`] }), untouched: [] },
];

const r = createRedactor({});
t.teardown(() => r.close());

for (const c of CASES) {
  t.test(`${c.api}: content redacted, structure and non-content fields untouched`, async (t) => {
    const body = c.body();
    const before = shape(body);
    const v = r.vault(r.conversationKey(c.api, body));
    const result = r.redactLlmRequest(c.api, body, v);
    t.same(shape(body), before, 'same keys, same types, same array lengths');
    const json = JSON.stringify(body);
    t.ok((result.counts.email ?? 0) + (result.counts.aws_access_key ?? 0) > 0, 'something was redacted', result);
    const allowedRaw = [IMG_URL, B64, `mail as ${EMAIL}`, `model-${EMAIL}`, `call_${KEY}`, `toolu_${KEY}`, `user is ${EMAIL}`, `{{ .Prompt }} ${EMAIL}`];
    let scrubbed = json;
    for (const a of allowedRaw) scrubbed = scrubbed.split(JSON.stringify(a).slice(1, -1)).join('');
    const b = body as Record<string, unknown>;
    if (typeof b.user === 'string') scrubbed = scrubbed.replace(`"user":"${EMAIL}"`, '');
    scrubbed = scrubbed.replace(`"name":"${EMAIL}"`, '').replace(`"user_id":"${EMAIL}"`, '');
    t.notMatch(scrubbed, EMAIL, 'no email left in content');
    t.notMatch(scrubbed, KEY, 'no key left in content');
    t.match(json, '<EMAIL_1>');
    for (const a of allowedRaw.filter((x) => JSON.stringify(c.body()).includes(JSON.stringify(x).slice(1, -1)))) {
      t.match(json, JSON.stringify(a).slice(1, -1), `left alone: ${a.slice(0, 30)}`);
    }
  });
}

t.test('OpenAI tool-call arguments stay valid JSON with values (not keys) redacted', async (t) => {
  const body = CASES[0]!.body() as { messages: Array<{ tool_calls?: Array<{ function: { arguments: string } }>; function_call?: { arguments: string } }> };
  r.redactLlmRequest('openai-chat', body, r.vault('args'));
  const args = JSON.parse(body.messages[2]!.tool_calls![0]!.function.arguments);
  t.same(args, { to: '<EMAIL_1>', body: 'hi', cc: ['<EMAIL_1>'], n: 3 });
  t.same(JSON.parse(body.messages[4]!.function_call!.arguments), { password: '<GENERIC_SECRET_1>' }, 'the key names the value as a secret');
});

t.test('Anthropic tool_use input: string values redacted, numbers and keys kept', async (t) => {
  const body = CASES[3]!.body() as { messages: Array<{ content: Array<{ type: string; input?: unknown; thinking?: string }> }> };
  r.redactLlmRequest('anthropic-messages', body, r.vault('tool-use'));
  const blocks = body.messages[1]!.content;
  t.same(blocks[2]!.input, { to: '<EMAIL_1>', nested: { list: ['<AWS_ACCESS_KEY_1>', 5] }, api_key: '<GENERIC_SECRET_1>' });
  t.equal(blocks[0]!.thinking, `user is ${EMAIL}`, 'signed thinking blocks are not modified');
});

t.test('invalid or partial tool arguments are redacted as text; odd bodies never throw', async (t) => {
  const body = { messages: [{ role: 'assistant', tool_calls: [{ function: { arguments: `{"to": "${EMAIL}", "x":` } }] }] };
  r.redactLlmRequest('openai-chat', body, r.vault('partial'));
  t.equal(body.messages[0]!.tool_calls[0]!.function.arguments, '{"to": "<EMAIL_1>", "x":');
  for (const api of CASES.map((c) => c.api)) {
    for (const odd of [null, 'str', 42, [], { messages: 'x' }, { messages: [null, 1, 'x', { content: 5 }] }, { prompt: { a: 1 } }, { system: 7 }]) {
      t.doesNotThrow(() => r.redactLlmRequest(api, odd, r.vault('odd')), `${api} ${JSON.stringify(odd)}`);
    }
  }
});

t.test('a block operator reports the types without the values', async (t) => {
  const blocking = createRedactor({ operators: { aws_access_key: 'block' } });
  t.teardown(() => blocking.close());
  const body = { messages: [{ role: 'user', content: `key ${KEY} mail ${EMAIL}` }] };
  const res = blocking.redactLlmRequest('openai-chat', body, blocking.vault('b'));
  t.same(res.blocked, ['aws_access_key']);
  t.notMatch(JSON.stringify(res), KEY);
});

t.test('a conversation history resent on every turn is scanned once; placeholders stay stable', async (t) => {
  const r = createRedactor({});
  t.teardown(() => r.close());
  const samples = readFileSync(new URL('corpus/corpus.jsonl', import.meta.url), 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { text: string }).text);
  const message = (i: number) => samples.slice(i * 12, i * 12 + 12).join('\n'); // ~1.5 KB, a dozen entities
  const history: Array<{ role: string; content: string }> = [{ role: 'system', content: `You help ${EMAIL}. ${message(0)}` }];
  const seen = new Map<string, string>(); // original message -> what left the first time
  for (let turn = 1; turn <= 6; turn++) {
    history.push({ role: 'user', content: message(turn) });
    const body = { model: 'gpt-4o', messages: history.map((m) => ({ ...m })) };
    const v = r.vault(r.conversationKey('openai-chat', body));
    const misses = r.detectionCache.misses;
    r.redactLlmRequest('openai-chat', body, v);
    t.equal(r.detectionCache.misses - misses, turn === 1 ? 2 : 1, `turn ${turn}: only the new message is scanned`);
    body.messages.forEach((m, i) => {
      const original = history[i]!.content;
      t.equal(r.restoreText(m.content, v), original, `turn ${turn}, message ${i}: restores exactly`);
      if (seen.has(original)) t.equal(m.content, seen.get(original), `turn ${turn}, message ${i}: same text leaves as before`);
      seen.set(original, m.content);
      t.notMatch(m.content, EMAIL);
    });
  }
  t.ok(r.detectionCache.hits >= 15, `earlier messages came from the cache (${r.detectionCache.hits} hits)`);
  const short = { model: 'gpt-4o', messages: [{ role: 'user', content: `short ${EMAIL}` }] };
  const hits = r.detectionCache.hits;
  r.redactLlmRequest('openai-chat', short, r.vault('short'));
  r.redactLlmRequest('openai-chat', short, r.vault('short'));
  t.equal(r.detectionCache.hits, hits, 'short texts are scanned every time');
});

t.test('the detection cache keeps apart texts whose UTF-8 is the same (a lone surrogate and U+FFFD)', async (t) => {
  const r = createRedactor({});
  t.teardown(() => r.close());
  const body = (odd: string) => `${'Filler prose for a long enough text. '.repeat(20)}${odd} write to ${EMAIL}${odd}x`;
  const lone = body('\ud800');
  const replaced = body('\ufffd');
  t.same(Buffer.from(lone), Buffer.from(replaced), 'same UTF-8 bytes');
  const misses = r.detectionCache.misses;
  for (const text of [lone, replaced, lone, replaced]) {
    const v = r.vault(`odd-${text === lone}`);
    const out = r.redactText(text, v).text;
    t.notMatch(out, EMAIL);
    t.equal(r.restoreText(out, v), text, 'restores exactly, the odd character included');
  }
  t.equal(r.detectionCache.misses - misses, 2, 'two entries, each found again');
});

t.test('findInLlmRequest: the same counts as the rewrite, without touching the body or a vault', async (t) => {
  const withBlock = createRedactor({ operators: { aws_access_key: 'block' } });
  t.teardown(() => withBlock.close());
  for (const redactor of [r, withBlock]) {
    for (const c of CASES) {
      const body = c.body();
      const before = JSON.stringify(body);
      const key = `find-${c.api}-${redactor === r ? 'plain' : 'block'}`;
      const found = await redactor.findInLlmRequest(c.api, body);
      t.equal(JSON.stringify(body), before, `${c.api}: the body is unchanged`);
      t.equal(redactor.vault(key).size, 0, `${c.api}: nothing put in a vault`);
      const rewritten = c.body();
      const result = redactor.redactLlmRequest(c.api, rewritten, redactor.vault(key));
      t.same({ counts: found.counts, blocked: found.blocked }, result, `${c.api}: counts and blocked types as the rewrite gives them`);
      const copy = structuredClone(body);
      t.same(redactor.redactLlmRequestWith(c.api, copy, redactor.vault(`${key}-with`), found), result, `${c.api}: the rewrite with the findings counts the same`);
      t.equal(JSON.stringify(copy), JSON.stringify(rewritten), `${c.api}: and writes the same body as a rewrite that detects by itself`);
    }
  }
});

t.test('redactLlmRequestWith uses found spans only on the very texts they were found in', async (t) => {
  const body = { messages: [{ role: 'user', content: `hello ${EMAIL}` }, { role: 'user', content: 'nothing here' }] };
  const found = await r.findInLlmRequest('openai-chat', body);
  // Texts that changed, moved or were added since: each is detected afresh, never let through.
  const changed = { messages: [{ role: 'user', content: `key ${KEY} and hello ${EMAIL}` }, { role: 'user', content: `mail ${EMAIL} now` }, { role: 'user', content: `also ${KEY}` }] };
  r.redactLlmRequestWith('openai-chat', changed, r.vault('moved'), found);
  const json = JSON.stringify(changed);
  t.notMatch(json, EMAIL);
  t.notMatch(json, KEY);
  t.equal(changed.messages[0]!.content, 'key <AWS_ACCESS_KEY_1> and hello <EMAIL_1>', 'spans of a shorter text are not applied to a longer one');
});
