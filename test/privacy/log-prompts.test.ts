import t from 'tap';
import type { Test } from 'tap';
import OpenAI from 'openai';
import { ProxyAgent, fetch as undiciFetch } from 'undici';
import { startTestSluice } from '../helpers/sluice.js';
import { createFakeOpenAI } from '../fakes/index.js';

// inference.log_prompts: the prompt text reaches the audit log only when asked, and only redacted.
const EMAIL = 'jane.doe@example.com';

async function loggedPrompts(t: Test, opts: { logPrompts: boolean; privacy: boolean }): Promise<Array<string | undefined>> {
  const fake = await createFakeOpenAI({ reply: { text: 'ok' } });
  const sluice = await startTestSluice(
    `version: 1
network_policies: {}
inference:
  backends: { local: { type: openai-compatible, url: "${fake.url}/v1" } }
  routes: [{ match: {}, backend: local }]
  log_prompts: ${opts.logPrompts}
${opts.privacy ? 'privacy: { redact: all }\n' : ''}`,
    { resolve: { 'api.openai.com': '127.0.0.1' }, healthIntervalMs: 0 },
  );
  const dispatcher = new ProxyAgent({ uri: sluice.url, requestTls: { ca: sluice.caCertPem } });
  t.teardown(async () => {
    await dispatcher.close();
    await sluice.close();
    await fake.close();
  });
  const client = new OpenAI({ apiKey: 'sk-x', maxRetries: 0, fetch: undiciFetch as unknown as typeof fetch, fetchOptions: { dispatcher } as never });
  await client.chat.completions.create({ model: 'm', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: `Mail ${EMAIL} please` }] });
  t.match(JSON.stringify(fake.requests.at(-1)!.body), EMAIL, 'a local backend gets the original text');
  const events = await sluice.readAudit();
  t.notMatch(JSON.stringify(events), EMAIL, 'the original never reaches the audit log');
  return events.flatMap((e) => {
    const llm = (e.unmapped as { llm?: { prompt?: string } } | undefined)?.llm;
    return llm ? [llm.prompt] : [];
  });
}

t.test('log_prompts with privacy: the redacted prompt is in the audit event', async (t) => {
  const prompts = await loggedPrompts(t, { logPrompts: true, privacy: true });
  t.equal(prompts.length, 1);
  t.match(prompts[0], /Be brief\.\nMail <EMAIL_1> please/);
});

t.test('without log_prompts, or without redaction, no prompt text is logged', async (t) => {
  t.same(await loggedPrompts(t, { logPrompts: false, privacy: true }), [undefined]);
  t.same(await loggedPrompts(t, { logPrompts: true, privacy: false }), [undefined]);
});
