import fs from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import { buildBaseImage, type SandboxDriver } from '../../sandbox/index.js';
import { createTestCA } from '../helpers/tls.js';
import { tempDir } from '../helpers/sluice.js';
import type { AgentSpec } from './agents.js';
import { PROVIDERS } from './agents.js';
import { checkPrivateTurn } from './check.js';
import type { AgentRun } from './harness.js';
import { PERSONAL, fakeFor, run } from './harness.js';
import { startProviderFront } from './provider-front.js';
import type { Task } from './scripts.js';
import { ollamaTurn } from './scripts.js';

/**
 * One real agent, one turn, inside `sluice run` as a user types it: `--mount-install` brings the
 * agent's npm tree in read-only, the workdir is the task's directory, and neither the test nor
 * the agent sets a proxy variable, a CA or a key: the sandbox's forced egress, its preload and
 * its environment carry all of it. Hosted: the provider's name is pinned (--resolve) to a fake
 * behind TLS that demands the real key, which only Sluice holds. Routed: a local Ollama fake
 * answers, and the agent finds its key variable holding a placeholder with no `providers:` entry.
 */
export interface SandboxRunOptions {
  driver: SandboxDriver;
  routed: boolean;
  /** privacy: { redact: all, mode: pseudonymize }, the task's content carrying PERSONAL (hosted only: a local backend sees originals). */
  privacy?: boolean;
  timeoutMs?: number;
}

/** One cell of an agent's sandbox matrix; its name is what SLUICE_AGENT_CELLS selects. */
export type SandboxCell = Pick<SandboxRunOptions, 'driver' | 'routed' | 'privacy'>;

export const cellName = (c: SandboxCell): string => `${c.driver}-${c.routed ? 'routed' : 'hosted'}${c.privacy ? '-private' : ''}`;

const PRIVACY = `privacy:
  redact: all
  mode: pseudonymize
`;

const root = path.resolve('.');
/**
 * The docker image: what `sluice image build` makes, under a tag of this suite's own, so that a
 * recipe change here never retags the `sluice-base:latest` other concurrent runs use.
 */
export const AGENT_IMAGE = 'sluice-base:agents';

export async function agentImage(): Promise<string> {
  return (await buildBaseImage({ tag: AGENT_IMAGE })).image;
}

function policyFor(spec: AgentSpec, routed: boolean, fakeUrl: string, privacy: boolean): string {
  const provider = PROVIDERS[spec.provider];
  if (privacy && routed) throw new Error('a privacy cell is hosted: the local backend is given the original text by design');
  if (routed) {
    return `version: 1
network_policies: {}
inference:
  hosts: [{ host: dashscope.aliyuncs.com, prefix: /compatible-mode/v1 }]
  backends:
    local: { type: ollama, url: "${fakeUrl}" }
  routes:
    - { match: {}, backend: local, model: "qwen3:8b" }
`;
  }
  return `version: 1
network_policies:
  provider:
    endpoints:
      - { host: ${provider.host}, port: 443 }
inference:
  hosts: [{ host: dashscope.aliyuncs.com, prefix: /compatible-mode/v1 }]
  routes:
    - { match: {}, action: allow }
providers:
  ${provider.policy}
${privacy ? PRIVACY : ''}`;
}

/** A cell's folders: Sluice's home, and a workdir the sandbox user (nobody: never root) owns and can reach. */
export function sandboxDirs(): { dir: string; home: string; work: string } {
  const dir = tempDir('sluice-agent-');
  const home = path.join(dir, 'home');
  const work = path.join(dir, 'work');
  fs.mkdirSync(home);
  fs.mkdirSync(work);
  fs.chmodSync(dir, 0o755);
  fs.chownSync(work, 65534, 65534);
  return { dir, home, work };
}

export async function runAgentInSandbox(t: Test, spec: AgentSpec, opts: SandboxRunOptions): Promise<Omit<AgentRun, 'sluice'>> {
  const { dir, home, work } = sandboxDirs();
  const content = opts.privacy ? `mail ${PERSONAL.email} key ${PERSONAL.awsKey}` : `written by ${spec.name} in a ${opts.driver} sandbox`;
  const task: Task = { file: path.join(work, 'proof.txt'), content, answer: 'The file is written.' };
  const provider = PROVIDERS[spec.provider];
  const fake = await fakeFor(spec, task, opts.routed);
  const ca = await createTestCA();
  const front = await startProviderFront(await ca.issue([provider.host]), { [provider.host]: fake.port });
  t.teardown(async () => {
    await front.close();
    await fake.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const policy = path.join(dir, 'policy.yaml');
  fs.writeFileSync(policy, policyFor(spec, opts.routed, fake.url, opts.privacy === true));
  const caFile = path.join(dir, 'upstream-ca.pem');
  fs.writeFileSync(caFile, ca.caPem);
  const prompt = `Write the file ${task.file} containing exactly "${task.content}", then say: ${task.answer}`;
  const args = [
    'run', '-q', '--name', `agent-${process.pid}-${path.basename(dir).slice(-6).toLowerCase()}-${cellName(opts)}`, '--policy', policy, '--home', home,
    '--workdir', work, '--mount-install', '--driver', opts.driver,
    ...(opts.driver === 'docker' ? ['--image', AGENT_IMAGE] : []),
    ...(opts.routed ? [] : ['--resolve', `${provider.host}=${front.address}`]),
    '--', spec.bin, ...spec.args(task, prompt),
  ];
  // Sluice's own environment: the real key and the fake provider's CA; nothing for the agent.
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, LANG: 'C.UTF-8', REAL_KEY: provider.secret, NODE_EXTRA_CA_CERTS: caFile };
  // stdin is /dev/null, as in CI: Codex reads a piped stdin to its end before it starts.
  const result = await run(path.join(root, 'bin/sluice'), args, { cwd: work, env, timeoutMs: opts.timeoutMs ?? 420_000 });
  const written = fs.existsSync(task.file) ? fs.readFileSync(task.file, 'utf8') : undefined;
  const auditFile = path.join(home, 'audit', 'audit.jsonl');
  const audit = fs.existsSync(auditFile) ? fs.readFileSync(auditFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : [];
  if (process.env.SLUICE_AGENT_LOG) {
    fs.writeFileSync(path.join(process.env.SLUICE_AGENT_LOG, `${spec.name.replace(/\W+/g, '-')}-${cellName(opts)}.json`), JSON.stringify({ requests: fake.requests, ...result, audit }, null, 1));
  }
  const script: AgentSpec['script'] = opts.routed ? ollamaTurn : spec.script;
  return { ...result, task, expected: spec.rewritesPrompt?.(content) ?? content, written, fake, script, audit };
}

/** Every cell: bwrap and docker, routed to a local Ollama and hosted with the credential at the wire. */
export const ALL_CELLS: SandboxCell[] = [
  { driver: 'bwrap', routed: true },
  { driver: 'bwrap', routed: false },
  { driver: 'docker', routed: true },
  { driver: 'docker', routed: false },
];

/**
 * The cells of one agent as subtests of `t`, which may run them side by side (`t.jobs`: each cell
 * has its own fake, Sluice, home and workdir, and an agent turn is mostly waiting). A privacy cell
 * is also checked for what the provider never saw. SLUICE_AGENT_CELLS=bwrap-routed,… runs only those.
 */
export function sandboxCells(t: Test, spec: AgentSpec, check: (t: Test, run: Omit<AgentRun, 'sluice'>, spec: AgentSpec) => void, cells: SandboxCell[] = ALL_CELLS): void {
  const only = process.env.SLUICE_AGENT_CELLS?.split(',');
  const selected = cells.filter((c) => !only || only.includes(cellName(c)));
  // One build of the image for every docker cell, before any of them starts.
  const image = selected.some((c) => c.driver === 'docker') ? agentImage() : undefined;
  for (const cell of cells) {
    const what = cell.routed ? 'routed to a local Ollama' : `hosted, credential at the wire${cell.privacy ? ', redact all + pseudonymize' : ''}`;
    t.test(`${spec.name} in sluice run --driver ${cell.driver}, ${what}, no proxy variable set`, { skip: selected.includes(cell) ? false : 'not in SLUICE_AGENT_CELLS' }, async (t) => {
      if (cell.driver === 'docker') await image;
      const run = await runAgentInSandbox(t, spec, cell);
      if (cell.privacy) checkPrivateTurn(t, run, spec);
      else check(t, run, spec);
      if (cell.routed) t.ok(run.fake.requests.length > 0 && run.fake.requests.every((r) => r.path.startsWith('/api/')), "only Ollama's own API was called");
    });
  }
}
