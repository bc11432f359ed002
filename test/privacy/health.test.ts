import http from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import type { Test } from 'tap';
import { createBackend } from '../../privacy/backend.js';
import { createHealthMonitor } from '../../privacy/health.js';

// The health check is a plain node:http GET (privacy/health.ts): these are its contracts.
async function serve(t: Test, answer: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<{ url: string; seen: http.IncomingMessage[] }> {
  const seen: http.IncomingMessage[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req);
    answer(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

t.test("an Ollama backend is checked with GET /api/tags under its base path, with its configured credential", async (t) => {
  const up = await serve(t, (_req, res) => res.end(JSON.stringify({ models: [{ name: 'llama3.2:3b' }, { model: 'qwen3:8b' }] })));
  const backend = createBackend('local', { type: 'ollama', url: `${up.url}/base`, credential: 'ollama-key' });
  const monitor = createHealthMonitor([backend], { headersFor: (p) => ({ authorization: `Bearer secret-for-${p}` }) }, 0);
  t.same(await monitor.models(backend), ['llama3.2:3b', 'qwen3:8b']);
  t.equal(up.seen[0]?.method, 'GET');
  t.equal(up.seen[0]?.url, '/base/api/tags');
  t.equal(up.seen[0]?.headers.authorization, 'Bearer secret-for-ollama-key');
  t.same(monitor.snapshot().local?.healthy, true);
  await monitor.close();
});

t.test('an OpenAI-compatible backend is checked with GET /v1/models; an error status is unhealthy', async (t) => {
  let status = 200;
  const up = await serve(t, (_req, res) => {
    res.statusCode = status;
    res.end(JSON.stringify({ data: [{ id: 'model-a' }] }));
  });
  const backend = createBackend('nim', { type: 'openai-compatible', url: `${up.url}/v1` });
  const monitor = createHealthMonitor([backend], undefined, 0);
  t.same(await monitor.models(backend), ['model-a']);
  t.equal(up.seen[0]?.url, '/v1/models');
  status = 503;
  t.same(await monitor.models(backend), ['model-a'], 'the last good list is kept');
  t.equal(monitor.snapshot().nim?.healthy, false);
  t.match(monitor.snapshot().nim?.error, /answered 503/);
  await monitor.close();
});

t.test('a backend answering an endless model list is refused, not buffered', async (t) => {
  const up = await serve(t, (_req, res) => {
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    const pump = () => {
      while (sent < 64 * 1024 * 1024 && res.write(chunk)) sent += chunk.length;
      if (sent < 64 * 1024 * 1024) res.once('drain', pump);
      else res.end();
    };
    res.on('error', () => undefined);
    pump();
  });
  const backend = createBackend('big', { type: 'ollama', url: up.url });
  const monitor = createHealthMonitor([backend], undefined, 0);
  await t.rejects(monitor.models(backend), /more than 4194304 bytes/);
  t.equal(monitor.snapshot().big?.healthy, false);
  await monitor.close();
});
