import type { BenchEnv, Capability, Contender, RunningContender } from '../contenders/index.js';
import type { LoadJob } from '../load.js';
import type { LoadGenerator } from '../loadgen.js';
import type { BenchOptions } from '../options.js';
import type { Cell, MetricRow } from '../report/model.js';
import { median } from '../stats.js';

export interface ScenarioContext {
  options: BenchOptions;
  env: BenchEnv;
  /** Every contender in table order, available or not. */
  contenders: Contender[];
  /** The started ones, by name. */
  running: Map<string, RunningContender>;
  /** Why a contender is not running, by name. */
  unavailable: Map<string, string>;
  loadgen: LoadGenerator;
  log(line: string): void;
}

/** Per contender: metric → one value per round, or why it failed. */
export type RoundSamples = Map<string, { metrics: Map<string, number[]>; error?: string }>;

/** The running contenders able to take part, and a ready "n/a (reason)" for the others. */
export function participants(ctx: ScenarioContext, cap: Capability): { ran: RunningContender[]; na: Record<string, Cell> } {
  const ran: RunningContender[] = [];
  const na: Record<string, Cell> = {};
  for (const c of ctx.contenders) {
    const down = ctx.unavailable.get(c.name);
    if (down) na[c.name] = { na: down };
    else if (!c.capabilities.has(cap)) na[c.name] = { na: c.missingReason || `no ${cap} mode` };
    else ran.push(ctx.running.get(c.name)!);
  }
  return { ran, na };
}

/** A load job aimed through `c` (or straight at the upstream for the direct baseline). */
export function jobFor(ctx: ScenarioContext, c: RunningContender, job: Omit<LoadJob, 'proxy' | 'ca' | 'resolveTo'>): LoadJob {
  return {
    ...job,
    ...(c.proxyUrl ? { proxy: c.proxyUrl } : {}),
    ca: [ctx.env.pki.caPem, ...(c.ca ? [c.ca] : [])],
    resolveTo: '127.0.0.1',
  };
}

/**
 * Runs `measure` for every contender, round after round (A B C, B C A, …), so that drift in
 * machine load spreads over all of them rather than landing on one.
 */
export async function interleave(
  ctx: ScenarioContext,
  list: RunningContender[],
  rounds: number,
  measure: (c: RunningContender, round: number) => Promise<Record<string, number>>,
): Promise<RoundSamples> {
  const out: RoundSamples = new Map(list.map((c) => [c.name, { metrics: new Map<string, number[]>() }]));
  for (let r = 0; r < rounds; r++) {
    const order = list.map((_, i) => list[(i + r) % list.length]!);
    for (const c of order) {
      const slot = out.get(c.name)!;
      if (slot.error) continue;
      try {
        const values = await measure(c, r);
        for (const [k, v] of Object.entries(values)) {
          const arr = slot.metrics.get(k) ?? [];
          arr[r] = v;
          slot.metrics.set(k, arr);
        }
      } catch (err) {
        slot.error = `error: ${(err as Error).message}`.slice(0, 200);
        ctx.log(`  ${c.name}: ${slot.error}`);
      }
    }
  }
  return out;
}

/** A table row from round samples: the median per contender, n/a where it could not run. */
export function row(
  samples: RoundSamples,
  na: Record<string, Cell>,
  metric: string,
  spec: { id: string; label: string; unit: string; better: 'higher' | 'lower' },
  derive?: (values: number[], contender: string) => number[],
): MetricRow {
  const cells: Record<string, Cell> = { ...na };
  for (const [name, slot] of samples) {
    if (slot.error) {
      cells[name] = { na: slot.error };
      continue;
    }
    let values = slot.metrics.get(metric);
    if (!values) {
      cells[name] = { na: 'not measured' };
      continue;
    }
    if (derive) values = derive(values, name);
    const m = median(values);
    cells[name] = Number.isFinite(m) ? { value: m, rounds: values } : { na: 'no valid rounds' };
  }
  return { ...spec, cells };
}

/** Round by round difference from the direct baseline (same round), for "added latency" rows. */
export function minusDirect(samples: RoundSamples, metric: string): (values: number[], contender: string) => number[] {
  const direct = samples.get('direct')?.metrics.get(metric) ?? [];
  return (values) => values.map((v, i) => v - (direct[i] ?? Number.NaN));
}

/** Throws when a load run mostly failed, so the cell says why instead of showing a bogus figure. */
export function checked<T extends { requests: number; errors: number; firstError?: string }>(r: T): T {
  if (r.requests === 0 || r.errors > r.requests) throw new Error(`${r.errors} errors, ${r.requests} ok${r.firstError ? `: ${r.firstError}` : ''}`);
  return r;
}
