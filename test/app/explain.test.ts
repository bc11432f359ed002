import t from 'tap';
import { ProxyAgent, request } from 'undici';
import { explain } from '../../app/index.js';
import type { SluiceEvent } from '../../core/index.js';
import { startHostedProvider } from '../helpers/hosted-provider.js';
import { startTestSluice } from '../helpers/sluice.js';
import { createTestCA } from '../helpers/tls.js';
import { startUpstream } from '../helpers/upstream.js';
import { createFakeAnthropic, createFakeOllama, createFakeOpenAI } from '../fakes/index.js';
import { KEYS } from '../privacy/provider-world.js';

// `sluice explain` and the live proxy, held to the same verdict over a table of requests: for
// each row the live Sluice is sent the request and its audit events say what it did; explain is
// asked the same question with the same policy, pins and state, and must answer alike.

const GH_TOKEN = 'ghp_' + 'Zq8XbW2mK9vLr4TnY7pQs1cD6fH3jA5eU0gI';

const ca = await createTestCA();
const cert = await ca.issue(['api.github.com', 'raw.example.com']);
const github = await startUpstream({ cert });
const plain = await startUpstream();
const ollama = await createFakeOllama({ reply: { text: 'Local.' } });
const openaiFake = await createFakeOpenAI({});
const anthropicFake = await createFakeAnthropic({});
const providers = [await startHostedProvider(ca, 'api.openai.com', openaiFake), await startHostedProvider(ca, 'api.anthropic.com', anthropicFake)];
t.teardown(() => Promise.all([github.close(), plain.close(), ollama.close(), openaiFake.close(), anthropicFake.close(), ...providers.map((p) => p.close())]));

const G = github.port;
const P = plain.port;
const O = Number(new URL(ollama.url).port);
const resolve = { 'api.github.com': '127.0.0.1', 'raw.example.com': '127.0.0.1', 'plain.example.com': '127.0.0.1', 'api.openai.com': providers[0]!.address, 'api.anthropic.com': providers[1]!.address };
const sluice = await startTestSluice(`version: 1
network_policies:
  github:
    endpoints:
      - host: api.github.com
        port: ${G}
        protocol: rest
        rules:
          - allow: { method: GET, path: "/repos/**" }
          - allow: { method: POST, path: "/repos/*/*/issues" }
        deny_rules:
          - { method: "*", path: "/repos/*/*/hooks/**" }
      - { host: raw.example.com, port: ${G}, tls: skip }
  plain:
    endpoints:
      - { host: plain.example.com, port: ${P}, protocol: rest, access: read-only }
  literals:
    endpoints:
      - { host: 127.0.0.1, port: 9 }
      - { host: 10.1.2.3, port: 80 }
      - { host: 169.254.169.254, port: 80 }
  telemetry:
    endpoints:
      - host: api.anthropic.com
        port: 443
        protocol: rest
        rules:
          - allow: { method: POST, path: /api/event_logging/v2/batch }
          - allow: { method: GET, path: "/v1/**" }
inference:
  backends:
    local: { type: ollama, url: "${ollama.url}" }
  routes:
    - { name: blocked-model, match: { model: "forbidden-*" }, action: deny, reason: "not this model" }
    - { name: hosted-openai, match: { host: api.openai.com, model: "gpt-4o-hosted" }, action: allow }
    - { name: local, match: { model: "*" }, backend: local, model: "qwen3:8b" }
providers:
  openai: { from: env:OPENAI_API_KEY }
  anthropic: { from: env:ANTHROPIC_API_KEY }
  github: { from: env:GITHUB_TOKEN, endpoints: [{ host: api.github.com, port: ${G} }] }
privacy:
  redact: [email]
`, { resolve, upstreamCA: [ca.caPem], env: { ...KEYS, GITHUB_TOKEN: 'ghp_RealGitHubTokenValue1234567890abcdefgh' }, healthIntervalMs: 0 });
t.teardown(() => sluice.close());
const env = sluice.pipeline.envFor('default');
const agent = new ProxyAgent({ uri: sluice.url, requestTls: { ca: [ca.caPem, sluice.caCertPem] }, proxyTunnel: false });
t.teardown(() => agent.close());

const chat = (model: string) => JSON.stringify({ model, messages: [{ role: 'user', content: 'Hello' }] });
const msg = (model: string) => JSON.stringify({ model, max_tokens: 8, messages: [{ role: 'user', content: 'Hello' }] });
const oa = { authorization: `Bearer ${env.OPENAI_API_KEY!}` };
const an = { 'x-api-key': env.ANTHROPIC_API_KEY!, 'anthropic-version': '2023-06-01' };

type Row = [method: string, url: string, body?: string, headers?: Record<string, string>];
const ROWS: Row[] = [
  // Hosts the network policy decides: L7 rules, re-spellings, deny rules, ports, paths, DLP, credentials.
  ['GET', `https://api.github.com:${G}/repos/a/b`],
  ['GET', `https://api.github.com:${G}/repos/a/b/../c`],
  ['GET', `https://api.github.com:${G}/repos/a/%62`],
  ['GET', `https://api.github.com:${G}/repos/a/b/hooks/1`],
  ['GET', `https://api.github.com:${G}/repos/a/b/%68ooks/1`],
  ['GET', `https://api.github.com:${G}/repos/a/b/x/../hooks/1`],
  ['GET', `https://api.github.com:${G}/repos//a/b/hooks/1`],
  ['POST', `https://api.github.com:${G}/repos/a/b/issues`, '{"title":"x"}'],
  ['POST', `https://api.github.com:${G}/repos/a/b/pulls`, '{"title":"x"}'],
  ['DELETE', `https://api.github.com:${G}/repos/a/b`],
  ['GET', `https://api.github.com:${G}/users/x`],
  ['GET', `https://api.github.com:${G}/repos/a%2Fb/c`],
  ['GET', `https://api.github.com:${G}/repos/a/b?token=${GH_TOKEN}`],
  ['POST', `https://api.github.com:${G}/repos/a/b/issues`, `{"body":"token ${GH_TOKEN}"}`],
  ['GET', `https://api.github.com:${G}/repos/a/b`, undefined, { authorization: `Bearer ${env.OPENAI_API_KEY!}` }],
  ['GET', `https://api.github.com:${G}/repos/a/b`, undefined, { authorization: `token ${env.GITHUB_TOKEN!}` }],
  ['GET', `https://api.github.com/repos/a/b`],
  ['GET', 'https://evil.example.com/'],
  ['GET', `https://raw.example.com:${G}/anything`],
  ['GET', `http://plain.example.com:${P}/x`],
  ['GET', `http://plain.example.com:${P}/a/./b/../x`],
  ['POST', `http://plain.example.com:${P}/x`, '{}'],
  ['GET', `http://plain.example.com:${P}/a%2Fb`],
  ['GET', `http://plain.example.com:${P}/a%00b`],
  ['GET', `http://plain.example.com:${P + 1}/x`],
  // SSRF: literal addresses in every spelling, allowed by the policy, refused by the address check.
  ['GET', 'http://127.0.0.1:9/'],
  ['GET', 'https://127.0.0.1:9/'],
  ['GET', 'http://2130706433:9/'],
  ['GET', 'http://0x7f.1:9/'],
  ['GET', 'http://10.1.2.3/'],
  ['GET', 'http://169.254.169.254/latest/meta-data/'],
  ['GET', 'http://[::ffff:127.0.0.1]:9/'],
  // LLM provider hosts: recognised calls (and their re-spellings) answered locally, the rest refused.
  ['POST', 'https://api.openai.com/v1/chat/completions', chat('gpt-4o'), oa],
  ['POST', 'https://api.openai.com/v1/chat/%63ompletions', chat('gpt-4o'), oa],
  ['POST', 'https://api.openai.com/v1//chat/completions', chat('gpt-4o'), oa],
  ['POST', 'https://api.openai.com/v1/./chat/completions', chat('gpt-4o'), oa],
  ['POST', 'https://api.openai.com/v1/x/../chat/completions', chat('gpt-4o'), oa],
  ['POST', 'https://api.openai.com/v1/chat/completions/', chat('gpt-4o'), oa],
  ['POST', 'https://api.openai.com/v1/chat/completions', chat('forbidden-1'), oa],
  ['POST', 'https://api.openai.com/v1/chat/completions', chat('gpt-4o-hosted'), oa],
  ['POST', 'https://api.openai.com/v1/chat/completions', '{not json', oa],
  ['POST', 'https://api.openai.com/v1/embeddings', JSON.stringify({ model: 'text-embedding-3-small', input: 'x' }), oa],
  ['POST', 'https://api.openai.com/v1/completions', JSON.stringify({ model: 'gpt-3.5-turbo-instruct', prompt: 'x' }), oa],
  ['GET', 'https://api.openai.com/v1/models', undefined, oa],
  ['POST', 'https://api.openai.com/v1/responses', chat('gpt-4o'), oa],
  ['POST', 'https://api.openai.com/v1/batches', '{"input_file_id":"f"}', oa],
  ['GET', 'https://api.openai.com/v1/files', undefined, oa],
  ['PUT', 'https://api.openai.com/v1/chat/completions', chat('gpt-4o'), oa],
  ['POST', 'https://api.openai.com/v1/chat/completions;x=1', chat('gpt-4o'), oa],
  ['POST', 'https://api.openai.com/V1/chat/completions', chat('gpt-4o'), oa],
  ['POST', 'https://api.openai.com/v1/chat%2Fcompletions', chat('gpt-4o'), oa],
  ['POST', 'http://api.openai.com/v1/chat/completions', chat('gpt-4o')],
  ['POST', 'https://api.openai.com:8443/v1/chat/completions', chat('gpt-4o')],
  ['POST', 'https://api.anthropic.com/v1/messages', msg('claude-sonnet-4'), an],
  ['POST', 'https://api.anthropic.com/v1/%6Dessages', msg('claude-sonnet-4'), an],
  ['POST', 'https://api.anthropic.com/v1/./messages', msg('claude-sonnet-4'), an],
  ['POST', 'https://api.anthropic.com/v1/x/../messages', msg('claude-sonnet-4'), an],
  ['POST', 'https://api.anthropic.com/v1/messages/count_tokens', msg('claude-sonnet-4'), an],
  ['GET', 'https://api.anthropic.com/v1/models', undefined, an],
  ['POST', 'https://api.anthropic.com/v1/messages/batches', '{"requests":[]}', an],
  ['POST', 'https://api.anthropic.com/api/event_logging/v2/batch', '{"events":[]}', an],
  ['POST', 'https://api.anthropic.com/api/event_logging/v2/other', '{"events":[]}', an],
  ['GET', 'https://api.anthropic.com/v1/files', undefined, an],
  ['POST', 'https://api.anthropic.com/v1/messages', msg('claude-sonnet-4'), { 'x-api-key': env.OPENAI_API_KEY! }],
  // inference.local, answered by the router alone; and a backend's own address, an LLM host too.
  ['POST', 'http://inference.local/api/chat', JSON.stringify({ model: 'llama3', messages: [{ role: 'user', content: 'x' }] })],
  ['GET', 'http://inference.local/api/tags'],
  ['POST', 'http://inference.local/api/pull', '{"model":"llama3"}'],
  ['POST', 'http://inference.local/v1/chat/completions', chat('gpt-4o')],
  ['POST', 'http://inference.local/api/chat', JSON.stringify({ model: 'forbidden-2', messages: [] })],
  ['POST', 'http://inference.local:11434/api/chat', JSON.stringify({ model: 'llama3', messages: [{ role: 'user', content: 'x' }] })],
  ['GET', 'https://inference.local/api/tags'],
  ['POST', `http://127.0.0.1:${O}/api/chat`, JSON.stringify({ model: 'llama3', messages: [] })],
];

interface Verdict {
  outcome: 'forward' | 'answer' | 'refuse';
  code: string;
}

/** What the live proxy did, from its own events: a refused CONNECT, or the request's decision and who answered. */
function liveVerdict(events: SluiceEvent[]): Verdict | undefined {
  const refused = events.find((e) => e.type === 'connect' && e.decision.action === 'deny');
  if (refused?.type === 'connect') return { outcome: 'refuse', code: refused.decision.code };
  const req = events.find((e) => e.type === 'request');
  if (req?.type === 'request') {
    if (req.decision.action === 'deny') return { outcome: 'refuse', code: req.decision.code };
    const answered = events.some((e) => e.type === 'llm_call' && e.action === 'route');
    return { outcome: answered ? 'answer' : 'forward', code: req.decision.code };
  }
  const tunnel = events.find((e) => e.type === 'connect' && e.mode === 'tunnel');
  if (tunnel?.type === 'connect') return { outcome: 'forward', code: tunnel.decision.code };
  return undefined;
}

t.test(`explain and the live proxy agree on ${ROWS.length} requests`, async (t) => {
  t.ok(ROWS.length >= 60, 'at least 60 rows');
  const seen = new Map<string, number>();
  for (const [method, url, body, headers] of ROWS) {
    const events: SluiceEvent[] = [];
    let settle: () => void = () => undefined;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    const off = sluice.bus.on((e) => {
      events.push(e);
      if (e.type === 'request' || (e.type === 'connect' && (e.decision.action === 'deny' || e.mode === 'tunnel'))) settle();
    });
    let status: number | undefined;
    try {
      const res = await request(url, { dispatcher: agent, method: method as 'GET', headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body } : {}) });
      status = res.statusCode;
      await res.body.text();
    } catch (err) {
      // A refused CONNECT surfaces in undici as an error; its event says why.
      t.comment(`${method} ${url}: ${(err as Error).message}`);
    }
    // Bounded: a row whose decision never reaches the audit is a failure, not a hung suite.
    let timer: NodeJS.Timeout | undefined;
    const late = await Promise.race([settled.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), 15_000)))]);
    clearTimeout(timer);
    off();
    if (late) t.fail(`${method} ${url}: no decision event from the live proxy (status ${String(status)}, events ${events.map((e) => e.type).join(',')})`);
    const live = liveVerdict(events);
    const explained = await explain({ home: sluice.home, policyFile: sluice.policyFile, method, url, ...(body !== undefined ? { body } : {}), headers: headers ?? {}, resolve, env: {} });
    const mine: Verdict = { outcome: explained.outcome, code: explained.decision.code };
    t.same(mine, live, `${method} ${url}${body ? ` ${body.slice(0, 40)}` : ''}: explain says ${mine.outcome} ${mine.code}${mine.outcome === 'refuse' ? '' : ''}; live ${live?.outcome ?? '?'} ${live?.code ?? ''}`);
    if (explained.outcome === 'refuse' && status !== undefined) t.equal(status, explained.status, `${method} ${url}: the status explain names is the one the client got`);
    const key = `${mine.outcome} ${mine.code}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  t.comment(`verdicts: ${[...seen].map(([k, n]) => `${k} ×${n}`).join(', ')}`);
  for (const code of ['l7_denied', 'policy_denied', 'path_invalid', 'dlp_blocked', 'credential_endpoint_mismatch', 'ssrf_denied', 'llm_unrecognised', 'route_denied', 'bad_request']) {
    t.ok([...seen.keys()].includes(`refuse ${code}`), `the table exercises ${code}`);
  }
  t.ok([...seen.keys()].some((k) => k.startsWith('answer')), 'and answers from a backend');
  t.ok([...seen.keys()].some((k) => k.startsWith('forward')), 'and forwarded requests');
});
