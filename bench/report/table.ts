import { isValue, spreadOf, type BenchResults, type Cell, type MetricRow, type ScenarioResult } from './model.js';
import { describeStalls } from '../stall-probe.js';

export function formatNumber(v: number): string {
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/** Columns in contender order (direct, sluice, peers), then any a lane adds of its own. */
function columnsOf(s: ScenarioResult, order: readonly string[]): string[] {
  const cols: string[] = [];
  for (const r of s.rows) for (const k of Object.keys(r.cells)) if (!cols.includes(k)) cols.push(k);
  const rank = (k: string) => (order.includes(k) ? order.indexOf(k) : order.length);
  return cols.sort((a, b) => rank(a) - rank(b));
}

/** Ratios to direct make throughput rows comparable at a glance; latency deltas already are. */
function withRatio(r: MetricRow, c: Cell, column: string): string {
  if (!isValue(c)) return '';
  let text = formatNumber(c.value);
  const spread = spreadOf(c);
  if (spread !== undefined) text += ` ±${formatNumber(spread)}`;
  if (c.detail) text += ` [${c.detail}]`;
  const direct = r.cells.direct;
  if (column !== 'direct' && r.better === 'higher' && (r.unit === 'req/s' || r.unit === 'MB/s') && isValue(direct) && direct.value > 0) {
    text += ` (${(c.value / direct.value).toFixed(2)}×)`;
  }
  return text;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

export function renderScenario(s: ScenarioResult, order: readonly string[] = []): string {
  const cols = columnsOf(s, order);
  const notes: string[] = [];
  const body = s.rows.map((r) => [
    r.unit ? `${r.label} (${r.unit})` : r.label,
    ...cols.map((col) => {
      const c = r.cells[col];
      if (!c) return '';
      if (isValue(c)) return withRatio(r, c, col);
      const reason = 'na' in c ? c.na : 'n/a';
      let i = notes.indexOf(reason);
      if (i < 0) i = notes.push(reason) - 1;
      return `n/a[${i + 1}]`;
    }),
  ]);
  const header = ['metric', ...cols];
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => pad(c, widths[i]!)).join(' | ');
  const out = [`== ${s.title} ==`];
  if (s.note) out.push(`   ${s.note}`);
  out.push(line(header), widths.map((w) => '-'.repeat(w)).join('-+-'), ...body.map(line));
  notes.forEach((n, i) => out.push(`   [${i + 1}] ${n.startsWith('n/a') ? n : `n/a: ${n}`}`));
  if (s.stalls) out.push(`   ${describeStalls(s.stalls)}`);
  return out.join('\n');
}

export function renderTable(results: BenchResults): string {
  const m = results.machine;
  const parts = [
    `Sluice bench ${results.options.quick ? '(--quick) ' : ''}— ${results.startedAt}, ${results.durationS.toFixed(0)} s, ${m.cpus}× ${m.cpuModel}, node ${m.node}, load ${m.load1.toFixed(2)}`,
    `contenders: ${results.contenders.map((c) => (c.status === 'ran' ? c.name : `${c.name} (not available: ${c.reason})`)).join(', ')}`,
    '',
    ...results.scenarios.flatMap((s) => [renderScenario(s, results.contenders.map((c) => c.name)), '']),
    '== Headline goals (Sluice) ==',
    ...results.goals.map((g) => {
      const v = g.value === null ? 'n/a' : `${formatNumber(g.value)}${g.unit === '×' ? '×' : ` ${g.unit}`}`;
      const verdict = g.met === null ? `not measured (${g.note})` : g.met ? 'met' : 'MISSED';
      return `  ${pad(g.label, 60)} ${pad(v, 12)} goal ${g.comparison} ${g.target}${g.unit === '×' ? '×' : ` ${g.unit}`}: ${verdict}`;
    }),
  ];
  return parts.join('\n');
}
