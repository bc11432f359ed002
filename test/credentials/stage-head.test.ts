import t from 'tap';
import type { Test } from 'tap';
import { harness, makeCtx, runHeaders, leakedSecrets, SECRETS, ALL_PROVIDERS } from './context.js';
import type { Harness } from './context.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

async function setup(t: Test, config = ALL_PROVIDERS): Promise<Harness> {
  const h = await harness(config);
  t.teardown(h.cleanup);
  return h;
}

t.test('Bearer and x-api-key placeholders become the real keys on their own hosts', async (t) => {
  const h = await setup(t);
  const env = h.creds.envFor('sb1');
  const openai = makeCtx(h.bus, { sandbox: 'sb1', headers: { authorization: `Bearer ${env.OPENAI_API_KEY}`, 'content-type': 'application/json' } });
  t.equal(await runHeaders(h.creds, openai), undefined);
  t.equal(openai.headers.authorization, `Bearer ${SECRETS.OPENAI_API_KEY}`);
  t.equal(openai.headers['content-type'], 'application/json', 'other headers untouched');
  t.equal(openai.headers['accept-encoding'], 'identity', 'responses from a host holding the real value come uncompressed, so echoes can be scrubbed');

  const anthropic = makeCtx(h.bus, { sandbox: 'sb1', host: 'api.anthropic.com', path: '/v1/messages', headers: { 'x-api-key': env.ANTHROPIC_API_KEY } });
  t.equal(await runHeaders(h.creds, anthropic), undefined);
  t.equal(anthropic.headers['x-api-key'], SECRETS.ANTHROPIC_API_KEY);

  const bearer = makeCtx(h.bus, { sandbox: 'sb1', host: 'api.anthropic.com', path: '/v1/messages', headers: { authorization: `Bearer ${env.ANTHROPIC_API_KEY}` } });
  t.equal(await runHeaders(h.creds, bearer), undefined);
  t.equal(bearer.headers.authorization, `Bearer ${SECRETS.ANTHROPIC_API_KEY}`, 'Anthropic via Authorization: Bearer too');

  const custom = makeCtx(h.bus, { sandbox: 'sb1', host: 'huggingface.co', path: '/api/whoami-v2', headers: { authorization: `Bearer ${env.HF_TOKEN}`, cookie: 'other=1' } });
  t.equal(await runHeaders(h.creds, custom), undefined);
  t.equal(custom.headers.authorization, `Bearer ${SECRETS.HF_TOKEN}`, 'at its injection point');

  const dflt = makeCtx(h.bus, { headers: { authorization: `Bearer ${h.creds.envFor('default').OPENAI_API_KEY}` } });
  t.equal(await runHeaders(h.creds, dflt), undefined);
  t.equal(dflt.headers.authorization, `Bearer ${SECRETS.OPENAI_API_KEY}`, 'no sandbox means "default"');

  const each: [string, string, string][] = [
    ['nvidia', 'integrate.api.nvidia.com', 'NVIDIA_API_KEY'],
    ['nvidia', 'build.nvidia.com', 'NVIDIA_API_KEY'],
    ['github', 'api.github.com', 'GITHUB_TOKEN'],
    ['github', 'raw.githubusercontent.com', 'GITHUB_TOKEN'],
    ['gitlab', 'gitlab.com', 'GITLAB_TOKEN'],
    ['huggingface', 'hf.co', 'HF_TOKEN'],
    ['npm', 'registry.npmjs.org', 'NPM_TOKEN'],
  ];
  for (const [name, host, envName] of each) {
    const ctx = makeCtx(h.bus, { sandbox: 'sb1', host, path: '/x', headers: { authorization: `Bearer ${env[envName]}` } });
    t.equal(await runHeaders(h.creds, ctx), undefined, `${name} @ ${host}`);
    t.equal(ctx.headers.authorization, `Bearer ${(SECRETS as Record<string, string>)[envName]}`, `${name} @ ${host} injected`);
  }
});

t.test('Basic auth is decoded, replaced and re-encoded (git over HTTPS)', async (t) => {
  const h = await setup(t);
  const token = h.creds.envFor('sb1').GITHUB_TOKEN;
  const ctx = makeCtx(h.bus, { sandbox: 'sb1', host: 'github.com', path: '/o/r.git/info/refs', headers: { authorization: `Basic ${b64(`x-access-token:${token}`)}` } });
  t.equal(await runHeaders(h.creds, ctx), undefined);
  t.equal(ctx.headers.authorization, `Basic ${b64(`x-access-token:${SECRETS.GITHUB_TOKEN}`)}`);
});

t.test('query values and path segments', async (t) => {
  const h = await setup(t, {
    google: { from: 'env:INTERNAL_TOKEN', hosts: ['gen.example'], inject: { query: 'key' }, placeholder: { prefix: 'AIza', length: 35, alphabet: 'base64url' } },
    bot: { from: 'env:GITHUB_TOKEN', endpoints: [{ host: 'bot.example', path: '/bot*/**' }], inject: { path: true } },
  });
  const env = h.creds.envFor('sb');
  const q = makeCtx(h.bus, { sandbox: 'sb', host: 'gen.example', path: '/v1/models', query: `alt=json&key=${env.GOOGLE_KEY ?? env.INTERNAL_TOKEN}&x=a%20b` });
  t.equal(await runHeaders(h.creds, q), undefined);
  t.equal(q.query, `alt=json&key=${encodeURIComponent(SECRETS.INTERNAL_TOKEN)}&x=a%20b`, 'replaced, URL-encoded, the rest kept verbatim');

  // A client that percent-encoded part of the placeholder: decoded, replaced, re-encoded.
  const placeholder = env.INTERNAL_TOKEN!;
  const encoded = placeholder.split('').map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('');
  const q2 = makeCtx(h.bus, { sandbox: 'sb', host: 'gen.example', path: '/v1/models', query: `key=${encoded}` });
  t.equal(await runHeaders(h.creds, q2), undefined);
  t.equal(q2.query, `key=${encodeURIComponent(SECRETS.INTERNAL_TOKEN)}`);

  const p = makeCtx(h.bus, { sandbox: 'sb', host: 'bot.example', path: `/bot${env.GITHUB_TOKEN}/sendMessage` });
  t.equal(await runHeaders(h.creds, p), undefined);
  t.equal(p.upstreamPath, `/bot${SECRETS.GITHUB_TOKEN}/sendMessage`);
  t.equal(p.classification.path, `/bot${env.GITHUB_TOKEN}/sendMessage`, 'policy path untouched');
});

t.test('a placeholder outside its endpoints: 403 credential_endpoint_mismatch and a finding', async (t) => {
  const h = await setup(t, { ...ALL_PROVIDERS, scoped: { from: 'env:INTERNAL_TOKEN', endpoints: [{ host: '*.corp.example', port: 8443, path: '/api/**' }, { host: 'plain.corp.example', port: 8080, allow_cleartext: true }], inject: { header: 'x-token' } } });
  const env = h.creds.envFor('sb');
  const cases: [string, Parameters<typeof makeCtx>[1]][] = [
    ['plain HTTP to an endpoint without allow_cleartext', { host: 'a.corp.example', port: 8443, scheme: 'http', path: '/api/x', headers: { 'x-token': env.INTERNAL_TOKEN } }],
    ['plain HTTP to api.openai.com', { host: 'api.openai.com', port: 443, scheme: 'http', headers: { authorization: `Bearer ${env.OPENAI_API_KEY}` } }],
    ['other host', { host: 'api.anthropic.com', headers: { authorization: `Bearer ${env.OPENAI_API_KEY}` } }],
    ['look-alike host', { host: 'api.openai.com.evil.example', headers: { authorization: `Bearer ${env.OPENAI_API_KEY}` } }],
    ['other port', { host: 'api.openai.com', port: 8443, headers: { authorization: `Bearer ${env.OPENAI_API_KEY}` } }],
    ['plain http', { host: 'api.openai.com', port: 443, scheme: 'http', headers: { authorization: `Bearer ${env.OPENAI_API_KEY}` } }],
    ['path outside the glob', { host: 'a.corp.example', port: 8443, path: '/admin/x', headers: { 'x-token': env.INTERNAL_TOKEN } }],
    ['host glob is one label', { host: 'a.b.corp.example', port: 8443, path: '/api/x', headers: { 'x-token': env.INTERNAL_TOKEN } }],
    ['in the query', { host: 'paste.example', query: `k=${env.GITHUB_TOKEN}` }],
    ['in the path', { host: 'paste.example', path: `/p/${env.NPM_TOKEN}` }],
    ['in Basic auth', { host: 'gitlab.example', headers: { authorization: `Basic ${b64(`u:${env.GITLAB_TOKEN}`)}` } }],
  ];
  for (const [name, init] of cases) {
    h.events.length = 0;
    const ctx = makeCtx(h.bus, { sandbox: 'sb', ...init });
    const before = JSON.stringify(ctx.headers);
    const err = await runHeaders(h.creds, ctx);
    t.equal(err?.code, 'SLUICE_CREDENTIAL_MISMATCH', name);
    t.equal(err?.wire, 'credential_endpoint_mismatch', name);
    t.equal(JSON.stringify(ctx.headers), before, `${name}: request not rewritten`);
    const finding = h.events.find((e) => e.type === 'finding');
    t.match(finding, { kind: 'credential_endpoint_mismatch', action: 'blocked' }, `${name}: finding`);
    t.equal((finding as { subjects: string[] }).subjects.length, 1, `${name}: names the provider`);
  }
  const ok = makeCtx(h.bus, { sandbox: 'sb', host: 'a.corp.example', port: 8443, path: '/api/v1/x', headers: { 'x-token': env.INTERNAL_TOKEN } });
  t.equal(await runHeaders(h.creds, ok), undefined, 'inside the glob');
  t.equal(ok.headers['x-token'], SECRETS.INTERNAL_TOKEN);
  const clear = makeCtx(h.bus, { sandbox: 'sb', host: 'plain.corp.example', port: 8080, scheme: 'http', path: '/x', headers: { 'x-token': env.INTERNAL_TOKEN } });
  t.equal(await runHeaders(h.creds, clear), undefined, 'plain HTTP only where the endpoint says allow_cleartext');
  t.equal(clear.headers['x-token'], SECRETS.INTERNAL_TOKEN);
  const refused = makeCtx(h.bus, { sandbox: 'sb', host: 'a.corp.example', port: 8443, scheme: 'http', path: '/api/v1/x', headers: { 'x-token': env.INTERNAL_TOKEN } });
  t.match(await runHeaders(h.creds, refused), { wire: 'credential_endpoint_mismatch', message: /plain HTTP.*allow_cleartext/ }, 'the refusal says how to allow it');
});

t.test('a placeholder on its own endpoint but outside its injection point is refused', async (t) => {
  const h = await setup(t, {
    ...ALL_PROVIDERS,
    google: { from: 'env:INTERNAL_TOKEN', hosts: ['gen.example'], inject: { query: 'key' }, placeholder: { prefix: 'AIza', length: 35, alphabet: 'base64url' } },
  });
  const env = h.creds.envFor('sb');
  const cases: [string, Parameters<typeof makeCtx>[1]][] = [
    ['OpenAI key in a cookie', { headers: { cookie: `token=${env.OPENAI_API_KEY}` } }],
    ['OpenAI key in x-api-key', { headers: { 'x-api-key': env.OPENAI_API_KEY } }],
    ['OpenAI key in a query value', { query: `key=${env.OPENAI_API_KEY}` }],
    ['OpenAI key in a path segment', { path: `/v1/${env.OPENAI_API_KEY}/models` }],
    ['GitHub token in x-github-token', { host: 'api.github.com', headers: { 'x-github-token': env.GITHUB_TOKEN } }],
    ['HF token in a cookie', { host: 'huggingface.co', headers: { cookie: `token=${env.HF_TOKEN}; other=1` } }],
    ['query-injected key in another parameter', { host: 'gen.example', query: `alt=${env.INTERNAL_TOKEN}` }],
    ['query-injected key in a header', { host: 'gen.example', headers: { authorization: `Bearer ${env.INTERNAL_TOKEN}` } }],
  ];
  for (const [name, init] of cases) {
    h.events.length = 0;
    const ctx = makeCtx(h.bus, { sandbox: 'sb', ...init });
    const before = JSON.stringify([ctx.headers, ctx.query, ctx.classification.path]);
    const err = await runHeaders(h.creds, ctx);
    t.equal(err?.code, 'SLUICE_CREDENTIAL_MISMATCH', name);
    t.match(err?.message, /is injected only in/, `${name}: says where it goes`);
    t.equal(JSON.stringify([ctx.headers, ctx.query, ctx.classification.path]), before, `${name}: nothing replaced`);
    t.equal(ctx.upstreamPath, undefined);
  }
});

t.test('unknown, foreign and revoked placeholders are refused; look-alikes pass untouched', async (t) => {
  const h = await setup(t);
  const other = h.creds.envFor('sb-other').OPENAI_API_KEY!;
  const ctx = makeCtx(h.bus, { sandbox: 'sb', headers: { authorization: `Bearer ${other}` } });
  const err = await runHeaders(h.creds, ctx);
  t.equal(err?.code, 'SLUICE_CREDENTIAL_UNKNOWN', "another sandbox's placeholder");
  t.match(h.events.at(-1), { type: 'finding', kind: 'credential_unknown' });

  const gh = h.creds.envFor('sb').GITHUB_TOKEN!;
  await h.creds.reload({ openai: { from: 'env:OPENAI_API_KEY' } });
  const revoked = makeCtx(h.bus, { sandbox: 'sb', host: 'api.github.com', headers: { authorization: `token ${gh}` } });
  t.equal((await runHeaders(h.creds, revoked))?.code, 'SLUICE_CREDENTIAL_UNKNOWN', 'provider removed: its placeholders are revoked');

  const lookalike = `sk-proj-${'x'.repeat(156)}`;
  const pass = makeCtx(h.bus, { sandbox: 'sb', headers: { authorization: `Bearer ${lookalike}` } });
  t.equal(await runHeaders(h.creds, pass), undefined, 'a key-shaped string that is not ours');
  t.equal(pass.headers.authorization, `Bearer ${lookalike}`);
});

t.test('injection only where the network policy lets the request go', async (t) => {
  const h = await setup(t);
  const env = h.creds.envFor('sb');
  const pending = makeCtx(h.bus, { sandbox: 'sb', headers: { authorization: `Bearer ${env.OPENAI_API_KEY}` } });
  delete pending.decision;
  delete pending.network;
  t.equal(await runHeaders(h.creds, pending), undefined);
  t.equal(pending.headers.authorization, `Bearer ${env.OPENAI_API_KEY}`, 'no network verdict: nothing injected');
  const blocked = makeCtx(h.bus, { sandbox: 'sb', headers: { authorization: `Bearer ${env.OPENAI_API_KEY}` } });
  delete blocked.decision;
  blocked.network = { action: 'deny', code: 'l7_denied', reason: 'x' };
  t.equal(await runHeaders(h.creds, blocked), undefined);
  t.equal(blocked.headers.authorization, `Bearer ${env.OPENAI_API_KEY}`, 'the network policy would not send it: nothing injected');
  const denied = makeCtx(h.bus, { sandbox: 'sb', host: 'evil.example', headers: { authorization: `Bearer ${env.OPENAI_API_KEY}` } });
  denied.decision = { action: 'deny', code: 'policy_denied', reason: 'x' };
  t.equal(await runHeaders(h.creds, denied), undefined, 'denied requests are not touched');
  t.same(denied.requestFilters, []);
});

t.test('the real value in any spelling, to any host, is blocked', async (t) => {
  const h = await setup(t);
  const s = SECRETS.OPENAI_API_KEY;
  const spellings: [string, string][] = [
    ['raw', s],
    ['url-encoded', encodeURIComponent(s)],
    ['hex', Buffer.from(s).toString('hex')],
    ['HEX', Buffer.from(s).toString('hex').toUpperCase()],
    ['base64', b64(s)],
    ['base64 offset 1', b64(`x${s}`)],
    ['base64 offset 2', b64(`xy${s}`)],
    ['base64url offset 1', Buffer.from(`?${s}>>`).toString('base64url')],
  ];
  for (const host of ['api.openai.com', 'evil.example']) {
    for (const [name, value] of spellings) {
      for (const place of ['header', 'query', 'path', 'basic']) {
        h.events.length = 0;
        const init = place === 'header' ? { headers: { 'x-data': `v=${value}` } }
          : place === 'query' ? { query: `a=1&d=${value}` }
            : place === 'path' ? { path: `/u/${value}/x` }
              : { headers: { authorization: `Basic ${b64(`user:${value}`)}` } };
        const ctx = makeCtx(h.bus, { host, ...init });
        const err = await runHeaders(h.creds, ctx);
        t.equal(err?.code, 'SLUICE_SECRET_EXFILTRATION', `${name} in ${place} to ${host}`);
        t.match(h.events.at(-1), { type: 'finding', kind: 'secret_exfiltration', subjects: ['openai'], action: 'blocked' });
      }
    }
  }
  const inName = makeCtx(h.bus, { host: 'evil.example', headers: { [`x-${SECRETS.GITHUB_TOKEN}`]: '1' } });
  t.equal((await runHeaders(h.creds, inName))?.code, 'SLUICE_SECRET_EXFILTRATION', 'in a header name');
  const urlQuery = makeCtx(h.bus, { host: 'evil.example', query: `d=${encodeURIComponent(SECRETS.INTERNAL_TOKEN)}` });
  t.equal(await runHeaders(h.creds, urlQuery), undefined, 'INTERNAL_TOKEN is not configured here: not a known secret');
});

t.test('nothing Sluice says contains a secret', async (t) => {
  const h = await setup(t, { ...ALL_PROVIDERS, internal: { from: 'env:INTERNAL_TOKEN', hosts: ['i.example'] } });
  const env = h.creds.envFor('sb');
  const said: string[] = [];
  const attempts: Parameters<typeof makeCtx>[1][] = [];
  for (const secret of Object.values(SECRETS)) {
    attempts.push({ host: 'evil.example', headers: { authorization: `Bearer ${secret}` } });
    attempts.push({ host: 'evil.example', headers: { [`x-${secret}`]: '1' } });
    attempts.push({ host: 'evil.example', query: `${encodeURIComponent(secret)}=1` });
    attempts.push({ host: 'evil.example', path: `/${encodeURIComponent(secret)}` });
    attempts.push({ host: 'evil.example', sandbox: secret.replace(/[^A-Za-z0-9]/g, '').slice(0, 60), headers: { a: `Bearer ${env.OPENAI_API_KEY}` } });
  }
  for (const p of Object.values(env)) attempts.push({ host: 'evil.example', path: `/${p}`, headers: { 'x-k': p } });
  for (const init of attempts) {
    const err = await runHeaders(h.creds, makeCtx(h.bus, init));
    t.ok(err, 'refused');
    said.push(JSON.stringify(err));
  }
  said.push(JSON.stringify(h.events));
  t.same(leakedSecrets(said.join('\n')), [], 'no secret in errors or events');
  t.ok(h.events.length >= attempts.length);
});
