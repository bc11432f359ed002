import t from 'tap';
import { createResponseRestorer, translate } from '../../privacy/index.js';
import { createRedactor, privacySchema } from '../../redact/index.js';

// Restoring pseudonyms in each client shape, with placeholders split across events and bytes.

const redactor = createRedactor(privacySchema.parse({ redact: ['email'] }));
t.teardown(() => redactor.close());
const body = { model: 'm', messages: [{ role: 'user', content: 'write to bob@example.org' }] };
const vault = redactor.vault(redactor.conversationKey('anthropic-messages', body));
redactor.redactLlmRequest('anthropic-messages', body, vault);
const placeholder = /<EMAIL_\d+>/.exec(body.messages[0]!.content)![0];

async function run(shape: translate.Shape, stream: boolean, wire: string, split: number): Promise<string> {
  const f = createResponseRestorer(shape, stream, redactor, vault);
  const bytes = Buffer.from(wire);
  let out = '';
  for (let i = 0; i < bytes.length; i += split) out += (await f.transform(bytes.subarray(i, i + split))).toString('utf8');
  return out + (await f.flush!()).toString('utf8');
}

function events(shape: translate.Shape, wire: string): translate.ChatEvent[] {
  const dec = translate.codecs[shape].createDecoder();
  const out: translate.ChatEvent[] = [];
  dec.push(Buffer.from(wire), out);
  dec.end(out);
  return out;
}

const text = (evs: translate.ChatEvent[]) => evs.map((e) => (e.type === 'text' ? e.text : '')).join('');
const args = (evs: translate.ChatEvent[]) => evs.map((e) => (e.type === 'tool_args' ? e.json : '')).join('');

t.test('every client shape, streaming, split at every size', async (t) => {
  const half = 5;
  const script: translate.ChatEvent[] = [
    { type: 'start', inputTokens: 1 },
    { type: 'text', text: 'To ' },
    { type: 'text', text: placeholder.slice(0, half) },
    { type: 'text', text: placeholder.slice(half) },
    { type: 'text', text: ' now' },
    { type: 'tool_start', index: 0, id: 'call_1', name: 'send' },
    { type: 'tool_args', index: 0, json: `{"to":"${placeholder.slice(0, 3)}` },
    { type: 'tool_args', index: 0, json: `${placeholder.slice(3)}"}` },
    { type: 'finish', reason: 'tool_calls' },
    { type: 'usage', outputTokens: 3 },
    { type: 'end' },
  ];
  for (const shape of ['anthropic', 'openai', 'ollama', 'responses', 'gemini'] as const) {
    const enc = translate.codecs[shape].createEncoder('m', true);
    const wire = script.map((e) => enc.encode(e)).join('');
    for (const split of [wire.length, 7, 1]) {
      const out = await run(shape, true, wire, split);
      const evs = events(shape, out);
      t.equal(text(evs), 'To bob@example.org now', `${shape} split ${split}: text`);
      t.same(JSON.parse(args(evs)), { to: 'bob@example.org' }, `${shape} split ${split}: tool arguments`);
      t.equal(evs.at(-1)?.type, 'end', `${shape} split ${split}: stream still well formed`);
      if (shape === 'responses') {
        const seqs = [...out.matchAll(/"sequence_number":(\d+)/g)].map((m) => Number(m[1]));
        t.same(seqs, seqs.map((_, i) => i), `responses split ${split}: sequence numbers still count up`);
        t.match(out, /"type":"response\.output_text\.done"[^\n]*"text":"To bob@example\.org now"/, 'the done event holds the restored text');
        t.match(out, /"type":"response\.completed"[^\n]*"arguments":"\{\\"to\\":\\"bob@example\.org\\"\}"/, 'so does the final response');
      }
      if (shape === 'gemini') t.notMatch(out, /"text":""/, 'no empty text part (Gemini CLI rejects those)');
    }
  }
});

t.test('JSON answers and JSON errors to streaming requests are restored whole', async (t) => {
  const res = translate.codecs.openai.renderResponse({ parts: [{ type: 'text', text: `hi ${placeholder}` }, { type: 'tool_call', id: 'c', name: 'f', arguments: `{"to":"${placeholder}"}` }], stopReason: 'tool_calls', usage: {} }, 'm');
  const out = JSON.parse(await run('openai', false, JSON.stringify(res), 3)) as { choices: { message: { content: string; tool_calls: { function: { arguments: string } }[] } }[] };
  t.equal(out.choices[0]!.message.content, 'hi bob@example.org');
  t.same(JSON.parse(out.choices[0]!.message.tool_calls[0]!.function.arguments), { to: 'bob@example.org' });
  const err = await run('anthropic', true, JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message: `bad ${placeholder}` } }), 4);
  t.match(JSON.parse(err), { error: { message: 'bad bob@example.org' } }, 'an error body instead of a stream is not swallowed');
  t.equal(await run('openai', true, 'data: [DONE]\n\n', 2), 'data: [DONE]\n\n');
  const whole = translate.codecs.responses.renderResponse({ parts: [{ type: 'text', text: `hi ${placeholder}` }, { type: 'tool_call', id: 'c', name: 'f', arguments: `{"to":"${placeholder}"}` }], stopReason: 'tool_calls', usage: {} }, 'm');
  const restored = JSON.parse(await run('responses', false, JSON.stringify(whole), 5)) as { output: [{ content: [{ text: string }] }, { arguments: string }] };
  t.equal(restored.output[0].content[0].text, 'hi bob@example.org');
  t.same(JSON.parse(restored.output[1].arguments), { to: 'bob@example.org' });
});
