import { pathToFileURL } from 'node:url';
import type { Contender, RunningContender } from '../contenders/index.js';
import { freePort, spawnProxy, type SpawnedProxy } from '../contenders/spawn-proxy.js';
import { benchModulePath } from '../fork-child.js';
import type { LoadJob } from '../load.js';
import type { Cell, MetricRow, ScenarioResult } from '../report/model.js';
import { median } from '../stats.js';
import { checked, type ScenarioContext } from './context.js';
import { fakesPath } from './llm.js';

/**
 * Sluice's privacy router against an LLM gateway, Portkey's (@portkey-ai/gateway, pinned devDependency), doing
 * the same two jobs for an OpenAI-shaped client: passthrough to an OpenAI-compatible backend, and translation
 * to an Anthropic Messages backend. Time to first token at c=1, each against the same fake called directly in
 * its own shape; rounds alternate the order. Sluice is reached as an agent reaches it (through the proxy,
 * intercepted TLS to inference.local); Portkey as its users do (plain HTTP to the gateway, provider headers).
 */
const TITLE = 'LLM router vs an LLM gateway (Portkey): added time to first token, c=1';
const MARKER = 'Zebra';
const REPLY = { tokens: [MARKER, ...Array.from({ length: 31 }, (_, i) => ` word${i}`)], usage: { input: 20, output: 32 } };
const MESSAGES = [{ role: 'user', content: 'Say something short.' }];
const WHO = ['direct', 'sluice', 'portkey'] as const;
type Who = (typeof WHO)[number];

interface FakesModule {
  createFakeOpenAI(o?: { reply?: unknown }): Promise<{ url: string; close(): Promise<void> }>;
  createFakeAnthropic(o?: { reply?: unknown }): Promise<{ url: string; close(): Promise<void> }>;
}

type Job = Omit<LoadJob, 'concurrency' | 'requests'>;

async function startPortkey(): Promise<SpawnedProxy & { port: number }> {
  const port = await freePort();
  const child = benchModulePath('contenders/portkey-child');
  const loader = child.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const proc = await spawnProxy({ argv: [process.execPath, ...loader, child, String(port)], port, timeoutMs: 30_000 });
  return { ...proc, port };
}

export async function llmPeersLane(ctx: ScenarioContext): Promise<ScenarioResult> {
  const na = (reason: string): ScenarioResult => ({ id: 'llm-peers', title: TITLE, rows: [{ id: 'llm-peers.status', label: 'status', unit: '', better: 'lower', cells: { sluice: { na: reason } } }] });
  const path = fakesPath();
  if (!path) return na('n/a (test/fakes, the fake LLM backends, not present)');
  const down = ctx.unavailable.get('sluice');
  if (down) return na(down);
  const fakes = (await import(pathToFileURL(path).href)) as FakesModule;
  const openai = await fakes.createFakeOpenAI({ reply: REPLY });
  const anthropic = await fakes.createFakeAnthropic({ reply: REPLY });
  let sluice: RunningContender | undefined;
  let portkey: (SpawnedProxy & { port: number }) | undefined;
  const portkeyDown: { reason?: string } = {};
  try {
    const inference = [
      'inference:',
      '  backends:',
      `    fake_openai: { type: openai-compatible, url: "${openai.url}" }`,
      `    fake_anthropic: { type: anthropic, url: "${anthropic.url}" }`,
      '  routes:',
      '    - { match: { api: openai, model: "to-anthropic" }, backend: fake_anthropic, model: "claude-sonnet-4-5" }',
      '    - { match: { api: openai }, backend: fake_openai }',
    ].join('\n');
    sluice = await (ctx.contenders.find((c) => c.name === 'sluice') as Contender).start({ ...ctx.env, inferencePolicy: inference });
    portkey = await startPortkey().catch((err: Error) => {
      portkeyDown.reason = `n/a (Portkey's gateway did not start: ${err.message.slice(0, 160)})`;
      return undefined;
    });
    const json = { 'content-type': 'application/json' };
    const chat = (model: string) => JSON.stringify({ model, stream: true, max_tokens: 256, messages: MESSAGES });
    const viaSluice = (model: string): Job => ({
      urls: ['https://inference.local/v1/chat/completions'], method: 'POST', proxy: sluice!.proxyUrl!, ca: [sluice!.ca!], resolveTo: '127.0.0.1',
      headers: { ...json, authorization: 'Bearer sk-placeholder' }, requestBody: chat(model), ttftMarker: MARKER,
    });
    const viaPortkey = (provider: string, host: string, model: string): Job => ({
      urls: [`http://127.0.0.1:${portkey?.port ?? 0}/v1/chat/completions`], method: 'POST', ca: [], resolveTo: '127.0.0.1',
      headers: { ...json, authorization: 'Bearer sk-placeholder', 'x-portkey-provider': provider, 'x-portkey-custom-host': host },
      requestBody: chat(model), ttftMarker: MARKER,
    });
    const lanes: { id: string; label: string; jobs: Record<Who, Job> }[] = [
      {
        id: 'passthrough', label: 'passthrough (OpenAI → OpenAI-compatible)',
        jobs: {
          direct: { urls: [`${openai.url}/v1/chat/completions`], method: 'POST', ca: [], resolveTo: '127.0.0.1', headers: json, requestBody: chat('gpt-4o-mini'), ttftMarker: MARKER },
          sluice: viaSluice('gpt-4o-mini'),
          portkey: viaPortkey('openai', `${openai.url}/v1`, 'gpt-4o-mini'),
        },
      },
      {
        id: 'translated', label: 'translated (OpenAI → Anthropic Messages)',
        jobs: {
          direct: {
            urls: [`${anthropic.url}/v1/messages`], method: 'POST', ca: [], resolveTo: '127.0.0.1',
            headers: { ...json, 'x-api-key': 'sk-ant-placeholder', 'anthropic-version': '2023-06-01' },
            requestBody: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 256, stream: true, messages: MESSAGES }), ttftMarker: MARKER,
          },
          sluice: viaSluice('to-anthropic'),
          portkey: viaPortkey('anthropic', `${anthropic.url}/v1`, 'claude-sonnet-4-5'),
        },
      },
    ];
    const n = ctx.options.quick ? 20 : 300;
    const rows: MetricRow[] = [];
    for (const lane of lanes) {
      const p50: Record<Who, number[]> = { direct: [], sluice: [], portkey: [] };
      const p99: Record<Who, number[]> = { direct: [], sluice: [], portkey: [] };
      const errors: Partial<Record<Who, string>> = portkeyDown.reason ? { portkey: portkeyDown.reason } : {};
      for (let r = 0; r < ctx.options.scale.rounds; r++) {
        for (const who of WHO.map((_, i) => WHO[(i + r) % WHO.length]!)) {
          if (errors[who]) continue;
          try {
            // The first requests open connections and warm both ends; they are not counted.
            await ctx.loadgen.run({ ...lane.jobs[who], concurrency: 1, requests: 5 });
            const res = checked(await ctx.loadgen.run({ ...lane.jobs[who], concurrency: 1, requests: n }));
            if (res.errors || !res.ttftMs) throw new Error(`${res.errors} errors: ${res.firstError ?? 'no first token seen'}`);
            p50[who].push(res.ttftMs.p50);
            p99[who].push(res.ttftMs.p99);
          } catch (err) {
            errors[who] = `error: ${(err as Error).message.slice(0, 200)}`;
          }
        }
      }
      const added = (who: Who, of: Record<Who, number[]>): Cell => {
        const why = errors[who] ?? errors.direct;
        if (why) return { na: why };
        const d = of[who].map((v, i) => v - of.direct[i]!);
        return { value: median(d), rounds: d };
      };
      const ratio = (of: Record<Who, number[]>): Cell => {
        const s = added('sluice', of);
        const p = added('portkey', of);
        if (!('value' in s) || !('value' in p)) return { na: 'na' in s ? s.na : 'na' in p ? p.na : 'not measured' };
        const rounds = s.rounds!.flatMap((v, i) => (p.rounds![i]! > 0 ? [v / p.rounds![i]!] : []));
        return rounds.length ? { value: median(rounds), rounds } : { na: "Portkey's added time was ≤ 0 in every round" };
      };
      for (const [k, of] of [['p50', p50], ['p99', p99]] as const) {
        rows.push(
          { id: `llm-peers.${lane.id}.ttft_${k}`, label: `${lane.label}: TTFT ${k}`, unit: 'ms', better: 'lower', cells: Object.fromEntries(WHO.map((w) => [w, errors[w] ? { na: errors[w]! } : { value: median(of[w]), rounds: of[w] }])) },
          { id: `llm-peers.${lane.id}.added_ttft_${k}`, label: `${lane.label}: added TTFT ${k}`, unit: 'ms', better: 'lower', cells: { sluice: added('sluice', of), portkey: added('portkey', of) } },
          { id: `llm-peers.${lane.id}.vs_portkey_${k}`, label: `${lane.label}: added TTFT ${k}, Sluice ÷ Portkey`, unit: '×', better: 'lower', cells: { sluice: ratio(of) } },
        );
      }
      ctx.log(`  llm-peers ${lane.id}: ${WHO.map((w) => `${w} ${errors[w] ?? `${median(p50[w]).toFixed(2)} ms`}`).join(', ')}`);
    }
    return { id: 'llm-peers', title: TITLE, rows, note: `${n} streamed calls per round and contender (${REPLY.tokens.length} tokens each); goal: Sluice's added TTFT ≤ 0.5× Portkey's at p50 and p99` };
  } finally {
    await sluice?.close();
    await portkey?.close();
    await openai.close();
    await anthropic.close();
  }
}
