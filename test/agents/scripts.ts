import type { RecordedRequest, ReplyScript, ToolCallScript } from '../fakes/index.js';

/**
 * Scripted model turns for real agents: the first call that offers the agent's own file-writing
 * (or shell) tool gets one call of it, the call after the tool's result gets the final answer, and
 * the side calls agents make (titles, topic checks, routing classifiers) get a plain answer, or
 * JSON following the schema they ask for. One function per wire protocol reads what the agent sent.
 */
export interface Task {
  /** Absolute path the tool writes. */
  file: string;
  content: string;
  /** The final answer's text. */
  answer: string;
}

type Json = Record<string, unknown>;

/**
 * The task as the model sees it: the content between the prompt's quotes as it arrived (with
 * privacy on, pseudonyms in place of the e-mail address and the key), so that the tool call the
 * fake makes carries what a real model would repeat, and Sluice must restore it for the file to
 * hold the originals.
 */
export function asSeen(task: Task, req: RecordedRequest): Task {
  const m = /containing exactly \\"(.+?)\\", then say/.exec(req.raw);
  if (!m) return task;
  try {
    return { ...task, content: JSON.parse(`"${m[1]!}"`) as string };
  } catch {
    return task;
  }
}
const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** A shell command that writes the task's file (printf with single-quoted arguments: no expansion). */
export function shellWrite(task: Task): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return `printf '%s' ${q(task.content)} > ${q(task.file)}`;
}

/** Some value of the JSON schema's type: what a side call asking for structured output gets. */
export function valueFor(schema: unknown): unknown {
  if (!isObj(schema)) return 'ok';
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
  const type = String(Array.isArray(schema.type) ? schema.type[0] : schema.type ?? 'object').toLowerCase();
  if (type === 'object') {
    const props = isObj(schema.properties) ? schema.properties : {};
    return Object.fromEntries(Object.entries(props).map(([k, v]) => [k, valueFor(v)]));
  }
  if (type === 'array') return [];
  if (type === 'integer' || type === 'number') return 10;
  if (type === 'boolean') return false;
  return 'ok';
}

function answer(task: Task): ReplyScript {
  return { text: task.answer, usage: { input: 40, output: 8 } };
}

/** Anthropic Messages (Claude Code, Copilot CLI, OpenClaw): Write, else Bash, bash or exec. */
export function anthropicTurn(task: Task, req: RecordedRequest): ReplyScript {
  const body = req.body ?? {};
  const sawResult = list(body.messages).some((m) => isObj(m) && list(m.content).some((b) => isObj(b) && b.type === 'tool_result'));
  if (sawResult) return answer(task);
  const names = list(body.tools).map((t) => (isObj(t) ? String(t.name) : ''));
  if (names.includes('Write')) return { toolCalls: [{ id: 'toolu_sluice1', name: 'Write', arguments: { file_path: task.file, content: task.content } }], usage: { input: 50, output: 20 } };
  if (names.includes('Bash')) return { toolCalls: [{ id: 'toolu_sluice1', name: 'Bash', arguments: { command: shellWrite(task), description: 'Write the file' } }] };
  // Copilot CLI's shell tool, on a Claude model.
  if (names.includes('bash')) return { toolCalls: [{ id: 'toolu_sluice1', name: 'bash', arguments: { command: shellWrite(task), description: 'Write the file' } }], usage: { input: 50, output: 20 } };
  // OpenClaw's shell tool (its `write` would do too, but the shell is what every provider offers it).
  if (names.includes('exec')) return { toolCalls: [{ id: 'toolu_sluice1', name: 'exec', arguments: { command: shellWrite(task) } }], usage: { input: 50, output: 20 } };
  return { text: 'Writing a file', usage: { input: 5, output: 3 } };
}

/** Every tool a Responses request offers: top-level, in namespaces, and in Codex's additional_tools items. */
function responsesTools(body: Json): Array<{ type: string; name: string; namespace?: string }> {
  const out: Array<{ type: string; name: string; namespace?: string }> = [];
  const walk = (tools: unknown, namespace?: string): void => {
    for (const t of list(tools)) {
      if (!isObj(t)) continue;
      if (t.type === 'namespace') walk(t.tools, String(t.name));
      else out.push({ type: String(t.type), name: String(t.name ?? ''), ...(namespace ? { namespace } : {}) });
    }
  };
  walk(body.tools);
  for (const item of list(body.input)) if (isObj(item) && item.type === 'additional_tools') walk(item.tools);
  return out;
}

/** OpenAI Responses (Codex over WebSocket, opencode's and OpenClaw's openai/* models over HTTP). */
export function responsesTurn(task: Task, req: RecordedRequest): ReplyScript {
  const body = req.body ?? {};
  const sawResult = list(body.input).some((i) => isObj(i) && (i.type === 'function_call_output' || i.type === 'custom_tool_call_output'));
  if (sawResult) return answer(task);
  const tools = responsesTools(body);
  const find = (name: string, type?: string) => tools.find((t) => t.name === name && (type === undefined || t.type === type));
  const ns = (t: { namespace?: string }) => (t.namespace ? { namespace: t.namespace } : {});
  let call: ToolCallScript | undefined;
  const exec = find('exec', 'custom');
  const execFn = find('exec', 'function');
  const write = find('write', 'function');
  const bash = find('bash', 'function');
  const shell = find('exec_command', 'function') ?? find('shell', 'function');
  // Codex's `exec` runs JavaScript whose `tools` object holds its shell tool.
  if (exec) call = { id: 'call_sluice1', name: 'exec', ...ns(exec), input: `const r = await tools.exec_command({ cmd: ${JSON.stringify(shellWrite(task))} });\ntext(r);`, arguments: {} };
  // OpenClaw's shell tool, a function taking a command line.
  else if (execFn) call = { id: 'call_sluice1', name: 'exec', ...ns(execFn), arguments: { command: shellWrite(task) } };
  else if (write) call = { id: 'call_sluice1', name: 'write', ...ns(write), arguments: { filePath: task.file, content: task.content } };
  // opencode gives openai/* models apply_patch (whose files end in a newline) and bash.
  else if (bash) call = { id: 'call_sluice1', name: 'bash', ...ns(bash), arguments: { command: shellWrite(task), description: 'Write the file' } };
  else if (shell) call = { id: 'call_sluice1', name: shell.name, ...ns(shell), arguments: shell.name === 'shell' ? { command: ['bash', '-lc', shellWrite(task)] } : { cmd: shellWrite(task) } };
  if (call) return { toolCalls: [call], usage: { input: 50, output: 20 } };
  const format = isObj(body.text) && isObj(body.text.format) && body.text.format.type === 'json_schema' ? body.text.format.schema : undefined;
  return { text: format ? JSON.stringify(valueFor(format)) : 'Writing a file', usage: { input: 5, output: 3 } };
}

/** OpenAI Chat Completions (Qwen Code, opencode's OpenAI-compatible providers, Copilot CLI, OpenClaw). */
export function chatTurn(task: Task, req: RecordedRequest): ReplyScript {
  const body = req.body ?? {};
  if (list(body.messages).some((m) => isObj(m) && m.role === 'tool')) return answer(task);
  const names = list(body.tools).map((t) => (isObj(t) && isObj(t.function) ? String(t.function.name) : ''));
  if (names.includes('write_file')) return { toolCalls: [{ id: 'call_sluice1', name: 'write_file', arguments: { file_path: task.file, content: task.content } }], usage: { input: 50, output: 20 } };
  // OpenClaw's shell tool.
  if (names.includes('exec')) return { toolCalls: [{ id: 'call_sluice1', name: 'exec', arguments: { command: shellWrite(task) } }], usage: { input: 50, output: 20 } };
  if (names.includes('write')) return { toolCalls: [{ id: 'call_sluice1', name: 'write', arguments: { filePath: task.file, content: task.content } }], usage: { input: 50, output: 20 } };
  // Copilot CLI's shell tool (its `create` refuses a path outside the session's directory tree).
  if (names.includes('bash')) return { toolCalls: [{ id: 'call_sluice1', name: 'bash', arguments: { command: shellWrite(task), description: 'Write the file' } }], usage: { input: 50, output: 20 } };
  const rf = isObj(body.response_format) && isObj(body.response_format.json_schema) ? body.response_format.json_schema.schema : undefined;
  return { text: rf ? JSON.stringify(valueFor(rf)) : 'Writing a file', usage: { input: 5, output: 3 } };
}

/** Gemini (Gemini CLI): write_file, plus JSON for its routing and next-speaker checks. */
export function geminiTurn(task: Task, req: RecordedRequest): ReplyScript {
  const body = req.body ?? {};
  const sawResult = list(body.contents).some((c) => isObj(c) && list(c.parts).some((p) => isObj(p) && isObj(p.functionResponse)));
  if (sawResult) return answer(task);
  const names = list(body.tools).flatMap((t) => (isObj(t) ? list(t.functionDeclarations).map((f) => (isObj(f) ? String(f.name) : '')) : []));
  if (names.includes('write_file')) return { toolCalls: [{ name: 'write_file', arguments: { file_path: task.file, content: task.content } }], usage: { input: 50, output: 20 } };
  const g = isObj(body.generationConfig) ? body.generationConfig : {};
  if (g.responseMimeType === 'application/json') return { text: JSON.stringify(valueFor(g.responseJsonSchema ?? g.responseSchema)), usage: { input: 5, output: 3 } };
  return { text: 'Writing a file', usage: { input: 5, output: 3 } };
}

/**
 * Ollama's /api/chat (what a route to a local Ollama sends, whatever the agent speaks): the
 * agent's own tools arrive translated (Responses namespaces flattened to `ns__name`, Codex's
 * freeform `exec` as a function of one `input` string), so they are found by name, and OpenClaw's
 * `exec` told from Codex's by its parameters.
 */
export function ollamaTurn(task: Task, req: RecordedRequest): ReplyScript {
  const body = req.body ?? {};
  if (list(body.messages).some((m) => isObj(m) && m.role === 'tool')) return answer(task);
  const fns = list(body.tools).map((t) => (isObj(t) && isObj(t.function) ? t.function : {}));
  const names = fns.map((f) => String(f.name ?? ''));
  const find = (n: string) => names.find((x) => x === n || x.endsWith(`__${n}`));
  const takes = (name: string, param: string): boolean => {
    const params = fns[names.indexOf(name)]?.parameters;
    return isObj(params) && isObj(params.properties) && param in params.properties;
  };
  const calls: Array<[string, (name: string) => Record<string, unknown>]> = [
    ['Write', () => ({ file_path: task.file, content: task.content })],
    ['write_file', () => ({ file_path: task.file, content: task.content })],
    // OpenClaw's `exec` is a shell command; Codex's runs JavaScript whose `tools` hold its shell.
    ['exec', (name) => (takes(name, 'command') ? { command: shellWrite(task) } : { input: `const r = await tools.exec_command({ cmd: ${JSON.stringify(shellWrite(task))} });\ntext(r);` })],
    ['write', () => ({ filePath: task.file, content: task.content })],
    ['bash', () => ({ command: shellWrite(task), description: 'Write the file' })],
    ['exec_command', () => ({ cmd: shellWrite(task) })],
    ['shell', () => ({ command: ['bash', '-lc', shellWrite(task)] })],
  ];
  for (const [tool, args] of calls) {
    const name = find(tool);
    if (name) return { toolCalls: [{ id: 'call_sluice1', name, arguments: args(name) }], usage: { input: 50, output: 20 } };
  }
  return { text: body.format !== undefined ? JSON.stringify(valueFor(body.format)) : 'Writing a file', usage: { input: 5, output: 3 } };
}

/** A Copilot client's call, on whichever of Copilot's paths it came: Anthropic's for Claude models, else OpenAI's. */
export function copilotTurn(task: Task, req: RecordedRequest): ReplyScript {
  if (req.path.endsWith('/v1/messages')) return anthropicTurn(task, req);
  if (req.path.endsWith('/responses')) return responsesTurn(task, req);
  return chatTurn(task, req);
}
