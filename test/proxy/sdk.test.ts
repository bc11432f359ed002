import t from 'tap';
import OpenAI from 'openai';
import { ProxyAgent, fetch as undiciFetch } from 'undici';
import { createTestCA } from '../helpers/tls.js';
import { startUpstream } from '../helpers/upstream.js';
import { startTestSluice } from '../helpers/sluice.js';

t.test('the openai SDK reaches an allowed OpenAI-compatible upstream through Sluice; a denied path gets the 403 JSON', async (t) => {
  const ca = await createTestCA();
  const up = await startUpstream({
    cert: await ca.issue(['llm.example.test']),
    handler: (req, res, body) => {
      const request = JSON.parse(body.toString() || '{}') as { model?: string };
      const payload = JSON.stringify({
        id: 'chatcmpl-1',
        object: 'chat.completion',
        created: 1,
        model: request.model,
        choices: [{ index: 0, message: { role: 'assistant', content: `you called ${req.url}` }, finish_reason: 'stop', logprobs: null }],
        usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(payload);
    },
  });
  const sluice = await startTestSluice(
    `
version: 1
network_policies:
  llm:
    endpoints:
      - host: llm.example.test
        port: ${up.port}
        protocol: rest
        rules:
          - allow: { method: POST, path: "/v1/chat/completions" }
`,
    { upstreamCA: [ca.caPem], resolve: { 'llm.example.test': '127.0.0.1' } },
  );
  const dispatcher = new ProxyAgent({ uri: sluice.url, requestTls: { ca: sluice.caCertPem } });
  t.teardown(async () => {
    await dispatcher.close();
    await sluice.close();
    await up.close();
  });
  const client = new OpenAI({
    apiKey: 'sk-test',
    baseURL: `https://llm.example.test:${up.port}/v1`,
    fetch: undiciFetch as unknown as typeof fetch,
    fetchOptions: { dispatcher } as never,
    maxRetries: 0,
  });
  const completion = await client.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] });
  t.equal(completion.choices[0]?.message.content, 'you called /v1/chat/completions');
  t.equal(up.requests[0]?.headers.authorization, 'Bearer sk-test');
  const err = await client.models.list().then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof OpenAI.APIError, 'the SDK surfaces the refusal as an API error');
  const apiErr = err as InstanceType<typeof OpenAI.APIError>;
  t.equal(apiErr.status, 403);
  t.equal(apiErr.headers?.get('x-sluice-error'), 'l7_denied');
});
