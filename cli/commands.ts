import type { CommandSpec, OptionSpec } from './args.js';

/**
 * Every command of `sluice`, its options and its help, in one table. Handlers are loaded on
 * demand: `sluice ca path` should not load the bench harness or the sandbox drivers.
 */
const policyFile: OptionSpec = { type: 'string', value: 'FILE', complete: 'file', help: 'policy file (default: the embedded default policy, see `sluice policy show`)' };
const resolve: OptionSpec = { type: 'string', multiple: true, value: 'HOST=IP', help: 'pin a name to an address, like curl --resolve (trusted: not range-checked); repeatable' };
const dns: OptionSpec = { type: 'string', value: 'HOST:PORT', help: 'DNS server Sluice asks instead of the system resolver' };
const verbose: OptionSpec = { type: 'boolean', short: 'v', help: 'one line per event on stderr (every decision, not only refusals)' };
const enforcement: OptionSpec = {
  type: 'string',
  value: 'MODE',
  choices: ['enforce', 'audit'],
  help: 'audit = learning mode: what the network policy would refuse is let through and logged, for `sluice policy suggest` (SSRF, DLP and credential checks still refuse)',
};
const sandboxFilter: OptionSpec = { type: 'string', value: 'NAME', complete: 'sandbox', help: 'only events of this sandbox (as `sluice ps` names it; the sluice- prefix may be left out)' };
const since: OptionSpec = { type: 'string', value: 'DURATION', help: 'only events this recent: 90s, 10m, 2h, 1d, or a date (2026-03-01T12:00)' };

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'up',
    summary: 'run the proxy (the embedded default policy unless --policy)',
    options: { policy: policyFile, listen: { type: 'string', value: 'HOST:PORT', help: 'where to listen (default 127.0.0.1:3128)' }, resolve, dns, verbose, enforcement },
    details: 'Stops cleanly on SIGINT/SIGTERM. A policy file is watched: a valid new version applies at once, an invalid one is reported and the last good one stays.',
    load: async () => (await import('./up.js')).up,
  },
  {
    name: 'run',
    summary: 'run a command in a sandbox whose only way out is Sluice',
    args: '[--] CMD [ARGS...]',
    positionals: { min: 1, max: Infinity },
    passthrough: true,
    options: {
      driver: { type: 'string', value: 'DRIVER', choices: ['bwrap', 'docker'], help: 'sandbox driver (default bwrap)' },
      policy: policyFile,
      image: { type: 'string', value: 'IMAGE', help: 'image for --driver docker (default sluice-base:latest, see `sluice image build`)' },
      workdir: { type: 'string', value: 'DIR', complete: 'dir', help: 'directory mounted read-write as the working directory' },
      name: { type: 'string', value: 'NAME', help: 'sandbox name (default sluice-<random>)' },
      resolve,
      dns,
      verbose,
      quiet: { type: 'boolean', short: 'q', help: 'no line per refusal on stderr, no summary at exit' },
      enforcement,
    },
    details: 'Exits with CMD\'s exit code (125 when the sandbox could not start). Each refusal is printed on stderr as it happens, with the policy change that would allow it; a summary by host follows at exit.',
    load: async () => (await import('./run.js')).run,
  },
  { name: 'ps', summary: 'list the sandboxes Sluice started that still exist', options: {}, load: async () => (await import('./run.js')).ps },
  {
    name: 'stop',
    summary: 'stop a sandbox and remove what it created',
    args: 'NAME',
    positionals: { min: 1, max: 1, complete: 'sandbox' },
    options: {},
    load: async () => (await import('./run.js')).stop,
  },
  {
    name: 'logs',
    summary: 'read the audit log: decisions, refusals with their fix, LLM calls',
    options: {
      follow: { type: 'boolean', short: 'f', help: 'keep printing events as they are written' },
      denied: { type: 'boolean', help: 'only refusals (and, under enforcement: audit, what would have been refused)' },
      llm: { type: 'boolean', help: 'only LLM calls: route, backend, model, tokens, time to first token, redactions' },
      sandbox: sandboxFilter,
      since,
      json: { type: 'boolean', help: 'one OCSF JSON record per line, as stored' },
    },
    load: async () => (await import('./logs.js')).logs,
  },
  {
    name: 'status',
    summary: 'running Sluices, their listeners and backends, and the sandboxes',
    options: { json: { type: 'boolean', help: 'the same as JSON' } },
    load: async () => (await import('./status.js')).status,
  },
  {
    name: 'doctor',
    summary: 'check what Sluice needs on this machine and print the fix for each missing piece',
    options: { fix: { type: 'boolean', help: 'run the fixes (needs root; installs Debian packages, starts dockerd, trusts the CA)' } },
    details: 'Exit code 0 when everything `sluice run` needs is there (warnings do not count), 1 otherwise.',
    load: async () => (await import('./doctor.js')).doctor,
  },
  {
    name: 'explain',
    summary: 'what the live proxy would do with a request, step by step, and the fix when it refuses',
    args: 'METHOD URL',
    positionals: { min: 2, max: 2 },
    options: {
      policy: policyFile,
      body: { type: 'string', value: 'JSON', help: 'the request body (LLM calls: the model and messages decide the route)' },
      header: { type: 'string', multiple: true, value: '"NAME: VALUE"', help: 'a request header; repeatable' },
      resolve,
    },
    details: 'Runs the live proxy\'s own pipeline (host class, CONNECT, canonical path, LLM call, network policy, route, credentials, address) without sending anything. Exit 0 when the request would be forwarded or answered, 1 when refused.',
    load: async () => (await import('./explain.js')).explain,
  },
  {
    name: 'env',
    summary: 'the environment a sandbox gets: provider placeholders, never secrets',
    options: { policy: policyFile, sandbox: { type: 'string', value: 'NAME', help: 'sandbox the placeholders are for (default "default")' }, export: { type: 'boolean', help: 'prefix each line with export' } },
    load: async () => (await import('./env.js')).env,
  },
  { name: 'ca path', summary: "the local CA certificate's path", options: {}, load: async () => (await import('./ca.js')).caPath },
  { name: 'ca export', summary: "the local CA certificate (PEM)", options: {}, load: async () => (await import('./ca.js')).caExport },
  {
    name: 'policy check',
    summary: 'validate a policy file; every YAML, schema and reference error at once, as file:line:col: message',
    args: 'FILE',
    positionals: { min: 1, max: 1, complete: 'file' },
    options: {},
    load: async () => (await import('./policy.js')).policyCheck,
  },
  { name: 'policy show', summary: 'print the embedded default policy', options: {}, load: async () => (await import('./policy.js')).policyShow },
  {
    name: 'policy schema',
    summary: "the policy file's JSON Schema (for editors: yaml-language-server)",
    options: {},
    load: async () => (await import('./policy.js')).policySchema,
  },
  {
    name: 'policy suggest',
    summary: 'turn logged refusals into the smallest policy change that allows them, as a diff',
    options: {
      policy: { type: 'string', value: 'FILE', complete: 'file', help: 'the policy file to change (default: the file the last logged run used)' },
      sandbox: sandboxFilter,
      since,
      apply: { type: 'boolean', help: 'validate the changed policy and write it (a running Sluice watching the file applies it at once)' },
    },
    details:
      'Reads refusals from the audit log (and, after a run with --enforcement audit, what would have been refused). Hosts become endpoints; methods and paths become rules generalised only as far as the observed requests need; private addresses become allowed_ips. Deny rules are never undone.',
    load: async () => (await import('./suggest.js')).suggest,
  },
  {
    name: 'image build',
    summary: 'build the local base image for --driver docker (from the host\'s binaries; no registry)',
    options: { force: { type: 'boolean', help: 'rebuild even when it exists' }, tag: { type: 'string', value: 'NAME', help: 'image name (default sluice-base:latest)' } },
    load: async () => (await import('./run.js')).image,
  },
  {
    name: 'bench',
    summary: 'Sluice side by side with direct, mitmproxy, squid, sandbox-runtime, mockttp',
    args: '[--quick] [--only SCENARIO,...] [--peers PEER,...|none] [--out DIR]',
    options: {},
    raw: true,
    load: async () => (await import('./bench.js')).bench,
  },
  {
    name: 'completion',
    summary: 'shell completion script: bash, zsh or fish',
    args: 'bash|zsh|fish',
    positionals: { min: 1, max: 1, complete: ['bash', 'zsh', 'fish'] },
    options: {},
    details: 'bash: source <(sluice completion bash)   zsh: source <(sluice completion zsh)   fish: sluice completion fish | source',
    load: async () => (await import('./completion.js')).completion,
  },
  {
    name: '__complete',
    summary: 'completion candidates for the words so far (used by the completion scripts)',
    positionals: { min: 0, max: Infinity },
    options: {},
    raw: true,
    hidden: true,
    load: async () => (await import('./completion.js')).complete,
  },
];

/** Top-level words: commands and command groups, in table order. */
export function commandGroups(commands: readonly CommandSpec[] = COMMANDS): string[] {
  const out: string[] = [];
  for (const c of commands) {
    if (c.hidden) continue;
    const first = c.name.split(' ')[0]!;
    if (!out.includes(first)) out.push(first);
  }
  return out;
}
