import processOnSpawn from 'process-on-spawn';

/**
 * Loaded into every test process (package.json, tap `node-arg`). tap's @tapjs/processinfo puts its
 * module hook into every Node process a test spawns (NODE_OPTIONS plus its `_TAPJS_PROCESSINFO_*`
 * variables), to list the files each one loads for coverage and `tap --changed`. This suite runs
 * with coverage off, and its tests spawn Sluice and real agent CLIs whose thousands of modules each
 * pass through that hook: `gemini --version` took 3.4 CPU-s without it and 9.7 with it, `sluice
 * --version` 0.13 and 0.45. So what a test spawns runs as a user runs it: this listener, added after
 * processinfo's (process-on-spawn calls them in order), takes the hook and its variables out again.
 * The test process itself keeps them; a NODE_OPTIONS a test sets for its child is kept.
 */
const PROCESSINFO = /^--(import|loader|experimental-loader)=\S*[\\/]@tapjs[\\/]processinfo[\\/]/;
const TAPJS_VARIABLE = /^_TAPJS_PROCESSINFO_/;

processOnSpawn.addListener((opts) => {
  const env = Object.fromEntries(Object.entries(opts.env).filter(([name]) => !TAPJS_VARIABLE.test(name)));
  const options = (env.NODE_OPTIONS ?? '').split(/\s+/).filter((o) => o && !PROCESSINFO.test(o.replace(/^"|"$/g, '')));
  if (options.length > 0) env.NODE_OPTIONS = options.join(' ');
  else delete env.NODE_OPTIONS;
  opts.env = env;
});
