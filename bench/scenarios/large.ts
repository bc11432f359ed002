import type { ScenarioResult } from '../report/model.js';
import { checked, interleave, jobFor, participants, row, type ScenarioContext } from './context.js';

/** One large body each way through interception: streaming throughput, not request rate. */
export async function largeScenario(ctx: ScenarioContext): Promise<ScenarioResult> {
  const s = ctx.options.scale;
  const port = ctx.env.upstream.https;
  const { ran, na } = participants(ctx, 'intercept');
  const samples = await interleave(ctx, ran, s.rounds, async (c) => {
    const down = checked(await ctx.loadgen.run(jobFor(ctx, c, { urls: [`https://bench.test:${port}/large?bytes=${s.largeBytes}`], method: 'GET', concurrency: 1, requests: s.largeRequests })));
    const up = checked(await ctx.loadgen.run(jobFor(ctx, c, { urls: [`https://bench.test:${port}/upload`], method: 'POST', uploadBytes: s.largeBytes, concurrency: 1, requests: s.largeRequests })));
    ctx.log(`  large ${c.name}: down ${down.mbPerSec.toFixed(0)} MB/s, up ${up.mbPerSec.toFixed(0)} MB/s`);
    return { down: down.mbPerSec, up: up.mbPerSec };
  });
  return {
    id: 'large',
    title: 'Large bodies through interception',
    note: `${s.largeRequests}× ${(s.largeBytes / 2 ** 20).toFixed(0)} MiB bodies streamed each way per round, one after another`,
    rows: [
      row(samples, na, 'down', { id: 'large.download_mbps', label: 'download MB/s', unit: 'MB/s', better: 'higher' }),
      row(samples, na, 'up', { id: 'large.upload_mbps', label: 'upload MB/s', unit: 'MB/s', better: 'higher' }),
    ],
  };
}
