import type { LoadJob } from '../load.js';
import { cpuSeconds } from '../process-cpu.js';
import type { ScenarioResult } from '../report/model.js';
import { checked, interleave, jobFor, participants, row, type ScenarioContext } from './context.js';

/** One large body each way through interception: streaming throughput, not request rate. */
export async function largeScenario(ctx: ScenarioContext): Promise<ScenarioResult> {
  const s = ctx.options.scale;
  const port = ctx.env.upstream.https;
  const { ran, na } = participants(ctx, 'intercept');
  const bytes = (s.largeBytes * s.largeRequests) / 1e6;
  // The proxy's CPU per MB moved: on a shared machine the MB/s move with the load, this does not.
  const cpuMsPerMb = async (c: { pid?: number }, run: () => Promise<unknown>): Promise<number> => {
    const before = c.pid === undefined ? NaN : await cpuSeconds(c.pid);
    await run();
    return c.pid === undefined ? NaN : ((await cpuSeconds(c.pid)) - before) * 1000 / bytes;
  };
  const samples = await interleave(ctx, ran, s.rounds, async (c) => {
    // MB/s of one kind of transfer, and the proxy's CPU per MB over it.
    const measure = async (job: Pick<LoadJob, 'urls' | 'method' | 'uploadBytes' | 'uploadKind'>): Promise<[number, number]> => {
      let mbps = 0;
      const cpu = await cpuMsPerMb(c, async () => {
        mbps = checked(await ctx.loadgen.run(jobFor(ctx, c, { ...job, concurrency: 1, requests: s.largeRequests }))).mbPerSec;
      });
      return [mbps, cpu];
    };
    const upload = `https://bench.test:${port}/upload`;
    const [down, downCpu] = await measure({ urls: [`https://bench.test:${port}/large?bytes=${s.largeBytes}`], method: 'GET' });
    const [up, upCpu] = await measure({ urls: [upload], method: 'POST', uploadBytes: s.largeBytes });
    const [upText, upTextCpu] = await measure({ urls: [upload], method: 'POST', uploadBytes: s.largeBytes, uploadKind: 'text' });
    ctx.log(`  large ${c.name}: down ${down.toFixed(0)} MB/s, up ${up.toFixed(0)} MB/s, up text ${upText.toFixed(0)} MB/s, CPU ${downCpu.toFixed(2)} / ${upCpu.toFixed(2)} / ${upTextCpu.toFixed(2)} ms per MB`);
    return { down, up, upText, downCpu, upCpu, upTextCpu };
  });
  return {
    id: 'large',
    title: 'Large bodies through interception',
    note: `${s.largeRequests}× ${(s.largeBytes / 2 ** 20).toFixed(0)} MiB bodies streamed each way per round, one after another; uploads of one repeated byte, and of source text (TypeScript's lib.es5.d.ts: a DLP scan meets near misses in it as in real uploads)`,
    rows: [
      row(samples, na, 'down', { id: 'large.download_mbps', label: 'download MB/s', unit: 'MB/s', better: 'higher' }),
      row(samples, na, 'up', { id: 'large.upload_mbps', label: 'upload MB/s', unit: 'MB/s', better: 'higher' }),
      row(samples, na, 'upText', { id: 'large.upload_text_mbps', label: 'upload of source text MB/s', unit: 'MB/s', better: 'higher' }),
      row(samples, na, 'downCpu', { id: 'large.download_cpu_ms_per_mb', label: 'download, proxy CPU per MB', unit: 'ms', better: 'lower' }),
      row(samples, na, 'upCpu', { id: 'large.upload_cpu_ms_per_mb', label: 'upload, proxy CPU per MB', unit: 'ms', better: 'lower' }),
      row(samples, na, 'upTextCpu', { id: 'large.upload_text_cpu_ms_per_mb', label: 'upload of source text, proxy CPU per MB', unit: 'ms', better: 'lower' }),
    ],
  };
}
