import processOnSpawn from 'process-on-spawn';

/**
 * Loaded into every test process (package.json, tap `node-arg`). tap's @tapjs/processinfo puts its
 * module hook into every Node process a test spawns (NODE_OPTIONS plus its `_TAPJS_PROCESSINFO_*`
 * variables), to list the files each one loads for coverage and `tap --changed`. This suite runs
 * with coverage off, and its tests spawn Sluice and real agent CLIs whose thousands of modules each
 * pass through that hook: `gemini --version` took 3.4 CPU-s without it and 9.7 with it, `sluice
 * --version` 0.13 and 0.45. So what a test spawns runs as a user runs it, with the environment the
 * test gave it: process-on-spawn calls its listeners in order, so one put before processinfo's
 * notes the NODE_OPTIONS given and one put after it restores them. The test process keeps the hook.
 */
const PROCESSINFO = /^--(import|loader|experimental-loader)=\S*[\\/]@tapjs[\\/]processinfo[\\/]/;
const TAPJS_VARIABLE = /^_TAPJS_PROCESSINFO_/;
const GIVEN = '_SLUICE_TEST_GIVEN_NODE_OPTIONS';

processOnSpawn.prependListener((opts) => {
  opts.env = { ...opts.env, [GIVEN]: JSON.stringify(opts.env.NODE_OPTIONS ?? null) };
});
processOnSpawn.addListener((opts) => {
  const env = Object.fromEntries(Object.entries(opts.env).filter(([name]) => name !== GIVEN && !TAPJS_VARIABLE.test(name)));
  const given = JSON.parse(opts.env[GIVEN] ?? 'null') as string | null;
  // An inherited NODE_OPTIONS is this test process's own, which tap gave the hook too (quoted).
  const options = (given ?? '').split(/\s+/).filter((o) => o && !PROCESSINFO.test(o.replace(/^"|"$/g, '')));
  if (options.length > 0) env.NODE_OPTIONS = options.join(' ');
  else delete env.NODE_OPTIONS;
  opts.env = env;
});
