import type { Test } from 'tap';
import { ProxyAgent, fetch as undiciFetch } from 'undici';
import type { LlmCallEvent } from '../../core/index.js';
import type { InferenceInput } from '../../privacy/index.js';
import type { FakeBackend } from '../fakes/index.js';
import { startTestSluice } from '../helpers/sluice.js';
import type { TestSluice } from '../helpers/sluice.js';
import { createTestCA } from '../helpers/tls.js';
import { tlsFront } from '../helpers/tls-front.js';

/**
 * The privacy router as agents meet it: a real Sluice on 127.0.0.1:0 with the given `inference:`
 * section, the agent's SDK calling the provider host through the proxy (TLS intercepted with
 * Sluice's CA), and the llm_call events collected. No test double re-implements the exchange.
 */
export interface RouterHarness {
  sluice: TestSluice;
  /** The base URL the agent calls: https://HOST (or https://HOST:PORT for a fake hosted provider), http://inference.local. */
  url: string;
  /** fetch through the proxy, for SDKs (`fetch:` option) and direct calls. */
  fetch: typeof globalThis.fetch;
  calls: LlmCallEvent[];
  /** Resolves once `n` llm_call events have been emitted (streams report when they end). */
  nextCall(n: number): Promise<LlmCallEvent>;
}

export interface RouterOptions {
  /** The host the agent calls; default api.anthropic.com. */
  host?: string;
  /** A fake hosted provider behind TLS at `host`, reached when a route says allow. */
  upstream?: FakeBackend;
  /** Provider credentials by built-in profile name (anthropic, nvidia …) → secret. */
  providers?: Record<string, string>;
  /** The policy's `privacy:` section. */
  privacy?: Record<string, unknown>;
}

/** The provider hosts tests name resolve to 127.0.0.1 here: nothing a test sends can reach the internet. */
const PINNED = { 'api.openai.com': '127.0.0.1', 'api.anthropic.com': '127.0.0.1', 'generativelanguage.googleapis.com': '127.0.0.1', 'dashscope.aliyuncs.com': '127.0.0.1', 'openrouter.ai': '127.0.0.1' };

export async function startRouter(t: Test, inference: InferenceInput | undefined, opts: RouterOptions = {}): Promise<RouterHarness> {
  const host = opts.host ?? 'api.anthropic.com';
  const policy: Record<string, unknown> = { version: 1, network_policies: {} };
  let url = host === 'inference.local' ? 'http://inference.local' : `https://${host}`;
  let upstreamCA: string[] | undefined;
  if (opts.upstream) {
    const ca = await createTestCA();
    const front = await tlsFront(await ca.issue([host]), opts.upstream.port);
    t.teardown(() => front.close());
    policy.network_policies = { provider: { endpoints: [{ host, port: front.port }] } };
    url = `https://${host}:${front.port}`;
    upstreamCA = [ca.caPem];
  }
  if (inference !== undefined) policy.inference = inference;
  if (opts.privacy) policy.privacy = opts.privacy;
  const env: Record<string, string> = {};
  if (opts.providers) {
    policy.providers = Object.fromEntries(Object.keys(opts.providers).map((name) => [name, { from: `env:SLUICE_TEST_${name.toUpperCase()}` }]));
    for (const [name, secret] of Object.entries(opts.providers)) env[`SLUICE_TEST_${name.toUpperCase()}`] = secret;
  }
  // JSON is YAML: the policy file is written as the object above.
  const sluice = await startTestSluice(JSON.stringify(policy, null, 2), { resolve: { ...PINNED, [host]: '127.0.0.1' }, env, healthIntervalMs: 0, ...(upstreamCA ? { upstreamCA } : {}) });
  const dispatcher = new ProxyAgent({ uri: sluice.url, requestTls: { ca: sluice.caCertPem } });
  t.teardown(async () => {
    await dispatcher.close();
    await sluice.close();
  });
  const calls: LlmCallEvent[] = [];
  const waiting: Array<{ n: number; resolve: (e: LlmCallEvent) => void }> = [];
  sluice.bus.on((e) => {
    if (e.type !== 'llm_call') return;
    calls.push(e);
    for (const w of waiting.filter((x) => calls.length >= x.n)) {
      waiting.splice(waiting.indexOf(w), 1);
      w.resolve(calls[w.n - 1]!);
    }
  });
  const proxied = ((input: string | URL, init?: RequestInit) => undiciFetch(input, { ...(init as object), dispatcher } as never)) as unknown as typeof globalThis.fetch;
  return {
    sluice,
    url,
    fetch: proxied,
    calls,
    nextCall(n) {
      if (calls.length >= n) return Promise.resolve(calls[n - 1]!);
      return new Promise((resolve) => waiting.push({ n, resolve }));
    },
  };
}

export const weather = {
  name: 'get_weather',
  description: 'Current weather for a city',
  parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } }, required: ['city'] },
};

export const weatherCall = { name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius' } };
