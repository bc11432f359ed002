import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { benchModuleExists, benchModulePath, forkChild, repoRoot } from '../fork-child.js';
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

/** Any numeric leaves of a lane's own report, as one-column rows (the JSON keeps the whole report). */
function flatten(prefix: string, v: unknown, out: MetricRow[], depth = 0): void {
  if (typeof v === 'number' && Number.isFinite(v)) {
    out.push({ id: prefix, label: prefix.split('.').slice(1).join('.'), unit: '', better: 'higher', cells: { value: { value: v } } });
    return;
  }
  if (!v || typeof v !== 'object' || depth > 3 || Array.isArray(v)) return;
  for (const [k, x] of Object.entries(v)) flatten(`${prefix}.${k}`, x, out, depth + 1);
}

/** The parts of bench/redaction.ts's report the table shows (the JSON keeps all of it). */
interface RedactionReport {
  sluice: EngineFigures;
  redactPii: EngineFigures;
  /** Prose and code with an entity sample every ~1.5 KB. */
  typical?: { sluice: EngineFigures; redactPii: EngineFigures };
  /** Conversations sent as agents send them: the whole history plus a new corpus prompt per turn. */
  conversation?: { sluice: EngineFigures; redactPii: EngineFigures; turns?: number };
  commonTypes?: string[];
  speedup?: number;
}
interface EngineFigures {
  mbPerSec: number;
  p50Ms: number;
  p99Ms: number;
  promptBytes?: number;
  accuracy?: Record<string, { precision: number; recall: number }>;
}

function isRedactionReport(v: unknown): v is RedactionReport {
  const r = v as RedactionReport;
  return !!r && typeof r === 'object' && typeof r.sluice?.mbPerSec === 'number' && typeof r.redactPii?.mbPerSec === 'number';
}

function redactionRows(r: RedactionReport): MetricRow[] {
  type Pick = (e: EngineFigures) => number | undefined;
  const both = (id: string, label: string, unit: string, better: 'higher' | 'lower', pick: Pick, from: RedactionReport['typical'] = r): MetricRow => {
    const cells: Record<string, Cell> = {};
    for (const [name, e] of [['sluice', from?.sluice], ['redact-pii', from?.redactPii]] as const) {
      const v = e && pick(e);
      cells[name] = v !== undefined && Number.isFinite(v) ? { value: v } : { na: 'not reported' };
    }
    return { id, label, unit, better, cells };
  };
  const rows = [
    both('redaction.mbps', 'corpus prompts (~100 entities per 10 KB): MB/s', 'MB/s', 'higher', (e) => e.mbPerSec),
    both('redaction.p50', `corpus prompts: p50 per prompt (${r.sluice.promptBytes ?? '~10 KB'} B)`, 'ms', 'lower', (e) => e.p50Ms),
    both('redaction.p99', `corpus prompts: p99 per prompt (${r.sluice.promptBytes ?? '~10 KB'} B)`, 'ms', 'lower', (e) => e.p99Ms),
  ];
  if (r.typical) {
    rows.push(both('redaction.typical.mbps', 'typical prompts (~7 entities per 10 KB): MB/s', 'MB/s', 'higher', (e) => e.mbPerSec, r.typical));
    rows.push(both('redaction.typical.p99', 'typical prompts: p99 per prompt', 'ms', 'lower', (e) => e.p99Ms, r.typical));
  }
  if (r.conversation) {
    const turns = r.conversation.turns ?? '?';
    rows.push(both('redaction.conversation.mbps', `${turns}-turn conversations, whole history per request: MB/s`, 'MB/s', 'higher', (e) => e.mbPerSec, r.conversation));
    rows.push(both('redaction.conversation.p99', 'conversations: p99 per request', 'ms', 'lower', (e) => e.p99Ms, r.conversation));
  }
  for (const t of r.commonTypes ?? []) {
    rows.push(both(`redaction.precision.${t}`, `${t} precision`, '', 'higher', (e) => e.accuracy?.[t]?.precision));
    rows.push(both(`redaction.recall.${t}`, `${t} recall`, '', 'higher', (e) => e.accuracy?.[t]?.recall));
  }
  return rows;
}

/** Runs a bench module in a fresh Node process (same loader) and parses the JSON it prints. */
function runInOwnProcess(relative: string, args: string[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = forkChild(relative, undefined, { args, stdout: 'pipe' });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`bench/${relative} exited with ${code}`));
      else {
        try {
          resolve(JSON.parse(out) as unknown);
        } catch {
          reject(new Error(`bench/${relative} printed no JSON: ${out.slice(0, 120)}`));
        }
      }
    });
  });
}

export async function redactionLane(ctx: ScenarioContext): Promise<ScenarioResult> {
  const title = 'Redaction lane (Sluice engine vs redact-pii, same corpus)';
  if (!benchModuleExists('redaction')) return naLane('redaction', title, 'n/a (bench/redaction.ts not written yet)');
  try {
    const report = await runInOwnProcess('redaction', ['--json', ...(ctx.options.quick ? ['--quick'] : [])]);
    if (isRedactionReport(report)) {
      ctx.log(`  redaction: sluice ${report.sluice.mbPerSec.toFixed(1)} MB/s, redact-pii ${report.redactPii.mbPerSec.toFixed(2)} MB/s`);
      return { id: 'redaction', title, note: 'goals: ≥ 50 MB/s, ≥ 10× redact-pii at equal or better recall, p99 < 1 ms per 10 KB prompt', rows: redactionRows(report), extra: report };
    }
    const rows: MetricRow[] = [];
    flatten('redaction', report, rows);
    return { id: 'redaction', title, rows: rows.length ? rows : naLane('redaction', title, 'n/a (lane returned no figures)').rows, extra: report };
  } catch (err) {
    return naLane('redaction', title, `n/a (lane failed: ${(err as Error).message.slice(0, 160)})`);
  }
}

/** sandbox/index.ts's StartupFigures, as far as the table needs it. */
interface StartupFigures {
  samples?: number[];
  medianMs?: number;
  maxMs?: number;
  teardownMedianMs?: number;
}

export async function sandboxLane(ctx: ScenarioContext): Promise<ScenarioResult> {
  const title = 'Sandbox start-up (create to the first byte of CMD\'s output, on the host\'s monotonic clock)';
  const path = repoModule('sandbox/index');
  if (!path) return naLane('sandbox', title, 'n/a (sandbox/index.ts not written yet)');
  let measure: ((driver: 'bwrap' | 'docker', n: number) => Promise<StartupFigures>) | undefined;
  try {
    const mod = (await import(pathToFileURL(path).href)) as { measureStartup?: typeof measure };
    measure = mod.measureStartup;
  } catch (err) {
    return naLane('sandbox', title, `n/a (sandbox/index failed to load: ${(err as Error).message.slice(0, 160)})`);
  }
  if (typeof measure !== 'function') return naLane('sandbox', title, 'n/a (sandbox/index has no measureStartup export yet)');
  const n = ctx.options.quick ? 2 : 10;
  const rows: MetricRow[] = [
    { id: 'sandbox.startup_p50', label: 'start-up median', unit: 'ms', better: 'lower', cells: {} },
    { id: 'sandbox.startup_max', label: 'start-up max', unit: 'ms', better: 'lower', cells: {} },
    { id: 'sandbox.teardown_p50', label: 'teardown median', unit: 'ms', better: 'lower', cells: {} },
  ];
  const extra: Record<string, unknown> = {};
  for (const driver of ['bwrap', 'docker'] as const) {
    try {
      const r = await measure(driver, n);
      extra[driver] = r;
      const cell = (v: number | undefined): Cell => (v !== undefined && Number.isFinite(v) ? { value: v } : { na: 'not reported' });
      const first = cell(r.medianMs);
      rows[0]!.cells[driver] = 'value' in first && r.samples?.length ? { ...first, rounds: r.samples } : first;
      rows[1]!.cells[driver] = cell(r.maxMs);
      rows[2]!.cells[driver] = cell(r.teardownMedianMs);
      ctx.log(`  sandbox ${driver}: median ${r.medianMs?.toFixed(0)} ms`);
    } catch (err) {
      for (const row of rows) row.cells[driver] = { na: `n/a (${(err as Error).message.slice(0, 120)})` };
    }
  }
  return { id: 'sandbox', title, note: `${n} starts per driver; goals: bwrap < 300 ms, docker < 1 s`, extra, rows };
}
