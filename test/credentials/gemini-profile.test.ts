import t from 'tap';
import { harness, makeCtx, runHeaders } from './context.js';

// The built-in Gemini profile: a key-shaped placeholder under GEMINI_API_KEY,
// replaced in x-goog-api-key or a ?key= query toward generativelanguage.googleapis.com only; and
// Codex's CODEX_API_KEY under the OpenAI profile.

const GEMINI_KEY = 'AIzaSyR3alG00gleKeyValue_0123456789abc';
const OPENAI_KEY = `sk-proj-${'R3alOpenAI'.repeat(15)}Zz9_-Q`;

t.test('gemini: header and query, only on its host', async (t) => {
  const h = await harness({ gemini: { from: 'env:GEMINI_KEY' }, openai: { from: 'env:OPENAI_KEY' } }, { GEMINI_KEY, OPENAI_KEY });
  t.teardown(h.cleanup);
  const env = h.creds.envFor('default');
  t.match(env.GEMINI_API_KEY, /^AIza[A-Za-z0-9_-]{35}$/, 'shaped like a Google API key, so SDKs accept it');
  t.equal(env.CODEX_API_KEY, env.OPENAI_API_KEY, 'Codex gets the OpenAI placeholder under the name it reads');

  const host = 'generativelanguage.googleapis.com';
  const header = makeCtx(h.bus, { host, path: '/v1beta/models/gemini-x:generateContent', headers: { 'x-goog-api-key': env.GEMINI_API_KEY } });
  t.equal(await runHeaders(h.creds, header), undefined);
  t.equal(header.headers['x-goog-api-key'], GEMINI_KEY);

  const query = makeCtx(h.bus, { host, path: '/v1beta/models', query: `key=${env.GEMINI_API_KEY}&pageSize=5` });
  t.equal(await runHeaders(h.creds, query), undefined);
  t.equal(query.query, `key=${GEMINI_KEY}&pageSize=5`);

  const elsewhere = makeCtx(h.bus, { host: 'api.github.com', path: '/x', headers: { 'x-goog-api-key': env.GEMINI_API_KEY } });
  t.match(await runHeaders(h.creds, elsewhere), { code: 'SLUICE_CREDENTIAL_MISMATCH' });
});
