import { pathToFileURL } from 'node:url';
import { Agent, ProxyAgent, type Dispatcher } from 'undici';
import { runConversation, type TurnSample } from '../agent-conversation.js';
import { cpuSeconds } from '../process-cpu.js';
import type { Contender, RunningContender } from '../contenders/index.js';
import type { Cell, MetricRow, ScenarioResult } from '../report/model.js';
import { median, summarise } from '../stats.js';
import { checked, jobFor, type ScenarioContext } from './context.js';
import { fakesPath } from './llm.js';

/**
 * What agents do to a Sluice they share: AGENTS conversations at once, each turn resending the whole history
 * (growing by MESSAGE_CHARS per turn to ~200 KB) with PII and secrets in it, answers streamed for a while by a
 * fake OpenAI backend, through the privacy router with `redact: all, mode: pseudonymize`; meanwhile a
 * background client makes small intercepted requests at c=4. Each round runs the agents straight to the fake
 * (the time-to-first-token baseline per context size), the background client direct and through an idle
 * Sluice, then both through Sluice at once.
 */
const TITLE = 'Agent load (16 agents, growing conversations, redaction on, background requests at c=4)';
const MARKER = 'Zebra';
const BUCKET_CHARS = 50_000;
const MIN_P99_TURNS = 100;
const BACKGROUND_WARMUP_MS = 200;

interface Shape {
  agents: number;
  turns: number;
  messageChars: number;
  /** Pause between streamed frames of an answer (40 frames). */
  frameDelayMs: number;
  windowMs: number;
  idleWindowMs: number;
}

const FULL: Shape = { agents: 16, turns: 20, messageChars: 10_000, frameDelayMs: 10, windowMs: 15_000, idleWindowMs: 3_000 };
const QUICK: Shape = { agents: 4, turns: 4, messageChars: 10_000, frameDelayMs: 0, windowMs: 1_500, idleWindowMs: 400 };

interface FakesModule {
  createFakeOpenAI(o?: { reply?: unknown }): Promise<{ url: string; close(): Promise<void> }>;
}

/** Agents in a loop of conversations until `until` passes; every turn's figures. */
async function agentsFor(shape: Shape, url: string, dispatcher: Dispatcher, until: number): Promise<TurnSample[]> {
  const all: TurnSample[] = [];
  await Promise.all(Array.from({ length: shape.agents }, async (_, agent) => {
    while (performance.now() < until) {
      all.push(...await runConversation({ url, dispatcher, agent, turns: shape.turns, messageChars: shape.messageChars, marker: MARKER, stop: () => performance.now() >= until }));
    }
  }));
  return all;
}

function byBucket(samples: TurnSample[]): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const s of samples) {
    const b = Math.ceil(s.contextChars / BUCKET_CHARS) * BUCKET_CHARS;
    out.set(b, [...(out.get(b) ?? []), s.ttftMs]);
  }
  return out;
}

export async function agentsLane(ctx: ScenarioContext): Promise<ScenarioResult> {
  const na = (reason: string): ScenarioResult => ({ id: 'agents', title: TITLE, rows: [{ id: 'agents.status', label: 'status', unit: '', better: 'lower', cells: { sluice: { na: reason } } }] });
  const path = fakesPath();
  if (!path) return na('n/a (test/fakes, the fake LLM backends, not present)');
  const down = ctx.unavailable.get('sluice');
  if (down) return na(down);
  const shape = ctx.options.quick ? QUICK : FULL;
  const fakes = (await import(pathToFileURL(path).href)) as FakesModule;
  const reply = { tokens: [MARKER, ...Array.from({ length: 39 }, (_, i) => ` word${i}`)], usage: { input: 2000, output: 40 }, delayMs: shape.frameDelayMs };
  const openai = await fakes.createFakeOpenAI({ reply });
  let proc: RunningContender | undefined;
  let viaSluice: ProxyAgent | undefined;
  const direct = new Agent({ connections: shape.agents });
  try {
    const inference = [
      'inference:',
      '  backends:',
      `    fake_openai: { type: openai-compatible, url: "${openai.url}" }`,
      '  routes:',
      '    - { match: { api: openai }, backend: fake_openai }',
      'privacy:',
      '  redact: all',
      '  mode: pseudonymize',
    ].join('\n');
    const sluice = ctx.contenders.find((c) => c.name === 'sluice') as Contender;
    proc = await sluice.start({ ...ctx.env, inferencePolicy: inference });
    viaSluice = new ProxyAgent({ uri: proc.proxyUrl!, requestTls: { ca: proc.ca! }, connections: shape.agents });
    const u = ctx.env.upstream;
    const background = (c: RunningContender, durationMs: number) =>
      ctx.loadgen.run(jobFor(ctx, c, { urls: [`https://bench.test:${u.https}/small`], method: 'GET', concurrency: 4, durationMs, warmupMs: BACKGROUND_WARMUP_MS })).then(checked);
    const directContender: RunningContender = { name: 'direct', close: async () => undefined };

    // Warm Sluice's router, redactor and worker pool on a conversation of its own.
    await runConversation({ url: 'https://inference.local/v1/chat/completions', dispatcher: viaSluice, agent: 200, turns: Math.min(4, shape.turns), messageChars: shape.messageChars, marker: MARKER, stop: () => false });

    await background(directContender, shape.idleWindowMs);
    const m = { directP50: [] as number[], directP99: [] as number[], idleP50: [] as number[], idleP99: [] as number[], loadP50: [] as number[], loadP99: [] as number[], cpuPerTurn: [] as number[] };
    // Each round's turns, through Sluice under the background load and straight to the fake.
    const turns: TurnSample[][] = [];
    const baseline: TurnSample[][] = [];
    for (let r = 0; r < ctx.options.scale.rounds; r++) {
      // The same agents straight to the fake, at once: the baseline per context size carries the load the
      // agents, the fake and the client put on the machine themselves.
      baseline.push(await agentsFor(shape, `${openai.url}/v1/chat/completions`, direct, performance.now() + shape.windowMs));
      const d = await background(directContender, shape.idleWindowMs);
      const idle = await background(proc, shape.idleWindowMs);
      // Sluice's CPU per turn, from a window of the agents alone (the same conversations, the same mix of context
      // sizes): taking an estimate of the background requests' share off a loaded window's CPU came out negative
      // when a request cost more under load than idle.
      const cpu0 = await cpuSeconds(proc.pid!);
      const alone = await agentsFor(shape, 'https://inference.local/v1/chat/completions', viaSluice, performance.now() + shape.windowMs);
      const cpu = await cpuSeconds(proc.pid!) - cpu0;
      const [loaded, round] = await Promise.all([
        background(proc, shape.windowMs),
        agentsFor(shape, 'https://inference.local/v1/chat/completions', viaSluice, performance.now() + shape.windowMs + 200),
      ]);
      m.directP50.push(d.latencyMs.p50);
      m.directP99.push(d.latencyMs.p99);
      m.idleP50.push(idle.latencyMs.p50 - d.latencyMs.p50);
      m.idleP99.push(idle.latencyMs.p99 - d.latencyMs.p99);
      m.loadP50.push(loaded.latencyMs.p50 - d.latencyMs.p50);
      m.loadP99.push(loaded.latencyMs.p99 - d.latencyMs.p99);
      m.cpuPerTurn.push((cpu * 1000) / Math.max(1, alone.length));
      turns.push(round);
      ctx.log(`  agents round ${r + 1}: ${round.length} turns, background added p99 idle ${m.idleP99.at(-1)!.toFixed(2)} ms, under agents ${m.loadP99.at(-1)!.toFixed(2)} ms`);
    }
    const v = (values: number[]): Cell => ({ value: median(values), rounds: values });
    // A ratio to an added latency that noise made zero or negative says nothing: those rounds are left out.
    const ratio = (loaded: number[], idle: number[]): Cell => {
      const rounds = loaded.flatMap((x, i) => (idle[i]! > 0 ? [x / idle[i]!] : []));
      return rounds.length ? v(rounds) : { na: 'the idle added p99 was ≤ 0 in every round (noise larger than what Sluice adds)' };
    };
    const rows: MetricRow[] = [
      { id: 'agents.background_idle_added_p50', label: 'background added p50, Sluice idle', unit: 'ms', better: 'lower', cells: { sluice: v(m.idleP50) } },
      { id: 'agents.background_idle_added_p99', label: 'background added p99, Sluice idle', unit: 'ms', better: 'lower', cells: { sluice: v(m.idleP99) } },
      { id: 'agents.background_added_p50', label: `background added p50, ${shape.agents} agents`, unit: 'ms', better: 'lower', cells: { sluice: v(m.loadP50) } },
      { id: 'agents.background_added_p99', label: `background added p99, ${shape.agents} agents`, unit: 'ms', better: 'lower', cells: { sluice: v(m.loadP99) } },
      { id: 'agents.background_p99_ratio', label: 'background added p99, agents ÷ idle', unit: '×', better: 'lower', cells: { sluice: ratio(m.loadP99, m.idleP99) } },
      { id: 'agents.cpu_per_turn', label: 'Sluice CPU per turn', unit: 'ms', better: 'lower', cells: { sluice: v(m.cpuPerTurn) } },
    ];
    const base = byBucket(baseline.flat());
    const loaded = byBucket(turns.flat());
    const baseRounds = baseline.map(byBucket);
    const loadedRounds = turns.map(byBucket);
    const buckets = [...loaded.keys()].filter((b) => base.has(b)).sort((a, b) => a - b);
    // A p99 of fewer turns than this is the slowest turn or two of a side: a difference of two maxima, noise
    // that came out at -4 ms once. The headline is the largest context with enough turns on both sides.
    const enough = (b: number): boolean => loaded.get(b)!.length >= MIN_P99_TURNS && base.get(b)!.length >= MIN_P99_TURNS;
    const headline = buckets.filter(enough).at(-1);
    /**
     * Added TTFT at a context size, round by round (a round's turns through Sluice against the same round's turns
     * straight to the fake, so both sides saw the same minutes of the machine): the median of the rounds, with
     * them, as every other lane reports its figures. Turns pooled over rounds decide only which sizes have enough.
     */
    const perRound = (b: number, pick: (s: ReturnType<typeof summarise>) => number): Cell => {
      const rounds = loadedRounds.flatMap((l, r) => {
        const mine = l.get(b);
        const theirs = baseRounds[r]?.get(b);
        return mine?.length && theirs?.length ? [pick(summarise(mine)) - pick(summarise(theirs))] : [];
      });
      return rounds.length ? v(rounds) : { na: 'n/a: no round had turns of this size on both sides' };
    };
    for (const b of buckets) {
      const top = b === headline;
      const label = `added TTFT at ≤ ${b / 1000} KB of context (${loaded.get(b)!.length} turns)`;
      const p99: Cell = enough(b) ? perRound(b, (x) => x.p99) : { na: `n/a: ${Math.min(loaded.get(b)!.length, base.get(b)!.length)} turns, fewer than the ${MIN_P99_TURNS} a p99 needs` };
      rows.push(
        { id: top ? 'agents.added_ttft_p50.last' : `agents.added_ttft_p50.${b}`, label: `${label}: p50`, unit: 'ms', better: 'lower', cells: { sluice: perRound(b, (x) => x.p50) } },
        { id: top ? 'agents.added_ttft_p99.last' : `agents.added_ttft_p99.${b}`, label: `${label}: p99`, unit: 'ms', better: 'lower', cells: { sluice: p99 } },
      );
    }
    return {
      id: 'agents', title: TITLE, rows,
      note: `${shape.agents} agents, ${shape.turns}-turn conversations (+${shape.messageChars / 1000} KB per turn), answers of 40 frames ${shape.frameDelayMs} ms apart; ` +
        `${ctx.options.scale.rounds} rounds of ${shape.windowMs / 1000} s; added = minus the same client direct (background) or the same round's agents sent straight to the fake (TTFT per round, at sizes with ≥ ${MIN_P99_TURNS} turns over all rounds); CPU per turn = Sluice's CPU over a window of the agents alone ÷ its turns; ` +
        'goals: background added p99 ≤ 2× idle, added TTFT p99 < 10 ms at 200 KB',
    };
  } finally {
    await viaSluice?.close();
    await direct.close();
    await proc?.close();
    await openai.close();
  }
}
