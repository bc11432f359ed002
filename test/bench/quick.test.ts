import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { parseBenchArgs, QUICK_SCALE, renderChart, renderTable, runBench } from '../../bench/index.js';
import type { BenchResults, Cell } from '../../bench/index.js';

// A real (tiny) bench run: its wall time follows the machine's load, not Sluice's speed (44 s on an
// idle pair of cores, 117 s at a load average of 25), so this file gets more than the default 120 s.
t.setTimeout(360_000);

const isCell = (c: Cell | undefined): boolean =>
  !!c && (('value' in c && Number.isFinite(c.value)) || ('na' in c && typeof c.na === 'string' && c.na.length > 0));

t.test('parseBenchArgs', async (t) => {
  const d = parseBenchArgs([]);
  t.equal(d.quick, false);
  t.ok(d.only.includes('intercept') && d.only.includes('memory'));
  t.same(d.peers, ['mitmproxy', 'squid', 'mockttp', 'sandbox-runtime']);
  const q = parseBenchArgs(['--quick', '--only', 'tunnel,plain', '--peers=squid']);
  t.equal(q.quick, true);
  t.same(q.only, ['tunnel', 'plain']);
  t.same(q.peers, ['squid']);
  t.equal(q.scale, QUICK_SCALE);
  t.same(parseBenchArgs(['--peers', 'none']).peers, []);
  t.throws(() => parseBenchArgs(['--only', 'nope']), /unknown scenario/);
  t.throws(() => parseBenchArgs(['--peers', 'nginx']), /unknown peer/);
  t.throws(() => parseBenchArgs(['--fast']), /unknown option/);
});

t.test('renderTable and renderChart mark what could not run', async (t) => {
  const results: BenchResults = {
    version: 1, startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:01:00.000Z', durationS: 60,
    machine: { cpus: 2, cpuModel: 'test', memGiB: 1, node: 'v20', platform: 'linux x64', load1: 0 },
    options: { quick: true, only: ['intercept'], peers: ['squid'], rounds: 1 },
    contenders: [{ name: 'direct', status: 'ran' }, { name: 'sluice', status: 'ran' }, { name: 'squid', status: 'ran' }],
    scenarios: [{
      id: 'intercept', title: 'Intercepted <keep-alive>', rows: [{
        id: 'intercept.rps.c16', label: 'req/s, c=16', unit: 'req/s', better: 'higher',
        cells: { squid: { na: 'tunnel only' }, sluice: { value: 500 }, direct: { value: 1000 } },
      }],
    }],
    goals: [{ id: 'g', label: 'added p99 < 1 ms', value: null, target: 1, comparison: '<', unit: 'ms', met: null, note: 'x < y' }],
  };
  const table = renderTable(results);
  const line = table.split('\n').find((l) => l.startsWith('req/s, c=16'))!;
  t.match(line, /1,000 .*\| 500 \(0\.50×\) .*\| n\/a\[1\]/, 'columns in contender order, ratio to direct, footnoted n/a');
  t.match(table, /\[1\] n\/a: tunnel only/);
  const svg = renderChart(results);
  t.match(svg, /^<svg [^>]*>/);
  t.match(svg, /<\/svg>\n$/);
  t.notMatch(svg.replace(/<[^>]*>/g, ''), /</, 'no unescaped < in text');
});

t.test('runBench --quick on a tiny scale writes the table, JSON and chart', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'sluice-bench-test-'));
  t.teardown(() => rm(out, { recursive: true, force: true }));
  const only = ['tunnel', 'intercept', 'new-host', 'large', 'plain', 'memory'] as const;
  const options = {
    ...parseBenchArgs(['--quick', '--only', only.join(','), '--peers', 'squid']),
    scale: { ...QUICK_SCALE, startWarmupMs: 50, durationMs: 50, warmupMs: 10, concurrencies: [1, 4], newHosts: 3, newHostWarmup: 1, largeBytes: 256 * 1024, tunnelCounts: [5, 10] as const, heldConnections: 5, loadForMemoryMs: 50 },
    resultsDir: out,
  };
  const { results, table, svg, files } = await runBench(options, () => undefined);

  t.same(results.scenarios.map((s) => s.id), only);
  t.same(results.contenders.map((c) => c.name), ['direct', 'sluice', 'squid']);
  for (const s of results.scenarios) {
    t.ok(s.rows.length > 0, `${s.id} has rows`);
    for (const r of s.rows) {
      for (const name of ['direct', 'sluice', 'squid']) t.ok(isCell(r.cells[name]), `${r.id}: a value or a reason for ${name}`);
    }
  }
  const cell = (row: string, who: string) => results.scenarios.flatMap((s) => s.rows).find((r) => r.id === row)?.cells[who];
  const direct = cell('intercept.rps.c1', 'direct');
  t.ok(direct && 'value' in direct && direct.value > 0, 'the direct baseline measured something');
  if (results.contenders.find((c) => c.name === 'sluice')?.status === 'ran') {
    const sluice = cell('intercept.rps.c1', 'sluice');
    t.ok(sluice && 'value' in sluice && sluice.value > 0, 'Sluice, when built, is measured through interception');
  }
  const squidIntercept = cell('intercept.rps.c1', 'squid');
  t.ok(squidIntercept && 'na' in squidIntercept, 'squid cannot intercept and says so');
  t.ok(cell('memory.rss_idle', 'direct') && 'na' in cell('memory.rss_idle', 'direct')!, 'direct has no proxy process');
  t.ok(results.goals.some((g) => g.id === 'intercept_vs_mitmproxy' && g.met === null), 'a goal against an absent peer is not measured');

  t.same(JSON.parse(await readFile(files[1]!, 'utf8')), JSON.parse(JSON.stringify(results)), 'latest.json');
  t.same(JSON.parse(await readFile(files[0]!, 'utf8')), JSON.parse(JSON.stringify(results)), 'timestamped JSON');
  t.equal(await readFile(files[2]!, 'utf8'), svg, 'latest.svg');
  t.match(table, /== HTTPS intercepted, keep-alive, small responses ==/);
  t.match(table, /== Headline goals \(Sluice\) ==/);
});
