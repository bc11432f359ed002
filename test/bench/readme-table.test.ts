import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import type { BenchResults } from '../../bench/index.js';
import { README_END, README_START, readmeTableOf, renderReadmeTable, spliceReadme } from '../../bench/report/readme-table.js';

const root = join(import.meta.dirname, '..', '..');

t.test("the README's bench table is what the script renders from the committed latest.json", async (t) => {
  const results = JSON.parse(await readFile(join(root, 'bench', 'results', 'latest.json'), 'utf8')) as BenchResults;
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  const committed = readmeTableOf(readme);
  t.ok(committed, 'README.md has the bench-table markers');
  t.equal(committed, renderReadmeTable(results), 'run `npm run build && npm run bench:readme` after a bench run');
});

t.test('the table shows the median with its spread, and "–" where a contender has no figure', async (t) => {
  const results: BenchResults = {
    version: 1, startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:01:00.000Z', durationS: 60,
    machine: { cpus: 2, cpuModel: 'test', memGiB: 1, node: 'v20', platform: 'linux x64', load1: 3.25 },
    options: { quick: false, only: ['intercept'], peers: ['squid'], rounds: 3 },
    contenders: [{ name: 'direct', status: 'ran' }, { name: 'sluice', status: 'ran' }, { name: 'squid', status: 'ran' }],
    scenarios: [{
      id: 'intercept', title: 'Intercepted', rows: [
        { id: 'intercept.rps.c16', label: 'req/s', unit: 'req/s', better: 'higher', cells: { direct: { value: 9000 }, sluice: { value: 1000, rounds: [900, 1000, 1300] }, squid: { na: 'tunnel only' } } },
        { id: 'intercept.added_p99.c1', label: 'p99', unit: 'ms', better: 'lower', cells: { direct: { value: 0, rounds: [0, 0, 0] }, sluice: { value: 1.5, rounds: [1.5, 1, 2] } } },
      ],
    }],
    goals: [],
  };
  const table = renderReadmeTable(results);
  t.match(table, /load average 3\.25/);
  t.match(table, /\| intercepted keep-alive req\/s, c=16 \| 9,000 \| 1,000 ±200 \| – \|/);
  t.match(table, /\| intercepted added p50 \/ p99, c=1 \(ms\) \| – \| – \/ 1\.50 ±0\.50 \| – \|/);
  const spliced = spliceReadme(`a\n${README_START}\n${README_END}\nb`, table);
  t.equal(readmeTableOf(spliced), table);
  t.throws(() => spliceReadme('no markers', table), /markers/);
});
