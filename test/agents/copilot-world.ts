import fs from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import { COPILOT_API_HOST, createFakeCopilot, createFakeOpenAI } from '../fakes/index.js';
import type { FakeBackend, RecordedRequest, ReplyScript } from '../fakes/index.js';
import { createTestCA } from '../helpers/tls.js';
import { startTestSluice, tempDir } from '../helpers/sluice.js';
import type { TestSluice } from '../helpers/sluice.js';
import { agentEnv, run } from './harness.js';
import { startProviderFront } from './provider-front.js';
import type { Task } from './scripts.js';

/**
 * A GitHub Copilot client (Copilot CLI, OpenClaw's github-copilot provider) through a real Sluice,
 * in one of two worlds. `local`: the routes keep Copilot's calls on this machine; a local
 * OpenAI-compatible backend answers them, and a fake hosted GitHub/Copilot sits where the real
 * one would be only to prove that nothing reaches it. `hosted`: the routes let Copilot's calls out;
 * the fake hosted service answers the session and the calls, demanding the real GitHub token,
 * which only Sluice holds (the client gets the `copilot` profile's placeholder).
 */
export type CopilotMode = 'local' | 'hosted';

export interface CopilotRun {
  code: number | null;
  stdout: string;
  stderr: string;
  task: Task;
  written: string | undefined;
  /** Where the calls were answered: the local backend, or the hosted fake. */
  answered: FakeBackend;
  hosted: FakeBackend;
  sluice: TestSluice;
  audit: Array<Record<string, unknown>>;
}

export interface CopilotRunOptions {
  mode: CopilotMode;
  /** The executable and its arguments, given the task's prompt. */
  command(task: Task, prompt: string): { bin: string; args: string[]; env?: NodeJS.ProcessEnv };
  script(task: Task, req: RecordedRequest): ReplyScript;
  /** A `privacy:` section; with it the prompt carries an e-mail address that must not leave. */
  redact?: boolean;
  timeoutMs?: number;
}

export const GITHUB_TOKEN = `github_pat_11AAAAAAA0${'Re4lGitHubT0ken'.repeat(4)}_${'q'.repeat(11)}`;
export const PRIVATE_EMAIL = 'alice.liddell@example.com';

/**
 * The policy of either world. `redact`: which types a `privacy:` section redacts (pseudonymized),
 * none without it. `routedOnly`: the local world with no `providers:` entry, so the client's
 * placeholder is the routed provider's (as inside `sluice run` with no real token anywhere).
 */
export function copilotPolicy(mode: CopilotMode, backendUrl: string, opts: { redact?: string; routedOnly?: boolean } = {}): string {
  const privacy = opts.redact ? `privacy:\n  redact: ${opts.redact}\n  mode: pseudonymize\n` : '';
  const provider = mode === 'local' && opts.routedOnly ? '' : 'providers:\n  copilot: { from: env:REAL_KEY }\n';
  if (mode === 'local') {
    return `version: 1
network_policies: {}
inference:
  backends:
    local: { type: openai, url: "${backendUrl}" }
  routes:
    - { match: {}, backend: local, model: fake-model }
${provider}${privacy}`;
  }
  return `version: 1
network_policies:
  copilot:
    endpoints:
      - { host: api.github.com, port: 443 }
      - { host: "*.githubcopilot.com", port: 443 }
inference:
  routes:
    - { match: {}, action: allow }
${provider}${privacy}`;
}

export async function runCopilotClient(t: Test, name: string, opts: CopilotRunOptions): Promise<CopilotRun> {
  const dir = tempDir('sluice-agent-');
  const home = path.join(dir, 'home');
  const work = path.join(dir, 'work');
  fs.mkdirSync(home);
  fs.mkdirSync(work);
  const task: Task = { file: path.join(work, 'proof.txt'), content: `written by ${name} through Sluice`, answer: 'The file is written.' };
  const reply = (req: RecordedRequest) => opts.script(task, req);
  const hosted = await createFakeCopilot({ githubToken: GITHUB_TOKEN, reply });
  const local = await createFakeOpenAI({ reply });
  const ca = await createTestCA();
  const names = ['api.github.com', COPILOT_API_HOST, 'api.githubcopilot.com', 'telemetry.individual.githubcopilot.com'];
  const front = await startProviderFront(await ca.issue(names), Object.fromEntries(names.map((n) => [n, hosted.port])));
  const sluice = await startTestSluice(copilotPolicy(opts.mode, local.url, opts.redact ? { redact: '[email]' } : {}), {
    upstreamCA: [ca.caPem],
    resolve: Object.fromEntries(names.map((n) => [n, front.address])),
    env: { REAL_KEY: GITHUB_TOKEN },
    healthIntervalMs: 0,
  });
  t.teardown(async () => {
    await sluice.close();
    await front.close();
    await Promise.all([hosted.close(), local.close()]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const caFile = path.join(dir, 'sluice-ca.pem');
  fs.writeFileSync(caFile, sluice.caCertPem);
  const about = opts.redact ? ` It is for ${PRIVATE_EMAIL}.` : '';
  const prompt = `Write the file ${task.file} containing exactly "${task.content}", then say: ${task.answer}${about}`;
  const cmd = opts.command(task, prompt);
  const env = { ...agentEnv(sluice, home, caFile), ...cmd.env };
  const result = await run(cmd.bin, cmd.args, { cwd: work, env, timeoutMs: opts.timeoutMs ?? 150_000 });
  const written = fs.existsSync(task.file) ? fs.readFileSync(task.file, 'utf8') : undefined;
  const audit = await sluice.readAudit();
  // SLUICE_AGENT_LOG=DIR keeps what each side received, to see what a client sends.
  if (process.env.SLUICE_AGENT_LOG) fs.writeFileSync(path.join(process.env.SLUICE_AGENT_LOG, `${name.replace(/\W+/g, '-')}-${opts.mode}.json`), JSON.stringify({ local: local.requests, hosted: hosted.requests, ...result, audit }, null, 1));
  return { ...result, task, written, answered: opts.mode === 'local' ? local : hosted, hosted, sluice, audit };
}
