import type { Test } from 'tap';
import { ProxyAgent, request } from 'undici';
import { startSluice } from '../../app/index.js';
import type { Sluice } from '../../app/index.js';
import { createFakeAnthropic, createFakeOllama, createFakeOpenAI } from '../fakes/index.js';
import type { FakeBackend } from '../fakes/index.js';
import { startHostedProvider } from '../helpers/hosted-provider.js';
import { startTestSluice, tempDir } from '../helpers/sluice.js';
import { createTestCA } from '../helpers/tls.js';

/**
 * Fake hosted providers where the real ones would be (api.openai.com and api.anthropic.com on
 * port 443, through --resolve), recording all they receive, and Sluices in front of them under
 * the policies the fail-closed tests compare: the embedded default, an inference-only policy
 * with provider keys, and OpenShell-style policies that allow the provider hosts.
 */
export const KEYS = { OPENAI_API_KEY: `sk-proj-${'Rk7vQ2mZ9x'.repeat(12)}Tt0_a`, ANTHROPIC_API_KEY: `sk-ant-api03-${'Hq4nW8pL1c'.repeat(8)}zzAA` };

export interface ProviderWorld {
  openai: FakeBackend;
  anthropic: FakeBackend;
  ollama: FakeBackend;
  resolve: Record<string, string>;
  upstreamCA: string[];
  /** Everything that reached either hosted provider. */
  reached(): Array<{ host: string; method: string; path: string; headers: Record<string, unknown>; raw: string }>;
  /** The embedded default policy, as `sluice up` runs it with no --policy. */
  defaultSluice(t: Test): Promise<Sluice>;
  /** A Sluice with this policy text and the provider keys in its environment. */
  sluice(t: Test, yaml: string): Promise<Sluice & { readAudit(): Promise<Array<Record<string, unknown>>> }>;
  close(): Promise<void>;
}

export async function startProviderWorld(): Promise<ProviderWorld> {
  const ca = await createTestCA();
  const openai = await createFakeOpenAI({});
  const anthropic = await createFakeAnthropic({});
  const ollama = await createFakeOllama({ reply: { text: 'Answered on this machine.' } });
  const fronts = [await startHostedProvider(ca, 'api.openai.com', openai), await startHostedProvider(ca, 'api.anthropic.com', anthropic)];
  const resolve = { 'api.openai.com': fronts[0]!.address, 'api.anthropic.com': fronts[1]!.address };
  return {
    openai,
    anthropic,
    ollama,
    resolve,
    upstreamCA: [ca.caPem],
    reached: () => [
      ...openai.requests.map((r) => ({ host: 'api.openai.com', method: r.method, path: r.path, headers: r.headers, raw: r.raw })),
      ...anthropic.requests.map((r) => ({ host: 'api.anthropic.com', method: r.method, path: r.path, headers: r.headers, raw: r.raw })),
    ],
    async defaultSluice(t) {
      const home = tempDir();
      const sluice = await startSluice({ home, listen: { host: '127.0.0.1', port: 0 }, resolve, upstreamCA: [ca.caPem], env: { ...KEYS }, healthIntervalMs: 0 });
      t.teardown(() => sluice.close());
      return sluice;
    },
    async sluice(t, yaml) {
      const sluice = await startTestSluice(yaml, { resolve, upstreamCA: [ca.caPem], env: { ...KEYS }, healthIntervalMs: 0 });
      t.teardown(() => sluice.close());
      return sluice;
    },
    async close() {
      await Promise.all([...fronts.map((f) => f.close()), openai.close(), anthropic.close(), ollama.close()]);
    },
  };
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One request through the proxy as an agent's HTTP client sends it: https:// through CONNECT, http:// in absolute form. */
export async function send(agent: ProxyAgent, method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await request(url, {
    dispatcher: agent,
    method: method as 'POST',
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

/** http:// URLs go in absolute form (proxyTunnel: false), as curl and most HTTP clients send them. */
export function agentFor(t: Test, sluice: Sluice): ProxyAgent {
  const agent = new ProxyAgent({ uri: sluice.url, requestTls: { ca: sluice.caCertPem }, proxyTunnel: false });
  t.teardown(() => agent.close());
  return agent;
}

/**
 * Is this answer a refusal in the provider's own error shape, as its SDK parses it? OpenAI:
 * `{error:{message,type,code}}` and `x-request-id`; Anthropic: `{type:"error",error:{type,message}}`
 * and `request-id`; Ollama: `{error}`. Sluice's code in `x-sluice-error`, and no retry asked for.
 */
export function providerShape(host: string, a: Answer): string | undefined {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(a.text) as Record<string, unknown>;
  } catch {
    return `not JSON: ${a.text.slice(0, 80)}`;
  }
  if (a.status < 400) return `status ${a.status}`;
  if (typeof a.headers['x-sluice-error'] !== 'string') return 'no x-sluice-error header';
  if (a.status < 500 && a.headers['x-should-retry'] !== 'false') return 'no x-should-retry: false';
  const err = body.error as Record<string, unknown> | undefined;
  if (host === 'api.openai.com') {
    if (typeof err?.message !== 'string' || typeof err.type !== 'string' || !('code' in err)) return `not OpenAI's shape: ${a.text.slice(0, 120)}`;
    if (!String(a.headers['x-request-id']).startsWith('sluice-')) return 'no x-request-id';
  } else if (host === 'api.anthropic.com') {
    if (body.type !== 'error' || typeof err?.type !== 'string' || typeof err.message !== 'string') return `not Anthropic's shape: ${a.text.slice(0, 120)}`;
    if (!String(a.headers['request-id']).startsWith('sluice-')) return 'no request-id';
  } else if (typeof body.error !== 'string') {
    return `not Ollama's shape: ${a.text.slice(0, 120)}`;
  }
  return undefined;
}

export function ollamaPolicy(world: ProviderWorld, extra = ''): string {
  return `version: 1
network_policies: {}
inference:
  backends:
    local: { type: ollama, url: "${world.ollama.url}" }
  routes:
    - { match: { model: "*" }, backend: local, model: "qwen3:8b" }
providers:
  openai: { from: env:OPENAI_API_KEY }
  anthropic: { from: env:ANTHROPIC_API_KEY }
${extra}`;
}
