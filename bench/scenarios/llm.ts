import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Contender, RunningContender } from '../contenders/index.js';
import { benchModulePath, repoRoot } from '../fork-child.js';
import type { LoadJob } from '../load.js';
import type { Cell, MetricRow, ScenarioResult } from '../report/model.js';
import { median } from '../stats.js';
import { checked, type ScenarioContext } from './context.js';
import { socketLane } from './llm-socket.js';
import { SAME_SIZE_TOKEN, routerOverInterceptedRow, startInterceptedFront } from './llm-intercepted.js';

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

interface Samples {
  ttft50: number[];
  ttft99: number[];
  total50: number[];
}
interface LaneRun {
  samples: Record<'direct' | 'sluice', Samples>;
  errors: Partial<Record<'direct' | 'sluice', string>>;
}

function emptyRun(): LaneRun {
  return { samples: { direct: { ttft50: [], ttft99: [], total50: [] }, sluice: { ttft50: [], ttft99: [], total50: [] } }, errors: {} };
}

/** A lane's rows: each side's figures (median over rounds), the added TTFT and the ratio, round by round. */
function laneRows(id: string, label: string, { samples, errors }: LaneRun): MetricRow[] {
  const failed = errors.sluice ?? errors.direct;
  const cell = (who: 'direct' | 'sluice', pick: (x: Samples) => number[]): Cell =>
    errors[who] ? { na: errors[who]! } : { value: median(pick(samples[who])), rounds: pick(samples[who]) };
  const paired = (k: keyof Samples, f: (via: number, direct: number) => number): Cell => {
    if (failed) return { na: failed };
    const d = samples.sluice[k].map((v, i) => f(v, samples.direct[k][i]!));
    return { value: median(d), rounds: d };
  };
  return [
    { id: `llm.${id}.ttft_p50`, label: `${label}: TTFT p50`, unit: 'ms', better: 'lower', cells: { direct: cell('direct', (x) => x.ttft50), sluice: cell('sluice', (x) => x.ttft50) } },
    { id: `llm.${id}.ttft_p99`, label: `${label}: TTFT p99`, unit: 'ms', better: 'lower', cells: { direct: cell('direct', (x) => x.ttft99), sluice: cell('sluice', (x) => x.ttft99) } },
    { id: `llm.${id}.total_p50`, label: `${label}: total p50`, unit: 'ms', better: 'lower', cells: { direct: cell('direct', (x) => x.total50), sluice: cell('sluice', (x) => x.total50) } },
    { id: `llm.${id}.added_ttft_p50`, label: `${label}: added TTFT p50`, unit: 'ms', better: 'lower', cells: { sluice: paired('ttft50', (v, d) => v - d) } },
    { id: `llm.${id}.added_ttft_p99`, label: `${label}: added TTFT p99`, unit: 'ms', better: 'lower', cells: { sluice: paired('ttft99', (v, d) => v - d) } },
    { id: `llm.${id}.ttft_ratio_p50`, label: `${label}: TTFT p50 ratio to direct`, unit: '×', better: 'lower', cells: { sluice: paired('ttft50', (v, d) => v / d) } },
    { id: `llm.${id}.ttft_ratio_p99`, label: `${label}: TTFT p99 ratio to direct`, unit: '×', better: 'lower', cells: { sluice: paired('ttft99', (v, d) => v / d) } },
  ];
}

function summary(run: LaneRun): string {
  if (run.errors.sluice ?? run.errors.direct) return (run.errors.sluice ?? run.errors.direct)!;
  const added = (k: keyof Samples) => median(run.samples.sluice[k].map((v, i) => v - run.samples.direct[k][i]!)).toFixed(2);
  return `added TTFT p50 ${added('ttft50')} ms, p99 ${added('ttft99')} ms`;
}

function routerOverIntercepted(routed: LaneRun, intercepted: LaneRun): MetricRow {
  const failed = routed.errors.sluice ?? routed.errors.direct ?? intercepted.errors.sluice ?? intercepted.errors.direct;
  const added = (run: LaneRun) => run.samples.sluice.ttft50.map((v, i) => v - run.samples.direct.ttft50[i]!);
  return routerOverInterceptedRow(added(routed), added(intercepted), failed);
}

/**
 * Issue 3's lanes: (a) passthrough — an OpenAI streaming chat call to inference.local routed to
 * an OpenAI-compatible fake, no translation; (b) translated — an Anthropic Messages stream routed
 * to a fake Ollama's native /api/chat. Issue 15's: Responses over SSE and over WebSocket, and a
 * Gemini stream, each translated to the fake Ollama. Each against the same fake called directly.
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
  const front = await startInterceptedFront(ctx.env.pki, openai.url);
  let proc: RunningContender | undefined;
  try {
    const inference = [
      // Appended under the bench policy's network_policies: the intercepted lane's origin.
      front.policy,
      'inference:',
      '  backends:',
      `    fake_openai: { type: openai-compatible, url: "${openai.url}" }`,
      `    fake_ollama: { type: ollama, url: "${ollama.url}" }`,
      '  routes:',
      '    - { match: { api: openai, model: gpt-5 }, backend: fake_ollama, model: "llama3.2" }',
      '    - { match: { api: gemini }, backend: fake_ollama, model: "llama3.2" }',
      '    - { match: { api: openai }, backend: fake_openai }',
      '    - { match: { api: anthropic }, backend: fake_ollama, model: "llama3.2" }',
    ].join('\n');
    proc = await (sluice as Contender).start({ ...ctx.env, inferencePolicy: inference });
    const json = { 'content-type': 'application/json' };
    const ollamaDirect: Lane['direct'] = { urls: [`${ollama.url}/api/chat`], method: 'POST', headers: json, requestBody: JSON.stringify({ model: 'llama3.2', stream: true, messages: MESSAGES }), ttftMarker: MARKER };
    const lanes: Lane[] = [
      {
        id: 'passthrough', label: 'passthrough (OpenAI → OpenAI-compatible)',
        direct: { urls: [`${openai.url}/v1/chat/completions`], method: 'POST', headers: json, requestBody: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: MESSAGES }), ttftMarker: MARKER },
        viaSluice: { urls: ['https://inference.local/v1/chat/completions'], method: 'POST', headers: { ...json, authorization: 'Bearer sk-placeholder' }, requestBody: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: MESSAGES }), ttftMarker: MARKER },
      },
      {
        id: 'intercepted', label: 'intercepted, same size (no router)',
        direct: { urls: [`${openai.url}/v1/chat/completions`], method: 'POST', headers: json, requestBody: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: MESSAGES }), ttftMarker: MARKER },
        viaSluice: { urls: [`https://bench.test:${front.port}/v1/chat/completions`], method: 'POST', headers: { ...json, authorization: SAME_SIZE_TOKEN }, requestBody: JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: MESSAGES }), ttftMarker: MARKER },
      },
      {
        id: 'translated', label: 'translated (Anthropic → Ollama)',
        direct: ollamaDirect,
        viaSluice: { urls: ['https://inference.local/v1/messages'], method: 'POST', headers: { ...json, 'x-api-key': 'sk-ant-placeholder', 'anthropic-version': '2023-06-01' }, requestBody: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 256, stream: true, messages: MESSAGES }), ttftMarker: MARKER },
      },
      {
        id: 'responses_sse', label: 'Responses SSE → Ollama',
        direct: ollamaDirect,
        viaSluice: { urls: ['https://inference.local/v1/responses'], method: 'POST', headers: { ...json, authorization: 'Bearer sk-placeholder' }, requestBody: JSON.stringify({ model: 'gpt-5', stream: true, store: false, input: MESSAGES }), ttftMarker: MARKER },
      },
      {
        id: 'gemini_stream', label: 'Gemini stream → Ollama',
        direct: ollamaDirect,
        viaSluice: { urls: ['https://inference.local/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse'], method: 'POST', headers: { ...json, 'x-goog-api-key': 'AIza-placeholder' }, requestBody: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: MESSAGES[0]!.content }] }] }), ttftMarker: MARKER },
      },
    ];
    const s = ctx.options.scale;
    const n = ctx.options.quick ? 20 : 300;
    const rows: MetricRow[] = [];
    const runs = new Map<string, LaneRun>();
    for (const lane of lanes) {
      const run = emptyRun();
      for (let r = 0; r < s.rounds; r++) {
        for (const who of r % 2 ? (['sluice', 'direct'] as const) : (['direct', 'sluice'] as const)) {
          if (run.errors[who]) continue;
          const job: LoadJob = who === 'direct'
            ? { ...lane.direct, ca: [], resolveTo: '127.0.0.1', concurrency: 1, requests: n }
            : { ...lane.viaSluice, proxy: proc.proxyUrl!, ca: [proc.ca!], resolveTo: '127.0.0.1', concurrency: 1, requests: n };
          try {
            // The first few requests open connections and warm both ends; they are not counted.
            await ctx.loadgen.run({ ...job, requests: 5 });
            const res = checked(await ctx.loadgen.run(job));
            if (res.errors) throw new Error(`${res.errors} errors: ${res.firstError}`);
            run.samples[who].ttft50.push(res.ttftMs!.p50);
            run.samples[who].ttft99.push(res.ttftMs!.p99);
            run.samples[who].total50.push(res.latencyMs.p50);
          } catch (err) {
            run.errors[who] = `error: ${(err as Error).message.slice(0, 200)}`;
          }
        }
      }
      runs.set(lane.id, run);
      rows.push(...laneRows(lane.id, lane.label, run));
      ctx.log(`  llm ${lane.id}: ${summary(run)}`);
    }
    rows.push(routerOverIntercepted(runs.get('passthrough')!, runs.get('intercepted')!));
    // Codex's transport: a turn per response.create on one socket; the loadgen child speaks HTTP only.
    const socket = emptyRun();
    for (let r = 0; r < s.rounds && !socket.errors.sluice; r++) {
      try {
        const res = await socketLane({ proxyUrl: proc.proxyUrl!, ca: proc.ca!, ollamaUrl: ollama.url, marker: MARKER, turns: n, warmup: 5 });
        for (const who of ['direct', 'sluice'] as const) {
          socket.samples[who].ttft50.push(res[who].ttft50);
          socket.samples[who].ttft99.push(res[who].ttft99);
          socket.samples[who].total50.push(res[who].total50);
        }
      } catch (err) {
        socket.errors.sluice = `error: ${(err as Error).message.slice(0, 200)}`;
      }
    }
    rows.push(...laneRows('responses_ws', 'Responses WebSocket → Ollama', socket));
    ctx.log(`  llm responses_ws: ${summary(socket)}`);
    return {
      id: 'llm', title: TITLE, rows,
      note: `${n} streamed calls per round (${REPLY.tokens.length} tokens each) against fakes from test/fakes; direct = the same fake called without Sluice (the WebSocket lane: both measured in the bench process, turn by turn); ratio = Sluice ÷ direct; goal: added TTFT < 1 ms p50, < 2 ms p99`,
    };
  } finally {
    await proc?.close();
    await front.close();
    await openai.close();
    await ollama.close();
  }
}
