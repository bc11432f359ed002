import { readFile } from 'node:fs/promises';
import type { Contender } from '../contenders/index.js';
import { rssOfTree, sampleRss } from '../process-memory.js';
import type { Cell, MetricRow, ScenarioResult } from '../report/model.js';
import { createTunnelHolder } from '../tunnel-holder.js';
import { jobFor, type ScenarioContext } from './context.js';

const MB = 1024 * 1024;

/** A tunnel costs the proxy two descriptors; leave headroom below the inherited hard limit. */
async function tunnelCeiling(): Promise<number> {
  const limits = await readFile('/proc/self/limits', 'utf8');
  const m = /^Max open files\s+(\d+)\s+(\d+|unlimited)/m.exec(limits);
  const soft = m ? Number(m[1]) : 1024;
  return Math.floor((soft - 256) / 2);
}

interface MemoryFigures {
  idle?: number;
  tunnelsA?: number;
  tunnelsB?: number;
  countB?: number;
  perTunnel?: number;
  perConn?: number;
  underLoad?: number;
  notes: string[];
}

async function measureTunnels(ctx: ScenarioContext, c: Contender, ceiling: number, figures: MemoryFigures): Promise<void> {
  const env = ctx.env;
  const proc = await c.start(env);
  const holder = createTunnelHolder();
  // Pauses let the proxy finish accepting and the allocator settle; --quick only checks the plumbing.
  const settle = (ms: number) => new Promise((r) => setTimeout(r, ctx.options.quick ? ms / 5 : ms));
  try {
    const pid = proc.pid!;
    await settle(1000);
    figures.idle = await rssOfTree(pid);
    if (!c.capabilities.has('tunnel')) return;
    const target = `${env.tunnelHost}:${env.upstream.hold}`;
    const [a, b] = ctx.options.scale.tunnelCounts;
    const wantB = Math.min(b, ceiling);
    if (wantB < b) figures.notes.push(`${wantB} tunnels, not ${b}: fd limit`);
    const first = await holder.open(proc.proxyPort!, target, a);
    await settle(300);
    if (first.open >= a * 0.99) figures.tunnelsA = await rssOfTree(pid);
    else figures.notes.push(`only ${first.open}/${a} tunnels opened (${first.firstError ?? '?'})`);
    const second = await holder.open(proc.proxyPort!, target, wantB - first.open);
    await settle(300);
    figures.tunnelsB = await rssOfTree(pid);
    figures.countB = second.open;
    if (second.open < wantB) figures.notes.push(`held ${second.open}/${wantB} tunnels (${second.firstError ?? 'closed by proxy'})`);
    if (second.open > 0) figures.perTunnel = (figures.tunnelsB - figures.idle) / second.open;
  } finally {
    await holder.close();
    await proc.close();
  }
}

/** In a second fresh process, so that memory the tunnels left behind does not hide this growth. */
async function measureConnectionsAndLoad(ctx: ScenarioContext, c: Contender, figures: MemoryFigures): Promise<void> {
  const env = ctx.env;
  const s = ctx.options.scale;
  const proc = await c.start(env);
  const settle = (ms: number) => new Promise((r) => setTimeout(r, ctx.options.quick ? ms / 5 : ms));
  try {
    const pid = proc.pid!;
    const cap = c.capabilities.has('intercept') ? 'intercept' : 'tunnel';
    const url = `https://${cap === 'intercept' ? 'bench.test' : env.tunnelHost}:${env.upstream.https}/small`;
    if (cap === 'intercept') {
      await settle(1000);
      const before = await rssOfTree(pid);
      const held = await ctx.loadgen.hold(jobFor(ctx, proc, { urls: [url], method: 'GET', concurrency: 1 }), s.heldConnections);
      await settle(300);
      const after = await rssOfTree(pid);
      await ctx.loadgen.release();
      if (held.opened > 0) figures.perConn = (after - before) / held.opened;
      if (held.opened < s.heldConnections) figures.notes.push(`held ${held.opened}/${s.heldConnections} intercepted connections (${held.firstError ?? '?'})`);
      await settle(300);
    }
    const sampler = sampleRss(pid, 50);
    await ctx.loadgen.run(jobFor(ctx, proc, { urls: [url], method: 'GET', concurrency: 64, durationMs: s.loadForMemoryMs, warmupMs: 0 }));
    figures.underLoad = await sampler.stop();
  } finally {
    await proc.close();
  }
}

/**
 * Memory, each contender in fresh processes: idle, then holding idle CONNECT tunnels (nothing
 * sent through them); and, in a second process, holding idle intercepted keep-alive connections,
 * then the peak under c=64 load.
 */
export async function memoryScenario(ctx: ScenarioContext): Promise<ScenarioResult> {
  const s = ctx.options.scale;
  const ceiling = await tunnelCeiling();
  const [a, b] = s.tunnelCounts;
  const rowsSpec = [
    { key: 'idle', id: 'memory.rss_idle', label: 'RSS idle', unit: 'MB', div: MB },
    { key: 'tunnelsA', id: 'memory.rss_tunnels_a', label: `RSS, ${a} idle tunnels`, unit: 'MB', div: MB },
    { key: 'tunnelsB', id: 'memory.rss_tunnels_b', label: `RSS, ${b} idle tunnels`, unit: 'MB', div: MB },
    { key: 'perTunnel', id: 'memory.per_tunnel', label: 'per idle tunnel', unit: 'KB', div: 1024 },
    { key: 'perConn', id: 'memory.per_intercepted_conn', label: `per idle intercepted conn (${s.heldConnections})`, unit: 'KB', div: 1024 },
    { key: 'underLoad', id: 'memory.rss_under_load', label: 'peak RSS under load, c=64', unit: 'MB', div: MB },
  ] as const;
  const rows: MetricRow[] = rowsSpec.map((r) => ({ id: r.id, label: r.label, unit: r.unit, better: 'lower', cells: {} }));
  for (const c of ctx.contenders) {
    const set = (cellFor: (spec: (typeof rowsSpec)[number]) => Cell) => rowsSpec.forEach((spec, i) => { rows[i]!.cells[c.name] = cellFor(spec); });
    if (c.name === 'direct') { set(() => ({ na: 'no proxy process' })); continue; }
    const down = ctx.unavailable.get(c.name);
    if (down) { set(() => ({ na: down })); continue; }
    try {
      const f: MemoryFigures = { notes: [] };
      await measureTunnels(ctx, c, ceiling, f);
      await measureConnectionsAndLoad(ctx, c, f);
      const note = f.notes.join('; ');
      ctx.log(`  memory ${c.name}: idle ${((f.idle ?? 0) / MB).toFixed(1)} MB, per tunnel ${f.perTunnel !== undefined ? (f.perTunnel / 1024).toFixed(1) : '-'} KB${note ? ` (${note})` : ''}`);
      set((spec) => {
        const v = f[spec.key];
        if (v === undefined) return { na: spec.key === 'perConn' ? c.missingReason || 'no interception' : spec.key.startsWith('tunnel') || spec.key === 'perTunnel' ? note || c.missingReason || 'no tunnel mode' : note || 'not measured' };
        const detail = spec.key === 'tunnelsB' || spec.key === 'perTunnel' ? (f.countB !== undefined && f.countB !== b ? `${f.countB} tunnels` : undefined) : undefined;
        return { value: v / spec.div, ...(detail ? { detail } : {}) };
      });
    } catch (err) {
      set(() => ({ na: `error: ${(err as Error).message}`.slice(0, 200) }));
    }
  }
  return {
    id: 'memory',
    title: 'Memory (fresh processes per contender)',
    note: `RSS of the proxy process tree; tunnels are CONNECTs to ${ctx.env.tunnelHost} held idle; the hard fd limit caps the larger count at ${ceiling}`,
    rows,
  };
}
