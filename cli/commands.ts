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
const sandboxName = { min: 1, max: 1, complete: 'sandbox' } as const;
const since: OptionSpec = { type: 'string', value: 'DURATION', help: 'only events this recent: 90s, 10m, 2h, 1d, or a date (2026-03-01T12:00)' };

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'up',
    summary: 'the gateway: the proxy for host clients, the sandboxes `sluice run` starts, the control-plane API',
    options: {
      policy: { ...policyFile, help: 'the default policy: host clients, and sandboxes started without --policy (default: the embedded default policy)' },
      listen: { type: 'string', value: 'HOST:PORT', help: 'the proxy listener for host clients (default 127.0.0.1:3128); sandboxes get listeners of their own' },
      'api-listen': { type: 'string', value: 'HOST:PORT', help: 'serve the API on TCP too, with TLS and bearer tokens (`sluice token create`); it always listens on <home>/gateway/api.sock' },
      resolve,
      dns,
      verbose,
      enforcement: { ...enforcement, help: `${enforcement.help}; on the shared listener only, sandboxes keep enforcing` },
      'warm-networks': { type: 'string', value: 'N', help: 'sandbox networks made ahead of demand per driver, from its first sandbox on, so a start skips making one (default 2; 0: none)' },
    },
    details:
      'Stops cleanly on SIGINT/SIGTERM, stopping its sandboxes first. The default policy file is watched: a valid new version applies at once, an invalid one is reported and the last good one stays. One gateway per --home.',
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
      workdir: { type: 'string', value: 'DIR', complete: 'dir', help: 'directory mounted read-write as the working directory (default: the current one, unless it is / or, as root, root\'s)' },
      name: { type: 'string', value: 'NAME', help: 'sandbox name (default sluice-<random>; the sluice- prefix is added)' },
      env: { type: 'string', short: 'e', multiple: true, value: 'NAME[=VALUE]', help: "an environment variable for CMD (NAME alone: this shell's value); repeatable" },
      'mount-install': { type: 'boolean', help: "mount CMD's install directory read-only (the node_modules tree or the directory its executable is in), so that a globally installed agent runs inside" },
      detach: { type: 'boolean', short: 'd', help: 'on the gateway: print the name once CMD has started and return (`sluice logs -f NAME`, `sluice wait NAME`)' },
      'no-gateway': { type: 'boolean', help: 'a Sluice of its own in this process even when a gateway runs (CMD gets this terminal)' },
      resolve: { ...resolve, help: `${resolve.help} (a Sluice of its own only)` },
      dns: { ...dns, help: `${dns.help} (a Sluice of its own only)` },
      verbose: { ...verbose, help: `${verbose.help} (a Sluice of its own only)` },
      quiet: { type: 'boolean', short: 'q', help: 'no line per refusal on stderr, no summary at exit, no line saying where the sandbox runs' },
      enforcement: { ...enforcement, help: `${enforcement.help} (a Sluice of its own only)` },
    },
    details:
      'On the running gateway (`sluice up`) when there is one, otherwise in a Sluice started for this sandbox alone, in this process; a line on stderr says which. Exits with CMD\'s exit code (125 when the sandbox could not start). With a Sluice of its own, each refusal is printed on stderr as it happens, with the policy change that would allow it, and a summary by host follows at exit.',
    load: async () => (await import('./run.js')).run,
  },
  {
    name: 'ps',
    summary: "running sandboxes: the gateway's and those of `sluice run`s with a Sluice of their own",
    options: { all: { type: 'boolean', short: 'a', help: 'ended sandboxes too' }, json: { type: 'boolean', help: "the gateway's sandboxes as JSON" } },
    details: "Sandboxes whose `sluice run` has gone (orphans) are listed and removed.",
    load: async () => (await import('./sandboxes.js')).ps,
  },
  {
    name: 'stop',
    summary: 'stop sandboxes (SIGTERM, then SIGKILL after the grace period) and release what they hold',
    args: 'NAME...',
    positionals: { min: 1, max: Infinity, complete: 'sandbox' },
    options: { time: { type: 'string', short: 't', value: 'SECONDS', help: 'grace period before SIGKILL (default 5)' } },
    load: async () => (await import('./sandboxes.js')).stop,
  },
  {
    name: 'rm',
    summary: "remove ended sandboxes from the gateway, with their output",
    args: 'NAME...',
    positionals: { min: 1, max: Infinity, complete: 'sandbox' },
    options: { force: { type: 'boolean', short: 'f', help: 'stop running ones first' } },
    load: async () => (await import('./sandboxes.js')).rm,
  },
  {
    name: 'wait',
    summary: "wait until a gateway sandbox's command has ended; print its exit code",
    args: 'NAME',
    positionals: sandboxName,
    options: {},
    load: async () => (await import('./sandboxes.js')).wait,
  },
  {
    name: 'logs',
    summary: "the audit log (decisions, refusals with their fix, LLM calls); with NAME, a gateway sandbox's output",
    args: '[NAME]',
    positionals: { min: 0, max: 1, complete: 'sandbox' },
    options: {
      follow: { type: 'boolean', short: 'f', help: 'keep printing as events (or output) arrive' },
      denied: { type: 'boolean', help: 'audit log: only refusals (and, under enforcement: audit, what would have been refused)' },
      llm: { type: 'boolean', help: 'audit log: only LLM calls: route, backend, model, tokens, time to first token, redactions' },
      sandbox: { ...sandboxFilter, help: `audit log: ${sandboxFilter.help}` },
      since: { ...since, help: `audit log: ${since.help}` },
      json: { type: 'boolean', help: 'audit log: one OCSF JSON record per line, as stored' },
      stdout: { type: 'boolean', help: "NAME: only the sandbox's stdout" },
      stderr: { type: 'boolean', help: "NAME: only the sandbox's stderr" },
    },
    details:
      "Without NAME: what Sluice decided, from <home>/audit/audit.jsonl (every Sluice of this home writes there). With NAME: the command's own stdout and stderr, from the gateway (`sluice run -d`); `sluice logs --sandbox NAME` is that sandbox's audit events. A gateway's events live: `sluice events`.",
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
    options: {
      policy: policyFile,
      sandbox: { type: 'string', value: 'NAME', help: 'sandbox the placeholders are for (default "default"); also prints HTTPS_PROXY with its proxy credential' },
      proxy: { type: 'string', value: 'URL', help: 'with --sandbox: the shared listener the credential is for (default http://127.0.0.1:3128)' },
      export: { type: 'boolean', help: 'prefix each line with export' },
    },
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
    name: 'policy get',
    summary: "a gateway sandbox's policy as last set (or, with --default, the gateway's default policy)",
    args: 'NAME|--default',
    positionals: { min: 0, max: 1, complete: 'sandbox' },
    options: { default: { type: 'boolean', help: "the gateway's default policy" } },
    load: async () => (await import('./policy-remote.js')).policyGet,
  },
  {
    name: 'policy set',
    summary: "replace a running gateway sandbox's policy (or, with --default, the default policy)",
    args: 'NAME|--default FILE',
    positionals: { min: 1, max: 2, complete: 'file' },
    options: { default: { type: 'boolean', help: "the gateway's default policy" } },
    details: 'Network, inference, privacy, providers and middlewares apply at once and tunnels the new policy no longer allows are closed; a change to filesystem_policy, landlock or process is refused, naming the section.',
    load: async () => (await import('./policy-remote.js')).policySet,
  },
  {
    name: 'events',
    summary: "the gateway's audit events, live, until interrupted",
    options: {
      sandbox: { type: 'string', multiple: true, value: 'NAME', complete: 'sandbox', help: 'only events of this sandbox; repeatable' },
      type: { type: 'string', value: 'TYPE,...', help: 'only these event types (connect, request, llm_call, policy, finding, sandbox, api, …)' },
      action: { type: 'string', value: 'ACTION', choices: ['allow', 'deny'], help: 'only allowed or only refused' },
      json: { type: 'boolean', help: 'the OCSF records as they are, the lines the audit log holds' },
    },
    load: async () => (await import('./events.js')).events,
  },
  {
    name: 'token create',
    summary: "a bearer token for the gateway's TCP API (`sluice up --api-listen`), printed once",
    options: {
      scope: { type: 'string', value: 'SCOPE', choices: ['admin', 'read'], help: 'admin: everything; read: list and watch only (required)' },
      name: { type: 'string', value: 'NAME', help: 'a label to recognise it by in `sluice token list`' },
    },
    load: async () => (await import('./token.js')).tokenCreate,
  },
  { name: 'token list', summary: "the API's bearer tokens (ids, scopes, names; never the tokens)", options: {}, load: async () => (await import('./token.js')).tokenList },
  {
    name: 'token revoke',
    summary: 'revoke a bearer token; a running gateway refuses it at once',
    args: 'ID',
    positionals: { min: 1, max: 1 },
    options: {},
    load: async () => (await import('./token.js')).tokenRevoke,
  },
  {
    name: 'image build',
    summary: 'build the local base image for --driver docker (from the host\'s binaries; no registry)',
    options: {
      force: { type: 'boolean', help: 'rebuild even when it exists' },
      tag: { type: 'string', value: 'NAME', help: 'image name (default sluice-base:latest)' },
      for: { type: 'string', multiple: true, value: 'CMD', help: "also carry the shared libraries CMD links on this host (its executable, a script's interpreter, an npm package's native parts); repeatable" },
    },
    load: async () => (await import('./image.js')).image,
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
