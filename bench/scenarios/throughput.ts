import type { ScenarioResult } from '../report/model.js';
import { checked, interleave, jobFor, minusDirect, participants, row, type ScenarioContext } from './context.js';

/**
 * Keep-alive small responses: req/s at each concurrency, and latency added over direct at
 * concurrency 1. Shared by the intercepted, tunneled and plain-HTTP scenarios, which differ only
 * in the URL and in which contenders can take part.
 */
async function keepAliveScenario(
  ctx: ScenarioContext,
  spec: { id: string; title: string; cap: 'intercept' | 'tunnel' | 'http'; url: string; proxyTunnel?: boolean; concurrencies: readonly number[]; note: string },
): Promise<ScenarioResult> {
  const { ran, na } = participants(ctx, spec.cap);
  const s = ctx.options.scale;
  const samples = await interleave(ctx, ran, s.rounds, async (c) => {
    const out: Record<string, number> = {};
    for (const conc of spec.concurrencies) {
      const r = checked(await ctx.loadgen.run(jobFor(ctx, c, {
        urls: [spec.url], method: 'GET', concurrency: conc, durationMs: s.durationMs, warmupMs: s.warmupMs,
        ...(spec.proxyTunnel !== undefined ? { proxyTunnel: spec.proxyTunnel } : {}),
      })));
      out[`rps.c${conc}`] = r.reqPerSec;
      out[`p50.c${conc}`] = r.latencyMs.p50;
      out[`p99.c${conc}`] = r.latencyMs.p99;
    }
    ctx.log(`  ${spec.id} ${c.name}: ${spec.concurrencies.map((k) => `c${k} ${out[`rps.c${k}`]!.toFixed(0)} req/s`).join(', ')}`);
    return out;
  });
  const rows = spec.concurrencies.map((k) =>
    row(samples, na, `rps.c${k}`, { id: `${spec.id}.rps.c${k}`, label: `req/s, c=${k}`, unit: 'req/s', better: 'higher' }));
  for (const k of spec.concurrencies.filter((x) => x === 1 || x === 16)) {
    rows.push(row(samples, na, `p50.c${k}`, { id: `${spec.id}.added_p50.c${k}`, label: `added p50, c=${k}`, unit: 'ms', better: 'lower' }, minusDirect(samples, `p50.c${k}`)));
    rows.push(row(samples, na, `p99.c${k}`, { id: `${spec.id}.added_p99.c${k}`, label: `added p99, c=${k}`, unit: 'ms', better: 'lower' }, minusDirect(samples, `p99.c${k}`)));
  }
  return { id: spec.id, title: spec.title, note: spec.note, rows };
}

export function interceptScenario(ctx: ScenarioContext): Promise<ScenarioResult> {
  const u = ctx.env.upstream;
  return keepAliveScenario(ctx, {
    id: 'intercept', title: 'HTTPS intercepted, keep-alive, small responses', cap: 'intercept',
    url: `https://bench.test:${u.https}/small`, concurrencies: ctx.options.scale.concurrencies,
    note: `GET of ${u.smallBytes} B over kept-alive TLS connections the proxy terminates and re-originates`,
  });
}

export async function tunnelScenario(ctx: ScenarioContext): Promise<ScenarioResult> {
  const u = ctx.env.upstream;
  const s = ctx.options.scale;
  const base = await keepAliveScenario(ctx, {
    id: 'tunnel', title: 'HTTPS through a CONNECT tunnel (no interception)', cap: 'tunnel',
    url: `https://${ctx.env.tunnelHost}:${u.https}/small`, concurrencies: [1, 16],
    note: `end-to-end TLS; ${u.smallBytes} B GETs, and ${s.largeRequests}× ${(s.largeBytes / 2 ** 20).toFixed(0)} MiB downloads per round through the tunnel`,
  });
  const { ran, na } = participants(ctx, 'tunnel');
  const samples = await interleave(ctx, ran, s.rounds, async (c) => {
    const r = checked(await ctx.loadgen.run(jobFor(ctx, c, {
      urls: [`https://${ctx.env.tunnelHost}:${u.https}/large?bytes=${s.largeBytes}`], method: 'GET', concurrency: 1, requests: s.largeRequests,
    })));
    return { mbps: r.mbPerSec };
  });
  base.rows.unshift(row(samples, na, 'mbps', { id: 'tunnel.download_mbps', label: 'download MB/s', unit: 'MB/s', better: 'higher' }));
  return base;
}

export function plainScenario(ctx: ScenarioContext): Promise<ScenarioResult> {
  const u = ctx.env.upstream;
  return keepAliveScenario(ctx, {
    id: 'plain', title: 'Plain HTTP forwarding', cap: 'http', proxyTunnel: false,
    url: `http://plain.test:${u.http}/small`, concurrencies: [1, 16],
    note: 'absolute-form requests to the proxy, which forwards them over kept-alive upstream connections',
  });
}
