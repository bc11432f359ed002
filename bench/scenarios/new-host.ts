import type { ScenarioResult } from '../report/model.js';
import { checked, interleave, jobFor, minusDirect, participants, row, type ScenarioContext } from './context.js';

/** Host names for round `round`: never reused within a contender's process, so each needs a new leaf. */
export function newHostNames(prefix: string, round: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${round}x${i}.bench.test`);
}

/** Every name the new-host scenario may use, so contenders can be told about them up front. */
export function allNewHostNames(rounds: number, count: number, warmup: number): string[] {
  return Array.from({ length: rounds }, (_, r) => [...newHostNames('w', r, warmup), ...newHostNames('h', r, count)]).flat();
}

/**
 * A first request to a host the proxy has not seen: new connection, new CONNECT, a freshly
 * minted leaf (for interceptors), new upstream TLS. Sequential (c=1) so each figure is one
 * request's cost.
 */
export async function newHostScenario(ctx: ScenarioContext): Promise<ScenarioResult> {
  const s = ctx.options.scale;
  const port = ctx.env.upstream.https;
  const { ran, na } = participants(ctx, 'intercept');
  const samples = await interleave(ctx, ran, s.rounds, async (c, r) => {
    const urls = (prefix: string, n: number) => newHostNames(prefix, r, n).map((h) => `https://${h}:${port}/small`);
    // Warm-up hosts take the one-time costs (first handshake, JIT) out of the measured ones.
    await ctx.loadgen.run(jobFor(ctx, c, { urls: urls('w', s.newHostWarmup), fresh: true, method: 'GET', concurrency: 1 }));
    const res = checked(await ctx.loadgen.run(jobFor(ctx, c, { urls: urls('h', s.newHosts), fresh: true, method: 'GET', concurrency: 1 })));
    ctx.log(`  new-host ${c.name}: p50 ${res.latencyMs.p50.toFixed(2)} ms, p99 ${res.latencyMs.p99.toFixed(2)} ms`);
    return { p50: res.latencyMs.p50, p99: res.latencyMs.p99, rps: res.reqPerSec };
  });
  return {
    id: 'new-host',
    title: 'A new host on every request (certificate minting)',
    note: `${s.newHosts} distinct names per round, each requested once on a new connection, c=1`,
    rows: [
      row(samples, na, 'p50', { id: 'new-host.p50', label: 'p50 latency', unit: 'ms', better: 'lower' }),
      row(samples, na, 'p99', { id: 'new-host.p99', label: 'p99 latency', unit: 'ms', better: 'lower' }),
      row(samples, na, 'p50', { id: 'new-host.added_p50', label: 'added p50', unit: 'ms', better: 'lower' }, minusDirect(samples, 'p50')),
      row(samples, na, 'p99', { id: 'new-host.added_p99', label: 'added p99', unit: 'ms', better: 'lower' }, minusDirect(samples, 'p99')),
    ],
  };
}
