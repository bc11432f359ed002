import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Contender, RunningContender } from '../contenders/index.js';
import { benchModulePath, repoRoot } from '../fork-child.js';
import type { LoadJob } from '../load.js';
import type { Cell, MetricRow, ScenarioResult } from '../report/model.js';
import { median } from '../stats.js';
import { checked, type ScenarioContext } from './context.js';

/** The parts of test/fakes the lane uses. */
interface FakeBackend {
  readonly url: string;
  close(): Promise<void>;
}
interface FakesModule {
  createFakeOpenAI(o?: { reply?: unknown }): Promise<FakeBackend>;
  createFakeOllama(o?: { reply?: unknown }): Promise<FakeBackend>;
}

const TITLE = 'LLM lanes (time to first token and total, c=1)';
const MARKER = 'Zebra';
// A first token the client can spot in any framing, then a realistic short answer.
const REPLY = { tokens: [MARKER, ...Array.from({ length: 31 }, (_, i) => ` word${i}`)], usage: { input: 20, output: 32 } };
const MESSAGES = [{ role: 'user', content: 'Say something short.' }];

export function fakesPath(): string | undefined {
  const ext = benchModulePath('x').endsWith('.ts') ? '.ts' : '.js';
  const p = ext === '.ts' ? join(repoRoot(), 'test/fakes/index.ts') : join(repoRoot(), 'dist/test/fakes/index.js');
  return existsSync(p) ? p : undefined;
}

function naResult(reason: string): ScenarioResult {
  return { id: 'llm', title: TITLE, rows: [{ id: 'llm.status', label: 'status', unit: '', better: 'lower', cells: { sluice: { na: reason } } }] };
}

interface Lane {
  id: string;
  label: string;
  direct: Omit<LoadJob, 'ca' | 'resolveTo' | 'concurrency' | 'requests'>;
  viaSluice: Omit<LoadJob, 'ca' | 'resolveTo' | 'concurrency' | 'requests' | 'proxy'>;
}

/**
 * Issue 3's lanes: (a) passthrough — an OpenAI streaming chat call to inference.local routed to
 * an OpenAI-compatible fake, no translation; (b) translated — an Anthropic Messages stream routed
 * to a fake Ollama's native /api/chat. Each against the same fake called directly.
 */
export async function llmLane(ctx: ScenarioContext): Promise<ScenarioResult> {
  const path = fakesPath();
  if (!path) return naResult('n/a (test/fakes/index.ts, the fake LLM backends, not present)');
  const sluice = ctx.contenders.find((c) => c.name === 'sluice')!;
  const down = ctx.unavailable.get('sluice');
  if (down) return naResult(down);
  const fakes = (await import(pathToFileURL(path).href)) as FakesModule;
  const openai = await fakes.createFakeOpenAI({ reply: REPLY });
  const ollama = await fakes.createFakeOllama({ reply: REPLY });
  let proc: RunningContender | undefined;
  try {
    const inference = [
      'inference:',
      '  backends:',
      `    fake_openai: { type: openai-compatible, url: "${openai.url}" }`,
      `    fake_ollama: { type: ollama, url: "${ollama.url}" }`,
      '  routes:',
      '    - { match: { api: openai }, backend: fake_openai }',
      '    - { match: { api: anthropic }, backend: fake_ollama, model: "llama3.2" }',
    ].join('\n');
    proc = await (sluice as Contender).start({ ...ctx.env, inferencePolicy: inference });
    const json = { 'content-type': 'application/json' };
    const lanes: Lane[] = [
      {
        id: 'passthrough', label: 'passthrough (OpenAI → OpenAI-compatible)',
        direct: { urls: [`${openai.url}/v1/chat/completions`], method: 'POST', headers: json, requestBody: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: MESSAGES }), ttftMarker: MARKER },
        viaSluice: { urls: ['https://inference.local/v1/chat/completions'], method: 'POST', headers: { ...json, authorization: 'Bearer sk-placeholder' }, requestBody: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: MESSAGES }), ttftMarker: MARKER },
      },
      {
        id: 'translated', label: 'translated (Anthropic → Ollama)',
        direct: { urls: [`${ollama.url}/api/chat`], method: 'POST', headers: json, requestBody: JSON.stringify({ model: 'llama3.2', stream: true, messages: MESSAGES }), ttftMarker: MARKER },
        viaSluice: { urls: ['https://inference.local/v1/messages'], method: 'POST', headers: { ...json, 'x-api-key': 'sk-ant-placeholder', 'anthropic-version': '2023-06-01' }, requestBody: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 256, stream: true, messages: MESSAGES }), ttftMarker: MARKER },
      },
    ];
    const s = ctx.options.scale;
    const n = ctx.options.quick ? 20 : 300;
    const rows: MetricRow[] = [];
    for (const lane of lanes) {
      const samples: Record<'direct' | 'sluice', { ttft50: number[]; ttft99: number[]; total50: number[] }> = {
        direct: { ttft50: [], ttft99: [], total50: [] },
        sluice: { ttft50: [], ttft99: [], total50: [] },
      };
      const errors: Partial<Record<'direct' | 'sluice', string>> = {};
      for (let r = 0; r < s.rounds; r++) {
        for (const who of r % 2 ? (['sluice', 'direct'] as const) : (['direct', 'sluice'] as const)) {
          if (errors[who]) continue;
          const job: LoadJob = who === 'direct'
            ? { ...lane.direct, ca: [], resolveTo: '127.0.0.1', concurrency: 1, requests: n }
            : { ...lane.viaSluice, proxy: proc.proxyUrl!, ca: [proc.ca!], resolveTo: '127.0.0.1', concurrency: 1, requests: n };
          try {
            // The first few requests open connections and warm both ends; they are not counted.
            await ctx.loadgen.run({ ...job, requests: 5 });
            const res = checked(await ctx.loadgen.run(job));
            if (res.errors) throw new Error(`${res.errors} errors: ${res.firstError}`);
            samples[who].ttft50.push(res.ttftMs!.p50);
            samples[who].ttft99.push(res.ttftMs!.p99);
            samples[who].total50.push(res.latencyMs.p50);
          } catch (err) {
            errors[who] = `error: ${(err as Error).message.slice(0, 200)}`;
          }
        }
      }
      const cell = (who: 'direct' | 'sluice', pick: (x: (typeof samples)['direct']) => number[]): Cell =>
        errors[who] ? { na: errors[who]! } : { value: median(pick(samples[who])), rounds: pick(samples[who]) };
      const added = (k: 'ttft50' | 'ttft99'): Cell => {
        if (errors.sluice || errors.direct) return { na: errors.sluice ?? errors.direct! };
        const d = samples.sluice[k].map((v, i) => v - samples.direct[k][i]!);
        return { value: median(d), rounds: d };
      };
      rows.push(
        { id: `llm.${lane.id}.ttft_p50`, label: `${lane.label}: TTFT p50`, unit: 'ms', better: 'lower', cells: { direct: cell('direct', (x) => x.ttft50), sluice: cell('sluice', (x) => x.ttft50) } },
        { id: `llm.${lane.id}.ttft_p99`, label: `${lane.label}: TTFT p99`, unit: 'ms', better: 'lower', cells: { direct: cell('direct', (x) => x.ttft99), sluice: cell('sluice', (x) => x.ttft99) } },
        { id: `llm.${lane.id}.total_p50`, label: `${lane.label}: total p50`, unit: 'ms', better: 'lower', cells: { direct: cell('direct', (x) => x.total50), sluice: cell('sluice', (x) => x.total50) } },
        { id: `llm.${lane.id}.added_ttft_p50`, label: `${lane.label}: added TTFT p50`, unit: 'ms', better: 'lower', cells: { sluice: added('ttft50') } },
        { id: `llm.${lane.id}.added_ttft_p99`, label: `${lane.label}: added TTFT p99`, unit: 'ms', better: 'lower', cells: { sluice: added('ttft99') } },
      );
      ctx.log(`  llm ${lane.id}: ${errors.sluice ?? `added TTFT p50 ${(rows.at(-2)!.cells.sluice as { value: number }).value?.toFixed(2)} ms`}`);
    }
    return {
      id: 'llm', title: TITLE, rows,
      note: `${n} streamed calls per round (${REPLY.tokens.length} tokens each) against fakes from test/fakes; direct = the same fake called without Sluice; goal: added TTFT < 1 ms p50, < 2 ms p99`,
    };
  } finally {
    await proc?.close();
    await openai.close();
    await ollama.close();
  }
}
