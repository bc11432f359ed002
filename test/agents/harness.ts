import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import { createFakeAnthropic, createFakeGemini, createFakeOllama, createFakeOpenAI } from '../fakes/index.js';
import type { FakeBackend } from '../fakes/index.js';
import { createTestCA } from '../helpers/tls.js';
import { startTestSluice, tempDir } from '../helpers/sluice.js';
import type { TestSluice } from '../helpers/sluice.js';
import type { AgentSpec } from './agents.js';
import { PROVIDERS } from './agents.js';
import { startProviderFront } from './provider-front.js';
import type { Task } from './scripts.js';
import { asSeen, ollamaTurn } from './scripts.js';

/**
 * One real agent, one turn, through a real Sluice: the agent's provider is a fake behind TLS on
 * port 443 of a loopback address Sluice pins the provider's name to; the fake demands the real key,
 * which only Sluice holds (the agent gets the placeholder); the agent's HOME and working directory
 * are fresh temp dirs. Every request the fake received and every audit event are returned.
 */
export interface AgentRun {
  code: number | null;
  stdout: string;
  stderr: string;
  task: Task;
  /** What the file must hold: the task's content as the agent passed it on. */
  expected: string;
  /** What the agent's tool wrote, or undefined when there is no file. */
  written: string | undefined;
  fake: FakeBackend;
  /** The script the fake answered with (the agent's own protocol's, or Ollama's when routed). */
  script: AgentSpec['script'];
  sluice: TestSluice;
  audit: Array<Record<string, unknown>>;
}

/** What privacy runs put in the prompt: the fake must never see them, the file must hold them. */
export const PERSONAL = { email: 'jane.doe@example.com', awsKey: 'AKIAIOSFODNN7EXAMPLE' };

export interface RunOptions {
  /** privacy: { redact: all, mode: pseudonymize }, the task's content carrying PERSONAL. */
  privacy?: boolean;
  /** Route every call to a local Ollama (a fake on 127.0.0.1) instead of letting it out to the provider. */
  routed?: boolean;
  /** The policy's sections after network_policies (e.g. inference, privacy); default: LLM calls pass out. */
  extraPolicy?: string;
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 150_000;

export async function fakeFor(spec: AgentSpec, task: Task, routed: boolean): Promise<FakeBackend> {
  const p = PROVIDERS[spec.provider];
  if (routed) return createFakeOllama({ reply: (req) => ollamaTurn(asSeen(task, req), req) });
  const opts = { apiKey: p.secret, reply: (req: Parameters<AgentSpec['script']>[1]) => spec.script(asSeen(task, req), req) };
  switch (spec.provider) {
    case 'anthropic':
      return createFakeAnthropic(opts);
    case 'openai':
      return createFakeOpenAI(opts);
    case 'gemini':
      return createFakeGemini(opts);
    case 'dashscope':
      return createFakeOpenAI({ ...opts, prefix: '/compatible-mode' });
  }
}

export async function runAgent(t: Test, spec: AgentSpec, opts: RunOptions = {}): Promise<AgentRun> {
  const dir = tempDir('sluice-agent-');
  const home = path.join(dir, 'home');
  const work = path.join(dir, 'work');
  fs.mkdirSync(home);
  fs.mkdirSync(work);
  const content = opts.privacy ? `mail ${PERSONAL.email} key ${PERSONAL.awsKey}` : `written by ${spec.name} through Sluice`;
  const task: Task = { file: path.join(work, 'proof.txt'), content, answer: 'The file is written.' };
  const expected = spec.rewritesPrompt?.(content) ?? content;
  const provider = PROVIDERS[spec.provider];
  const ca = await createTestCA();
  const routed = opts.routed === true;
  const fake = await fakeFor(spec, task, routed);
  const front = await startProviderFront(await ca.issue([provider.host]), { [provider.host]: fake.port });
  const sluice = await startTestSluice(`version: 1
network_policies:
  provider:
    endpoints:
      - { host: ${provider.host}, port: 443 }
${opts.privacy ? `privacy:
  redact: all
  mode: pseudonymize
` : ''}${opts.extraPolicy ?? `inference:
  # Qwen Code's default endpoint: OpenAI's API under DashScope's prefix, an LLM host like the others.
  hosts: [{ host: dashscope.aliyuncs.com, prefix: /compatible-mode/v1 }]
${routed ? `  backends:
    local: { type: ollama, url: "${fake.url}" }
  routes:
    - { match: {}, backend: local, model: "qwen3:8b" }` : `  routes:
    - { match: {}, action: allow }`}`}
providers:
  ${provider.policy}
`, { upstreamCA: [ca.caPem], resolve: { [provider.host]: front.address }, env: { REAL_KEY: provider.secret }, healthIntervalMs: 0 });
  t.teardown(async () => {
    await sluice.close();
    await front.close();
    await fake.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const caFile = path.join(dir, 'sluice-ca.pem');
  fs.writeFileSync(caFile, sluice.caCertPem);
  const env = agentEnv(sluice, home, caFile);
  const prompt = `Write the file ${task.file} containing exactly "${task.content}", then say: ${task.answer}`;
  const result = await run(spec.bin, spec.args(task, prompt), { cwd: work, env, timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS });
  const written = fs.existsSync(task.file) ? fs.readFileSync(task.file, 'utf8') : undefined;
  // SLUICE_AGENT_LOG=DIR keeps what the fake received, to see what an agent sends.
  if (process.env.SLUICE_AGENT_LOG) fs.writeFileSync(path.join(process.env.SLUICE_AGENT_LOG, `${path.basename(spec.bin)}-requests.json`), JSON.stringify({ requests: fake.requests, stdout: result.stdout, stderr: result.stderr, audit: await sluice.readAudit() }, null, 1));
  const script: AgentSpec['script'] = routed ? ollamaTurn : spec.script;
  return { ...result, task, expected, written, fake, script, sluice, audit: await sluice.readAudit() };
}

/** What every agent runs with: a fresh HOME, the proxy, Sluice's CA, and the placeholders `sluice env` gives. */
export function agentEnv(sluice: TestSluice, home: string, caFile: string): NodeJS.ProcessEnv {
  return {
    PATH: `${path.dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
    HOME: home,
    LANG: 'C.UTF-8',
    HTTPS_PROXY: sluice.url,
    HTTP_PROXY: sluice.url,
    https_proxy: sluice.url,
    http_proxy: sluice.url,
    // Node agents read the first, Bun and Rust ones (Claude Code, opencode, Codex) the second.
    NODE_EXTRA_CA_CERTS: caFile,
    SSL_CERT_FILE: caFile,
    ...sluice.pipeline.envFor('default'),
  };
}

/** Runs a command in its own process group, so a timeout ends the agent and every helper it started. */
export function run(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      stderr += `\n[harness] no exit after ${opts.timeoutMs} ms: killed`;
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    }, opts.timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      // Helpers the agent left behind (language servers, MCP servers) go with it.
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // The group is already gone.
      }
      resolve({ code, stdout, stderr });
    });
  });
}
