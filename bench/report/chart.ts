import { isValue, type BenchResults, type GoalResult } from './model.js';
import { formatNumber } from './table.js';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** How far a goal's figure is from its target, as a "1.0 = exactly on target, more is better" score. */
function score(g: GoalResult): number | null {
  if (g.value === null) return null;
  if (g.comparison === '>=') return g.value / g.target;
  return g.value <= 0 ? 4 : g.target / g.value;
}

const COLORS: Record<string, string> = {
  direct: '#9e9e9e', sluice: '#1565c0', mitmproxy: '#ef6c00', squid: '#2e7d32', mockttp: '#6a1b9a', 'sandbox-runtime': '#00838f',
};

/**
 * A hand-written SVG: the headline goals as bars against their targets (log scale, the target at
 * the dashed line), and req/s at c=16 relative to direct for every contender per scenario.
 */
export function renderChart(results: BenchResults): string {
  const W = 1000;
  const left = 500;
  const barMax = W - left - 90;
  const rowH = 26;
  const parts: string[] = [];
  let y = 30;
  parts.push(`<text x="10" y="${y}" font-size="16" font-weight="bold">Sluice bench — headline goals (${esc(results.startedAt)}${results.options.quick ? ', --quick' : ''})</text>`);
  y += 14;
  // log2 scale from 1/8× to 8× of the target: the target sits in the middle.
  const xOf = (s: number) => left + ((Math.log2(Math.min(8, Math.max(1 / 8, s))) + 3) / 6) * barMax;
  const goalTop = y + 6;
  for (const g of results.goals) {
    y += rowH;
    const s = score(g);
    const value = g.value === null ? 'n/a' : `${formatNumber(g.value)}${g.unit === '×' ? '×' : ` ${g.unit}`}`;
    const goal = `goal ${g.comparison === '>=' ? '≥' : '<'} ${g.target}${g.unit === '×' ? '×' : ` ${g.unit}`}`;
    parts.push(`<text x="10" y="${y}" font-size="11">${esc(`${g.label} (${goal})`)}</text>`);
    if (s === null) {
      parts.push(`<text x="${left}" y="${y}" font-size="12" fill="#777">n/a — ${esc((g.note ?? '').slice(0, 60))}</text>`);
      continue;
    }
    const color = g.met ? '#2e7d32' : '#c62828';
    parts.push(`<rect x="${left}" y="${y - 13}" width="${(xOf(s) - left).toFixed(1)}" height="16" fill="${color}" opacity="0.8"/>`);
    parts.push(`<text x="${(xOf(s) + 4).toFixed(1)}" y="${y}" font-size="12">${esc(value)}</text>`);
  }
  const mid = xOf(1);
  parts.push(`<line x1="${mid}" y1="${goalTop}" x2="${mid}" y2="${y + 6}" stroke="#000" stroke-dasharray="4 3"/>`);
  parts.push(`<text x="${mid - 14}" y="${y + 20}" font-size="11">goal</text>`);
  y += 50;

  parts.push(`<text x="10" y="${y}" font-size="16" font-weight="bold">req/s at c=16 relative to direct (1.0 = no proxy cost)</text>`);
  const groups = [
    { row: 'intercept.rps.c16', label: 'HTTPS intercepted' },
    { row: 'tunnel.rps.c16', label: 'HTTPS tunnel' },
    { row: 'plain.rps.c16', label: 'plain HTTP' },
  ];
  const names = results.contenders.map((c) => c.name).filter((n) => n !== 'direct');
  for (const grp of groups) {
    const r = results.scenarios.flatMap((s) => s.rows).find((x) => x.id === grp.row);
    const d = r?.cells.direct;
    if (!r || !isValue(d)) continue;
    y += 22;
    parts.push(`<text x="10" y="${y}" font-size="13" font-weight="bold">${esc(grp.label)}</text>`);
    for (const n of names) {
      const c = r.cells[n];
      y += 20;
      parts.push(`<text x="30" y="${y}" font-size="12">${esc(n)}</text>`);
      if (!isValue(c)) {
        parts.push(`<text x="${left}" y="${y}" font-size="12" fill="#777">n/a</text>`);
        continue;
      }
      const ratio = c.value / d.value;
      const w = Math.min(1.2, ratio) / 1.2 * barMax;
      parts.push(`<rect x="${left}" y="${y - 13}" width="${w.toFixed(1)}" height="16" fill="${COLORS[n] ?? '#555'}"/>`);
      parts.push(`<text x="${(left + w + 4).toFixed(1)}" y="${y}" font-size="12">${ratio.toFixed(2)}× (${formatNumber(c.value)} req/s)</text>`);
    }
  }
  y += 30;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" viewBox="0 0 ${W} ${y}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
