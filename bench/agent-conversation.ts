import { request, type Dispatcher } from 'undici';

/**
 * One simulated agent of the agent-load lane: a conversation of turns, each resending the whole history
 * (as agents call stateless LLM APIs) plus a new user message of prose, code, PII and secrets, and reading
 * the streamed answer to append it. Distinct per agent and turn, so only the history repeats.
 */
export interface TurnSample {
  /** Characters of content sent (the whole history plus the new message). */
  contextChars: number;
  ttftMs: number;
  totalMs: number;
}

const WORDS = 'the build step reads the config and then the cache is warmed before any request reaches the handler'.split(' ');

/** A user message of about `chars` characters: prose and code with an entity every ~400 characters. */
export function userMessage(agent: number, turn: number, chars: number): string {
  let out = `Turn ${turn}: please look at this. `;
  for (let i = 0; out.length < chars; i++) {
    const w = (k: number) => WORDS[(agent * 7 + turn * 13 + i + k) % WORDS.length];
    out += `${w(0)} ${w(1)} ${w(2)} ${w(3)} ${w(4)} ${w(5)}, ${w(6)} ${w(7)} ${w(8)} ${w(9)}. `;
    switch (i % 6) {
      case 0: out += `Mail a${agent}t${turn}n${i}@example.com about it. `; break;
      case 1: out += `Their phone is +1 (555) ${String(100 + ((agent + i) % 900))}-${String(1000 + ((turn * 97 + i) % 9000))}. `; break;
      case 2: out += `const AWS_KEY = "AKIAZ7QW${String(agent).padStart(2, '0')}${String(turn).padStart(2, '0')}${String(i % 10000).padStart(4, '0')}RT"; `; break;
      case 3: out += `The server is 10.${agent}.${turn}.${i % 250} and the card 4111 1111 1111 1111. `; break;
      case 4: out += `function f${i}(x) { return x.map((v) => v * ${i}).filter(Boolean); } `; break;
      default: out += `SSN 123-45-${String(1000 + ((agent * 31 + turn * 7 + i) % 9000))}. `;
    }
  }
  return out;
}

/** Content of the SSE deltas of an OpenAI chat stream. */
function deltas(sse: string): string {
  let text = '';
  for (const line of sse.split('\n')) {
    if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
    const chunk = JSON.parse(line.slice(6)) as { choices?: { delta?: { content?: string } }[] };
    text += chunk.choices?.[0]?.delta?.content ?? '';
  }
  return text;
}

export interface ConversationOptions {
  url: string;
  dispatcher: Dispatcher;
  agent: number;
  turns: number;
  /** Characters of each new user message. */
  messageChars: number;
  marker: string;
  /** Stop between turns once this returns true. */
  stop(): boolean;
}

/** Runs one conversation; returns its turns' figures. */
export async function runConversation(o: ConversationOptions): Promise<TurnSample[]> {
  const messages: { role: string; content: string }[] = [{ role: 'system', content: `You are agent ${o.agent}. Answer briefly.` }];
  const samples: TurnSample[] = [];
  for (let turn = 0; turn < o.turns && !o.stop(); turn++) {
    messages.push({ role: 'user', content: userMessage(o.agent, turn, o.messageChars) });
    const body = JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages });
    let contextChars = 0;
    for (const m of messages) contextChars += m.content.length;
    const t0 = performance.now();
    const res = await request(o.url, {
      method: 'POST', dispatcher: o.dispatcher, body,
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-placeholder' },
    });
    let sse = '';
    let ttft: number | undefined;
    for await (const chunk of res.body) {
      sse += (chunk as Buffer).toString();
      if (ttft === undefined && sse.includes(o.marker)) ttft = performance.now() - t0;
    }
    const totalMs = performance.now() - t0;
    if (res.statusCode !== 200 || ttft === undefined) throw new Error(`agent ${o.agent} turn ${turn}: HTTP ${res.statusCode}: ${sse.slice(0, 200)}`);
    messages.push({ role: 'assistant', content: deltas(sse) });
    samples.push({ contextChars, ttftMs: ttft, totalMs });
  }
  return samples;
}
