import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import t from 'tap';

// untraced-children.ts: what a test spawns runs without tap's processinfo hook, which costs each
// spawned Node process 0.3 CPU-s at start and an agent with thousands of modules several (its comment).
// Under tap this process carries the hook: without the listener, every child below would too.
const underTap = process.execArgv.some((a) => a.includes('@tapjs/processinfo'));
const printEnv = `process.stdout.write(JSON.stringify(Object.fromEntries(Object.entries(process.env).filter(([k]) => k === 'NODE_OPTIONS' || k.startsWith('_TAPJS_PROCESSINFO_')))))`;
const traced = (env: Record<string, string>) => Object.keys(env).filter((k) => k.startsWith('_TAPJS_PROCESSINFO_')).length > 0 || /@tapjs[\\/]processinfo/.test(env.NODE_OPTIONS ?? '');

t.test('a Node process a test spawns gets neither the hook nor its variables', { skip: underTap ? false : 'run under tap: only tap loads the hook' }, async (t) => {
  const inherited = await promisify(execFile)(process.execPath, ['-e', printEnv]);
  t.same(JSON.parse(inherited.stdout), {}, 'environment inherited: nothing of processinfo');
  const given = await promisify(execFile)(process.execPath, ['-e', printEnv], { env: { PATH: process.env.PATH, NODE_OPTIONS: '--max-old-space-size=200' } });
  t.same(JSON.parse(given.stdout), { NODE_OPTIONS: '--max-old-space-size=200' }, "an environment of the test's own: its NODE_OPTIONS kept, the hook not added");
  const sync = spawnSync(process.execPath, ['-e', printEnv], { encoding: 'utf8' });
  t.notOk(traced(JSON.parse(sync.stdout) as Record<string, string>), 'spawnSync too');
  const viaShell = spawnSync('/bin/sh', ['-c', 'env'], { encoding: 'utf8' });
  t.notMatch(viaShell.stdout, /_TAPJS_PROCESSINFO_|@tapjs\/processinfo/, 'a non-Node child, whose Node descendants would inherit it');
});

t.test('the test process itself keeps the hook', { skip: underTap ? false : 'run under tap' }, async (t) => {
  t.ok(Object.keys(process.env).some((k) => k.startsWith('_TAPJS_PROCESSINFO_')), "tap's variables are still set here");
});
