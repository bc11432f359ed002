import fs from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import type { SandboxDriver } from '../../sandbox/index.js';
import { COPILOT_API_HOST, createFakeCopilot, createFakeOpenAI } from '../fakes/index.js';
import type { RecordedRequest } from '../fakes/index.js';
import { createTestCA } from '../helpers/tls.js';
import type { CopilotMode, CopilotRun } from './copilot-world.js';
import { GITHUB_TOKEN, copilotPolicy } from './copilot-world.js';
import { PERSONAL, run } from './harness.js';
import { startProviderFront } from './provider-front.js';
import { AGENT_IMAGE, sandboxDirs } from './sandbox-harness.js';
import { asSeen, copilotTurn } from './scripts.js';
import type { Task } from './scripts.js';

/**
 * A GitHub Copilot client (Copilot CLI, OpenClaw's github-copilot provider) inside `sluice run`,
 * its default provider, nothing set by hand: `--mount-install` brings its npm tree in, the sandbox
 * gets the proxy, the CA and the copilot placeholder. Local: the routes keep Copilot on this
 * machine, so Sluice is its GitHub session and a local backend its model (no `providers:` entry:
 * the placeholder is the routed provider's). Hosted: the routes let it out to a fake
 * GitHub/Copilot that demands the real token, which only Sluice holds; with `privacy` the task
 * carries PERSONAL, which that fake must never see and the written file must hold.
 */
export interface CopilotSandboxOptions {
  driver: SandboxDriver;
  mode: CopilotMode;
  privacy?: boolean;
  /** The executable and its arguments, given the task's prompt. */
  command(task: Task, prompt: string): { bin: string; args: string[] };
  timeoutMs?: number;
}

const NAMES = ['api.github.com', COPILOT_API_HOST, 'api.githubcopilot.com', 'telemetry.individual.githubcopilot.com'];
const root = path.resolve('.');

export async function runCopilotInSandbox(t: Test, name: string, opts: CopilotSandboxOptions): Promise<Omit<CopilotRun, 'sluice'>> {
  if (opts.privacy && opts.mode === 'local') throw new Error('a privacy cell is hosted: the local backend is given the original text by design');
  const cell = `${opts.driver}-${opts.mode === 'local' ? 'routed' : 'hosted'}${opts.privacy ? '-private' : ''}`;
  const { dir, home, work } = sandboxDirs();
  const content = opts.privacy ? `mail ${PERSONAL.email} key ${PERSONAL.awsKey}` : `written by ${name} in a ${opts.driver} sandbox`;
  const task: Task = { file: path.join(work, 'proof.txt'), content, answer: 'The file is written.' };
  // The fake writes what it was given: pseudonyms under privacy, which Sluice restores in the tool call.
  const reply = (req: RecordedRequest) => copilotTurn(asSeen(task, req), req);
  const local = await createFakeOpenAI({ reply });
  const hosted = await createFakeCopilot({ githubToken: GITHUB_TOKEN, reply });
  const ca = await createTestCA();
  const front = await startProviderFront(await ca.issue(NAMES), Object.fromEntries(NAMES.map((n) => [n, hosted.port])));
  t.teardown(async () => {
    await front.close();
    await Promise.all([local.close(), hosted.close()]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const policy = path.join(dir, 'policy.yaml');
  fs.writeFileSync(policy, copilotPolicy(opts.mode, local.url, { routedOnly: true, ...(opts.privacy ? { redact: 'all' } : {}) }));
  const caFile = path.join(dir, 'upstream-ca.pem');
  fs.writeFileSync(caFile, ca.caPem);
  const prompt = `Write the file ${task.file} containing exactly "${task.content}", then say: ${task.answer}`;
  const cmd = opts.command(task, prompt);
  const args = [
    'run', '-q', '--name', `copilot-${process.pid}-${path.basename(dir).slice(-6).toLowerCase()}-${cell}`, '--policy', policy, '--home', home, '--workdir', work, '--mount-install', '--driver', opts.driver,
    ...(opts.driver === 'docker' ? ['--image', AGENT_IMAGE] : []),
    ...NAMES.flatMap((n) => ['--resolve', `${n}=${front.address}`]),
    '--', cmd.bin, ...cmd.args,
  ];
  // Sluice's own environment: the real token and the fake service's CA; nothing for the agent.
  const env = { PATH: process.env.PATH, HOME: home, LANG: 'C.UTF-8', REAL_KEY: GITHUB_TOKEN, NODE_EXTRA_CA_CERTS: caFile };
  const r = await run(path.join(root, 'bin/sluice'), args, { cwd: work, env, timeoutMs: opts.timeoutMs ?? 420_000 });
  const auditFile = path.join(home, 'audit', 'audit.jsonl');
  const audit = fs.existsSync(auditFile) ? fs.readFileSync(auditFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : [];
  if (process.env.SLUICE_AGENT_LOG) fs.writeFileSync(path.join(process.env.SLUICE_AGENT_LOG, `${name.replace(/\W+/g, '-')}-${cell}.json`), JSON.stringify({ local: local.requests, hosted: hosted.requests, ...r, audit }, null, 1));
  const written = fs.existsSync(task.file) ? fs.readFileSync(task.file, 'utf8') : undefined;
  return { ...r, task, written, answered: opts.mode === 'local' ? local : hosted, hosted, audit };
}
