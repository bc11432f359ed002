import t from 'tap';
import { translate } from '../../privacy/index.js';

// What Claude Code's real requests showed translation losing: system blocks run together, system
// messages between turns, structured output dropped, a tool's screenshot dropped, tool_reference
// blocks gone.

const { codecs } = translate;
type Json = Record<string, unknown>;
const PNG = 'iVBORw0KGgoAAAANSUhEUg==';

const CLAUDE_LIKE = {
  model: 'claude-opus-5-5',
  max_tokens: 128000,
  system: [{ type: 'text', text: 'You are Claude Code.' }, { type: 'text', text: 'Follow the rules.', cache_control: { type: 'ephemeral' } }],
  messages: [
    { role: 'user', content: [{ type: 'text', text: 'Take a screenshot.' }] },
    { role: 'system', content: 'The user changed the working directory.' },
    { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'Screenshot', input: {} }] },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'Here it is.' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } }, { type: 'tool_reference', tool_name: 'WebFetch' }] }] },
  ],
  output_config: { effort: 'medium', format: { type: 'json_schema', schema: { type: 'object', properties: { done: { type: 'boolean' } }, required: ['done'] } } },
};

t.test('system blocks and system messages join with newlines', async (t) => {
  const req = codecs.anthropic.parseRequest(CLAUDE_LIKE);
  t.equal(req.system, 'You are Claude Code.\nFollow the rules.\nThe user changed the working directory.');
  t.same(req.messages.map((m) => m.role), ['user', 'assistant', 'user']);
  const ollama = codecs.ollama.renderRequest(req, 'qwen3');
  t.same((ollama.messages as Json[])[0], { role: 'system', content: req.system });
});

t.test('structured output: output_config.format ↔ response_format ↔ format ↔ text.format ↔ responseJsonSchema', async (t) => {
  const req = codecs.anthropic.parseRequest(CLAUDE_LIKE);
  const schema = CLAUDE_LIKE.output_config.format.schema;
  t.same(req.format, schema);
  t.same(codecs.ollama.renderRequest(req, 'm').format, schema);
  t.same(codecs.openai.renderRequest(req, 'm').response_format, { type: 'json_schema', json_schema: { name: 'response', schema } });
  t.same(codecs.responses.renderRequest(req, 'm').text, { format: { type: 'json_schema', name: 'response', schema } });
  t.match(codecs.gemini.renderRequest(req, 'm').generationConfig, { responseMimeType: 'application/json', responseJsonSchema: schema });
  t.same(codecs.anthropic.renderRequest(codecs.openai.parseRequest({ model: 'm', messages: [], response_format: { type: 'json_object' } }), 'm').output_config, { format: { type: 'json_schema', schema: { type: 'object' } } });
  t.same(codecs.anthropic.parseRequest(codecs.anthropic.renderRequest(req, 'm')).format, schema, 'Anthropic → Anthropic keeps it');
});

t.test("a tool's images stay with the conversation in every shape", async (t) => {
  const req = codecs.anthropic.parseRequest(CLAUDE_LIKE);
  const result = req.messages[2]!.parts[0] as Extract<translate.Part, { type: 'tool_result' }>;
  t.equal(result.content, 'Here it is.[tool loaded: WebFetch]', 'tool_reference becomes text');
  t.same(result.images, [{ type: 'image', mediaType: 'image/png', data: PNG }]);

  const anthropic = codecs.anthropic.renderRequest(req, 'm');
  t.match((anthropic.messages as { content: Json[] }[])[2]!.content[0], { type: 'tool_result', content: [{ type: 'text' }, { type: 'image', source: { type: 'base64', data: PNG } }] });
  const ollama = codecs.ollama.renderRequest(req, 'm');
  t.match((ollama.messages as Json[]).find((m) => m.role === 'tool'), { role: 'tool', images: [PNG] });
  const { id: _id, ...rest } = codecs.ollama.parseRequest(ollama).messages[2]!.parts[0] as typeof result;
  t.same(rest, { type: 'tool_result', name: 'Screenshot', content: result.content, images: result.images }, 'Ollama tool messages carry images both ways (Ollama has no call ids)');
  const openai = codecs.openai.renderRequest(req, 'm');
  const after = (openai.messages as Json[]).at(-1)!;
  t.match(after, { role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } }] }, 'OpenAI tool messages are text: the image follows as the user');
  const responses = codecs.responses.renderRequest(req, 'm');
  t.match((responses.input as Json[]).find((i) => i.type === 'function_call_output'), { output: [{ type: 'input_text' }, { type: 'input_image', image_url: `data:image/png;base64,${PNG}` }] });
  t.same((codecs.responses.parseRequest(responses).messages[2]!.parts[0] as { images?: unknown }).images, result.images);
  const gemini = codecs.gemini.renderRequest(req, 'm');
  t.match((gemini.contents as { parts: Json[] }[])[2]!.parts, [{ functionResponse: { name: 'Screenshot' } }, { inlineData: { mimeType: 'image/png', data: PNG } }]);
});
