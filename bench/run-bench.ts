import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { createContenders, type BenchEnv, type RunningContender } from './contenders/index.js';
import { repoRoot } from './fork-child.js';
import { createLoadGenerator } from './loadgen.js';
import type { BenchOptions, ScenarioId } from './options.js';
import { createBenchPki } from './pki.js';
import { renderChart } from './report/chart.js';
import { computeGoals } from './report/goals.js';
import type { BenchResults, ScenarioResult } from './report/model.js';
import { renderTable } from './report/table.js';
import { jobFor, type ScenarioContext } from './scenarios/context.js';
import { redactionLane, sandboxLane } from './scenarios/lanes.js';
import { gatewayLane } from './scenarios/gateway.js';
import { largeScenario } from './scenarios/large.js';
import { llmLane } from './scenarios/llm.js';
import { agentsLane } from './scenarios/agents.js';
import { llmPeersLane } from './scenarios/llm-peers.js';
import { memoryScenario } from './scenarios/memory.js';
import { allNewHostNames, newHostScenario } from './scenarios/new-host.js';
import { interceptScenario, plainScenario, tunnelScenario } from './scenarios/throughput.js';
import { describeStalls, startStallProbe } from './stall-probe.js';
import { startUpstreams } from './upstream.js';

const SCENARIOS: Record<ScenarioId, { title: string; run(ctx: ScenarioContext): Promise<ScenarioResult> }> = {
  tunnel: { title: 'HTTPS through a CONNECT tunnel', run: tunnelScenario },
  intercept: { title: 'HTTPS intercepted, keep-alive', run: interceptScenario },
  'new-host': { title: 'A new host on every request', run: newHostScenario },
  large: { title: 'Large bodies through interception', run: largeScenario },
  plain: { title: 'Plain HTTP forwarding', run: plainScenario },
  memory: { title: 'Memory', run: memoryScenario },
  llm: { title: 'LLM lanes', run: llmLane },
  'llm-peers': { title: 'LLM router vs Portkey', run: llmPeersLane },
  agents: { title: 'Agent load', run: agentsLane },
  redaction: { title: 'Redaction lane', run: redactionLane },
  sandbox: { title: 'Sandbox start-up', run: sandboxLane },
  gateway: { title: 'Gateway', run: gatewayLane },
};

/** Scenarios that need the long-running contender processes (memory starts its own). */
const NEEDS_CONTENDERS: readonly ScenarioId[] = ['tunnel', 'intercept', 'new-host', 'large', 'plain'];

/**
 * Whatever is measured first would otherwise pay for cold code: the load generator's client
 * paths, the upstream, and each contender's own JIT. Every running contender gets the same short
 * run over each path it supports, before anything is measured.
 */
async function warmUp(ctx: ScenarioContext): Promise<void> {
  const u = ctx.env.upstream;
  const ms = ctx.options.scale.startWarmupMs;
  const paths = [
    { cap: 'intercept', url: `https://bench.test:${u.https}/small` },
    { cap: 'tunnel', url: `https://${ctx.env.tunnelHost}:${u.https}/small` },
  ] as const;
  for (const c of ctx.contenders) {
    const r = ctx.running.get(c.name);
    if (!r) continue;
    for (const p of paths) {
      if (!c.capabilities.has(p.cap)) continue;
      await ctx.loadgen.run(jobFor(ctx, r, { urls: [p.url], method: 'GET', concurrency: 16, durationMs: ms, warmupMs: 0 })).catch(() => undefined);
    }
  }
}

export interface BenchRun {
  results: BenchResults;
  table: string;
  svg: string;
  files: string[];
}

/** Runs the bench: upstreams, contenders, every selected scenario, then the table, JSON and chart. */
export async function runBench(options: BenchOptions, log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<BenchRun> {
  const started = new Date();
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-'));
  // Peers such as squid drop to their own user and must still read their config and hosts file.
  await chmod(dir, 0o755);
  const closers: (() => Promise<void>)[] = [];
  const scenarios: ScenarioResult[] = [];
  const contenders = createContenders(options.peers);
  const unavailable = new Map<string, string>();
  // On Ctrl-C, stop what was started (spawned proxies would otherwise outlive the harness).
  const onSignal = (): void => {
    void Promise.all(closers.map((close) => close().catch(() => undefined)))
      .then(() => rm(dir, { recursive: true, force: true }))
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const pki = await createBenchPki(dir);
    const upstream = await startUpstreams(pki);
    closers.push(() => upstream.close());
    const s = options.scale;
    const names = ['bench.test', 'tunnel.test', 'plain.test', ...allNewHostNames(s.rounds, s.newHosts, s.newHostWarmup)];
    const hostsFile = join(dir, 'hosts');
    await writeFile(hostsFile, ['127.0.0.1 localhost', '::1 localhost', ...names.map((n) => `127.0.0.1 ${n}`), ''].join('\n'), { mode: 0o644 });
    const env: BenchEnv = { dir, pki, upstream, hostsFile, names, tunnelHost: 'tunnel.test' };

    for (const c of contenders) {
      const reason = await c.unavailable();
      if (reason) unavailable.set(c.name, reason);
    }
    const running = new Map<string, RunningContender>();
    if (options.only.some((id) => NEEDS_CONTENDERS.includes(id))) {
      for (const c of contenders) {
        if (unavailable.has(c.name)) continue;
        try {
          const started = await c.start(env);
          const r = { ...started, close: once(() => started.close()) };
          running.set(c.name, r);
          closers.push(() => r.close());
          log(`started ${c.name}${r.proxyUrl ? ` at ${r.proxyUrl}` : ''}`);
        } catch (err) {
          unavailable.set(c.name, `failed to start: ${(err as Error).message.slice(0, 200)}`);
          log(`${c.name} failed to start: ${(err as Error).message}`);
        }
      }
    }
    // Freshly started contenders are still loading and compiling; let them settle first.
    if (running.size > 1) await new Promise((r) => setTimeout(r, options.quick ? 1000 : 2000));
    const loadgen = createLoadGenerator();
    closers.push(() => loadgen.close());
    const stalls = startStallProbe();
    closers.push(() => stalls.close());
    const ctx: ScenarioContext = { options, env, contenders, running, unavailable, loadgen, log };
    await warmUp(ctx);
    for (const [i, id] of options.only.entries()) {
      // The lanes after the last scenario that loads the contenders measure on their own (the memory and LLM
      // lanes start the proxies they measure, the redaction lane is CPU-bound in a process of its own): idle
      // proxies left running collect their garbage and tick their timers on the same two cores.
      if (running.size > 0 && !options.only.slice(i).some((later) => NEEDS_CONTENDERS.includes(later))) {
        await Promise.all([...running.values()].map((r) => r.close().catch(() => undefined)));
        running.clear();
      }
      const sc = SCENARIOS[id];
      log(`scenario ${id}: ${sc.title}`);
      await stalls.take();
      try {
        scenarios.push(await sc.run(ctx));
      } catch (err) {
        scenarios.push({ id, title: sc.title, rows: [{ id: `${id}.status`, label: 'status', unit: '', better: 'higher', cells: { sluice: { na: `scenario failed: ${(err as Error).message}` } } }] });
      }
      const during = await stalls.take();
      scenarios.at(-1)!.stalls = during;
      log(`  ${describeStalls(during)}`);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
  const finished = new Date();
  const cpu = cpus();
  const results: BenchResults = {
    version: 1,
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationS: (finished.getTime() - started.getTime()) / 1000,
    machine: { cpus: cpu.length, cpuModel: cpu[0]?.model.trim() ?? 'unknown', memGiB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: `${process.platform} ${process.arch}`, load1: loadavg()[0] ?? 0 },
    options: { quick: options.quick, only: options.only, peers: options.peers, rounds: options.scale.rounds },
    contenders: contenders.map((c) => (unavailable.has(c.name) ? { name: c.name, status: 'unavailable' as const, reason: unavailable.get(c.name)! } : { name: c.name, status: 'ran' as const })),
    scenarios,
    goals: computeGoals(scenarios),
  };
  const table = renderTable(results);
  const svg = renderChart(results);
  const out = options.resultsDir ?? join(repoRoot(), 'bench', 'results');
  await mkdir(out, { recursive: true });
  const stamp = results.startedAt.replace(/[:.]/g, '-');
  const json = `${JSON.stringify(results, null, 2)}\n`;
  const files = [join(out, `${stamp}.json`), join(out, 'latest.json'), join(out, 'latest.svg')];
  await writeFile(files[0]!, json);
  await writeFile(files[1]!, json);
  await writeFile(files[2]!, svg);
  return { results, table, svg, files };
}

/** `close` that runs once, however often it is called (a contender is stopped early and again at the end). */
function once(close: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= close());
}
