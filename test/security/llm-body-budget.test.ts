import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ProxyAgent, request } from 'undici';
import { createFakeOpenAI } from '../fakes/index.js';
import type { FakeBackend } from '../fakes/index.js';
import { listeningUrl } from '../cli/spawn.js';
import { tempDir } from '../helpers/sluice.js';

/**
 * Issue 16 item 5: many large LLM bodies at once. Each may be 32 MiB; without a process-wide
 * budget, 40 concurrent 30 MB bodies took Sluice's RSS past 900 MB. Sluice runs here as its own
 * process (`sluice up`, default limits) so that its RSS is its own, sampled while 40 clients each
 * send a 30 MB chat request that is redacted and routed. RSS must stay under 512 MB; the requests
 * the budget cannot take are refused with 503, Retry-After, in the OpenAI error shape.
 */
t.setTimeout(600_000);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLIENTS = 40;
const BODY_MB = 30;
const RSS_LIMIT_MB = 512;

let fake: FakeBackend;
let home: string;
let child: ReturnType<typeof spawn>;
let url: string;

t.before(async () => {
  fake = await createFakeOpenAI({});
  home = tempDir('sluice-budget-');
  fs.writeFileSync(path.join(home, 'policy.yaml'), `version: 1
network_policies: {}
inference:
  backends:
    cloud: { type: openai, url: "${fake.url}/v1" }
  routes:
    - { match: {}, backend: cloud }
privacy:
  redact: all
  mode: pseudonymize
`);
  child = spawn(process.execPath, [path.join(root, 'bin', 'sluice'), 'up', '--policy', path.join(home, 'policy.yaml'), '--home', home, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  // Even if this test is cut short by its timeout, the Sluice it started does not outlive it.
  process.once('exit', () => child.kill('SIGKILL'));
  url = (await listeningUrl(child)).url;
});

t.teardown(async () => {
  child?.kill('SIGTERM');
  await fake?.close();
  fs.rmSync(home, { recursive: true, force: true });
});

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

t.test(`${CLIENTS} concurrent ${BODY_MB} MB LLM bodies keep RSS under ${RSS_LIMIT_MB} MB`, async (t) => {
  // Prose with an address every kilobyte: redacted for real, a pseudonym per value.
  const paragraph = `${'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt. '.repeat(10)}Write to alice@example.com. `;
  const content = paragraph.repeat(Math.ceil((BODY_MB * 1e6) / paragraph.length)).slice(0, BODY_MB * 1e6);
  const body = Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] }));
  const ca = fs.readFileSync(path.join(home, 'ca', 'sluice-ca.pem'), 'utf8');
  const agent = new ProxyAgent({ uri: url, requestTls: { ca }, connections: CLIENTS });
  t.teardown(() => agent.close());

  const before = rssMb(child.pid!);
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(child.pid!))), 20);
  const outcomes = await Promise.all(Array.from({ length: CLIENTS }, async () => {
    try {
      const res = await request('https://api.openai.com/v1/chat/completions', {
        dispatcher: agent, method: 'POST', body, headersTimeout: 300_000, bodyTimeout: 300_000,
        headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test' },
      });
      const text = await res.body.text();
      return { status: res.statusCode, retryAfter: res.headers['retry-after'], text };
    } catch (err) {
      return { status: 0, error: (err as NodeJS.ErrnoException).code ?? (err as Error).message, text: '' };
    }
  }));
  clearInterval(sampler);
  peak = Math.max(peak, rssMb(child.pid!));
  const count = (s: number) => outcomes.filter((o) => o.status === s).length;
  t.comment(`RSS ${before.toFixed(0)} MB before, ${peak.toFixed(0)} MB at peak; ${count(200)} answered, ${count(503)} refused, ${count(0)} cut`);
  t.ok(peak < RSS_LIMIT_MB, `peak RSS ${peak.toFixed(0)} MB under ${RSS_LIMIT_MB} MB`);
  t.ok(count(200) >= 1, 'the budget admits what fits');
  t.ok(count(503) >= 1, 'and refuses the rest');
  const refused = outcomes.find((o) => o.status === 503)!;
  t.equal(refused.retryAfter, '2', 'with Retry-After');
  t.match(JSON.parse(refused.text), { error: { type: String, message: /overloaded|budget/ } }, 'in the OpenAI error shape the SDK reads');
  // Refused mid-body, a client still writing must read its 503, not a reset (27 of 40 were cut before the drain).
  t.equal(count(0), 0, `no client is cut: ${outcomes.filter((o) => o.status === 0).map((o) => o.error).join(', ')}`);
  t.equal(count(200) + count(503), CLIENTS);
});
