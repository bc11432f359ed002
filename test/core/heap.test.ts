import t from 'tap';
import { spawnSync } from 'node:child_process';
import { getHeapSpaceStatistics } from 'node:v8';
import { releaseMemory } from '../../core/index.js';

const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_size;

t.test('releaseMemory gives back the young generation a burst of allocation grew', async (t) => {
  if (process.env.SLUICE_NATIVE_COLLECTOR === '0') {
    t.same(releaseMemory(), { released: false, reason: 'disabled by SLUICE_NATIVE_COLLECTOR=0' });
    return;
  }
  // Objects that survive a few scavenges make V8 grow the young generation, as start-up does.
  const kept: unknown[] = [];
  for (let i = 0; i < 400_000; i++) kept.push({ i, s: `${i}` });
  const grown = newSpace();
  kept.length = 0;
  const result = releaseMemory();
  t.ok(result.released, result.reason);
  const after = newSpace();
  t.ok(grown >= 4 * 1024 * 1024, `the burst grew the young generation (${grown} bytes)`);
  t.ok(after <= grown / 4, `${grown} -> ${after} bytes`);
});

t.test('without the addon it does nothing and says why', async (t) => {
  const child = spawnSync(process.execPath, ['--import', 'tsx', '-e', "import('./core/heap.ts').then((m) => console.log(JSON.stringify(m.releaseMemory())))"], {
    env: { ...process.env, SLUICE_NATIVE_COLLECTOR: '0' },
    encoding: 'utf8',
  });
  t.equal(child.status, 0, child.stderr);
  t.same(JSON.parse(child.stdout), { released: false, reason: 'disabled by SLUICE_NATIVE_COLLECTOR=0' });
});
