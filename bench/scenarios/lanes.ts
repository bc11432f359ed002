import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { benchModuleExists, benchModulePath, repoRoot } from '../fork-child.js';
import type { Cell, MetricRow, ScenarioResult } from '../report/model.js';
import type { ScenarioContext } from './context.js';

/**
 * Lanes owned by other modules (redaction, sandboxes, the LLM router). Each is imported only if
 * its module exists, and otherwise shows as "n/a (reason)" rather than disappearing.
 */
function naLane(id: string, title: string, reason: string): ScenarioResult {
  return { id, title, rows: [{ id: `${id}.status`, label: 'status', unit: '', better: 'higher', cells: { sluice: { na: reason } } }] };
}

/** A module of the repo, as built next to the bench (dist) or as source (tsx). */
function repoModule(relativeNoExt: string): string | undefined {
  const ext = benchModulePath('x').endsWith('.ts') ? '.ts' : '.js';
  const base = ext === '.js' ? join(repoRoot(), 'dist') : repoRoot();
  const p = join(base, `${relativeNoExt}${ext}`);
  return existsSync(p) ? p : undefined;
}

function isScenarioLike(v: unknown): v is { rows: MetricRow[]; note?: string } {
  return !!v && typeof v === 'object' && Array.isArray((v as { rows?: unknown }).rows);
}

/** Any numeric leaves of a lane's own report, as one-column rows (the JSON keeps the whole report). */
function flatten(prefix: string, v: unknown, out: MetricRow[], depth = 0): void {
  if (typeof v === 'number' && Number.isFinite(v)) {
    out.push({ id: prefix, label: prefix.split('.').slice(1).join('.'), unit: '', better: 'higher', cells: { value: { value: v } } });
    return;
  }
  if (!v || typeof v !== 'object' || depth > 3 || Array.isArray(v)) return;
  for (const [k, x] of Object.entries(v)) flatten(`${prefix}.${k}`, x, out, depth + 1);
}

export async function redactionLane(ctx: ScenarioContext): Promise<ScenarioResult> {
  const title = 'Redaction lane (MB/s, p99 per 10 KB prompt, vs redact-pii)';
  if (!benchModuleExists('redaction')) return naLane('redaction', title, 'n/a (bench/redaction.ts not written yet)');
  try {
    const mod = (await import(pathToFileURL(benchModulePath('redaction')).href)) as { runRedactionBench?: (o: { quick: boolean }) => Promise<unknown> };
    if (typeof mod.runRedactionBench !== 'function') return naLane('redaction', title, 'n/a (bench/redaction.ts has no runRedactionBench export)');
    const report = await mod.runRedactionBench({ quick: ctx.options.quick });
    if (isScenarioLike(report)) return { id: 'redaction', title, rows: report.rows, ...(report.note ? { note: report.note } : {}), extra: report };
    const rows: MetricRow[] = [];
    flatten('redaction', report, rows);
    return { id: 'redaction', title, rows: rows.length ? rows : naLane('redaction', title, 'n/a (lane returned no figures)').rows, extra: report };
  } catch (err) {
    return naLane('redaction', title, `n/a (lane failed: ${(err as Error).message.slice(0, 160)})`);
  }
}

type StartupResult = number | { p50?: number; p99?: number; median?: number; mean?: number; ms?: number; samples?: number[] };

export async function sandboxLane(ctx: ScenarioContext): Promise<ScenarioResult> {
  const title = 'Sandbox start-up (create to first instruction of CMD)';
  const path = repoModule('sandbox/index');
  if (!path) return naLane('sandbox', title, 'n/a (sandbox/index.ts not written yet)');
  let measure: ((driver: string, n: number) => Promise<StartupResult>) | undefined;
  try {
    const mod = (await import(pathToFileURL(path).href)) as { measureStartup?: (driver: string, n: number) => Promise<StartupResult> };
    measure = mod.measureStartup;
  } catch (err) {
    return naLane('sandbox', title, `n/a (sandbox/index failed to load: ${(err as Error).message.slice(0, 160)})`);
  }
  if (typeof measure !== 'function') return naLane('sandbox', title, 'n/a (sandbox/index has no measureStartup export yet)');
  const n = ctx.options.quick ? 2 : 10;
  const p50: Record<string, Cell> = {};
  const p99: Record<string, Cell> = {};
  const extra: Record<string, unknown> = {};
  for (const driver of ['bwrap', 'docker']) {
    try {
      const r = await measure(driver, n);
      extra[driver] = r;
      const mid = typeof r === 'number' ? r : (r.p50 ?? r.median ?? r.mean ?? r.ms);
      p50[driver] = mid !== undefined ? { value: mid } : { na: 'no p50 in result' };
      p99[driver] = typeof r === 'object' && r.p99 !== undefined ? { value: r.p99 } : { na: 'not reported' };
    } catch (err) {
      p50[driver] = p99[driver] = { na: `n/a (${(err as Error).message.slice(0, 120)})` };
    }
  }
  return {
    id: 'sandbox', title, note: `${n} starts per driver; goals: bwrap < 300 ms, docker < 1 s`, extra,
    rows: [
      { id: 'sandbox.startup_p50', label: 'start-up p50', unit: 'ms', better: 'lower', cells: p50 },
      { id: 'sandbox.startup_p99', label: 'start-up p99', unit: 'ms', better: 'lower', cells: p99 },
    ],
  };
}
