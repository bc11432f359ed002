import t from 'tap';
import { createResponsesSession } from '../../privacy/responses-session.js';
import type { Turn } from '../../privacy/responses-session.js';
import type { translate } from '../../privacy/index.js';

// A Responses WebSocket answered by Sluice, turn by turn: warm-ups, continuations by
// previous_response_id (the backend gets the whole conversation), refusals as error messages.

type Json = Record<string, unknown>;

function session(run: (turn: Turn, emit: (e: translate.ChatEvent) => void) => Promise<void>) {
  const sent: Json[] = [];
  const s = createResponsesSession({ run, send: (m) => sent.push(JSON.parse(m) as Json) });
  const settled = async (n: number): Promise<Json[]> => {
    for (let i = 0; i < 500 && sent.filter((e) => e.type === 'response.completed' || e.type === 'error' || e.type === 'response.failed').length < n; i++) await new Promise((r) => setImmediate(r));
    return sent;
  };
  return { s, sent, settled };
}

t.test('warm-up, a tool call, a continuation with only the new items', async (t) => {
  const turns: Turn[] = [];
  const { s, settled } = session(async (turn, emit) => {
    turns.push(turn);
    const answered = turn.request.messages.some((m) => m.parts.some((p) => p.type === 'tool_result'));
    emit({ type: 'start', inputTokens: 3 });
    if (answered) emit({ type: 'text', text: 'Done.' });
    else {
      emit({ type: 'tool_start', index: 0, id: 'call_1', name: 'functions__exec' });
      emit({ type: 'tool_args', index: 0, json: '{"input":"ls"}' });
    }
    emit({ type: 'finish', reason: answered ? 'stop' : 'tool_calls' });
    emit({ type: 'end' });
  });
  const tools = [{ type: 'namespace', name: 'functions', description: '', tools: [{ type: 'custom', name: 'exec' }] }];
  s.message(JSON.stringify({ type: 'response.create', model: 'gpt-x', input: [], generate: false }));
  s.message(JSON.stringify({ type: 'response.create', model: 'gpt-x', tools, input: [{ role: 'user', content: 'list files' }] }));
  const sent = await settled(2);
  t.equal(turns.length, 1, 'the warm-up made no backend call');
  const first = sent.filter((e) => e.type === 'response.completed').at(-1)!.response as Json;
  t.match(first.output, [{ type: 'custom_tool_call', namespace: 'functions', name: 'exec', input: 'ls', call_id: 'call_1' }]);

  s.message(JSON.stringify({ type: 'response.create', model: 'gpt-x', tools, previous_response_id: first.id, input: [{ type: 'custom_tool_call_output', call_id: 'call_1', output: 'a.txt' }] }));
  const all = await settled(3);
  t.equal(turns.length, 2);
  t.same(turns[1]!.request.messages.map((m) => [m.role, m.parts.map((p) => p.type)]), [['user', ['text']], ['assistant', ['tool_call']], ['user', ['tool_result']]], 'the backend saw the whole conversation');
  t.match(all.filter((e) => e.type === 'response.completed').at(-1), { response: { output: [{ type: 'message', content: [{ text: 'Done.' }] }] } });
  s.close();
});

t.test('refusals: unknown previous response, not JSON, other events, a backend error before the answer', async (t) => {
  const { s, sent, settled } = session(async () => {
    throw { status: 404, kind: 'not_found', message: 'model gpt-y not found' };
  });
  s.message(JSON.stringify({ type: 'response.create', model: 'gpt-x', previous_response_id: 'resp_nope', input: [] }));
  s.message('not json');
  s.message(JSON.stringify({ type: 'response.cancel' }));
  s.message(JSON.stringify({ type: 'response.create', model: 'gpt-y', input: 'hi' }));
  await settled(4);
  t.match(sent[0], { type: 'error', status: 400, error: { message: "Previous response with id 'resp_nope' not found." } });
  t.match(sent[1], { type: 'error', status: 400 });
  t.match(sent[2], { type: 'error', status: 400, error: { message: /response\.cancel/ } });
  t.match(sent[3], { type: 'error', status: 404, error: { code: 'model_not_found', message: 'model gpt-y not found' } });
});
