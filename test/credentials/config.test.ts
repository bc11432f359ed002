import t from 'tap';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { providersSchema } from '../../credentials/index.js';
import { harness, leakedSecrets, SECRETS, ALL_PROVIDERS } from './context.js';

t.test('schema accepts the documented forms', async (t) => {
  const ok = providersSchema.safeParse({
    openai: { from: 'env:OPENAI_API_KEY' },
    anthropic: { from: 'file:/run/secrets/anthropic' },
    github: { from: 'env:GITHUB_TOKEN', hosts: ['api.github.com'] },
    internal: {
      from: 'env:INTERNAL_TOKEN',
      endpoints: [{ host: '*.corp.example', port: 8443, path: '/api/**' }, { host: 'x.corp.example', ports: [80, 8080] }],
      inject: { basic: { user: 'ci', password: '{}' } },
      env: 'INTERNAL_TOKEN',
      placeholder: { prefix: 'itk_', length: 40 },
      body: true,
    },
    google: { from: 'env:GOOGLE_KEY', hosts: ['generativelanguage.googleapis.com'], inject: { query: 'key' } },
    xapi: { from: 'env:X', hosts: ['x.example'], inject: { header: 'x-api-key' } },
  });
  t.ok(ok.success, ok.success ? 'valid' : JSON.stringify(ok.error.issues));
});

t.test('schema rejects nonsense with a path and a reason', async (t) => {
  const cases: [string, unknown, RegExp][] = [
    ['bad source', { openai: { from: 'vault:x' } }, /env:VAR or file:PATH/],
    ['unknown key', { openai: { from: 'env:A', hots: ['x'] } }, /hots|Unrecognized/i],
    ['custom without endpoints', { mine: { from: 'env:A' } }, /needs endpoints or hosts/],
    ['format without {}', { x: { from: 'env:A', hosts: ['a'], inject: { header: 'authorization', format: 'Bearer' } } }, /exactly once/],
    ['basic without {}', { x: { from: 'env:A', hosts: ['a'], inject: { basic: { user: 'u', password: 'p' } } } }, /must contain \{\}/],
    ['CRLF in format', { x: { from: 'env:A', hosts: ['a'], inject: { header: 'x-k', format: '{}\r\nx: y' } } }, /CR, LF/],
    ['bad env name', { x: { from: 'env:A', hosts: ['a'], env: 'NOT-VALID' } }, /environment variable name/],
    ['duplicate env', { a: { from: 'env:A', hosts: ['a'], env: 'K' }, b: { from: 'env:B', hosts: ['b'], env: 'K' } }, /both set K/],
    ['bad port', { x: { from: 'env:A', endpoints: [{ host: 'a', port: 70000 }] } }, /too_big|less than or equal|<=/i],
    ['empty placeholder prefix', { x: { from: 'env:A', hosts: ['a'], placeholder: { prefix: '', length: 40 } } }, /prefix is 2 to 32/],
    ['bad profile', { x: { from: 'env:A', profile: 'aws' } }, /Invalid option|expected one of/i],
  ];
  for (const [name, input, re] of cases) {
    const r = providersSchema.safeParse(input);
    t.notOk(r.success, `${name}: rejected`);
    if (!r.success) t.match(r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n'), re, name);
  }
});

t.test('placeholder shorter than 128 random bits is a load error', async (t) => {
  await t.rejects(
    harness({ x: { from: 'env:X', hosts: ['a.example'], placeholder: { prefix: 'x_', length: 20, alphabet: 'hex' } } }, { X: 'abcdefghijklmnop' }),
    /provider "x": placeholder too short.*random bits/,
  );
});

t.test('missing env source names the provider and the variable, never a value', async (t) => {
  const env: NodeJS.ProcessEnv = { ...SECRETS };
  delete env.ANTHROPIC_API_KEY;
  const err = await harness(ALL_PROVIDERS, env).then(() => undefined, (e: Error) => e);
  t.ok(err);
  t.match(err!.message, /provider "anthropic": environment variable ANTHROPIC_API_KEY is not set/);
  t.same(leakedSecrets(`${err!.message}\n${err!.stack}`), []);
});

t.test('file source: read, trimmed, permission-checked', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-secret-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'openai');
  writeFileSync(file, `${SECRETS.OPENAI_API_KEY}\n`, { mode: 0o600 });
  const h = await harness({ openai: { from: `file:${file}` } }, {});
  t.teardown(h.cleanup);
  t.same(h.creds.headersFor('openai'), { authorization: `Bearer ${SECRETS.OPENAI_API_KEY}` }, 'trailing newline trimmed');

  chmodSync(file, 0o640);
  const err = await harness({ openai: { from: `file:${file}` } }, {}).then(() => undefined, (e: Error) => e);
  t.match(err?.message, /provider "openai": secret file .* accessible by group or others \(mode 640\)/);
  chmodSync(file, 0o604);
  await t.rejects(harness({ openai: { from: `file:${file}` } }, {}), /accessible by group or others/);

  await t.rejects(harness({ openai: { from: `file:${path.join(dir, 'nope')}` } }, {}), /provider "openai": cannot open secret file .*ENOENT/);
  await t.rejects(harness({ openai: { from: `file:${dir}` } }, {}), /not a regular file/);

  const relative = await harness({ openai: { from: 'file:openai' } }, {}).catch((e: Error) => e);
  t.type(relative, Error, 'relative paths resolve against cwd (absent here)');
  chmodSync(file, 0o600);
  const { createCredentials } = await import('../../credentials/index.js');
  const viaBase = await createCredentials({ openai: { from: 'file:openai' } }, { home: h.home, env: {}, bus: h.bus, baseDir: dir });
  t.same(viaBase.headersFor('openai'), { authorization: `Bearer ${SECRETS.OPENAI_API_KEY}` }, 'baseDir resolves relative paths');
  viaBase.close();
  t.same(leakedSecrets(String((err as Error).message)), []);
});

t.test('a secret containing CR, LF or NUL is refused at load, unnamed', async (t) => {
  for (const bad of ['abc\r\ndef-ghijklmnop', 'abc\ndefghijklmnop', 'abcdefgh\0ijklmnop']) {
    const err = await harness({ x: { from: 'env:X', hosts: ['a.example'] } }, { X: bad }).then(() => undefined, (e: Error) => e);
    t.match(err?.message, /provider "x": the secret from environment variable X contains CR, LF or NUL/);
    t.notOk(err?.message.includes('abc'), 'value not in the message');
  }
});

t.test('a secret too short to search for safely is refused', async (t) => {
  await t.rejects(harness({ x: { from: 'env:X', hosts: ['a.example'] } }, { X: 'abc' }), /provider "x": the secret from environment variable X is shorter than 8 characters/);
});

t.test('reload swaps on success, keeps the old state on failure', async (t) => {
  const env: NodeJS.ProcessEnv = { ...SECRETS };
  const h = await harness({ openai: { from: 'env:OPENAI_API_KEY' } }, env);
  t.teardown(h.cleanup);
  const before = h.creds.envFor('sb');
  env.OPENAI_API_KEY = 'sk-proj-rotated-value-0123456789';
  await h.creds.reload({ openai: { from: 'env:OPENAI_API_KEY' }, anthropic: { from: 'env:ANTHROPIC_API_KEY' } });
  t.same(h.creds.headersFor('openai'), { authorization: 'Bearer sk-proj-rotated-value-0123456789' }, 'secret re-read');
  t.equal(h.creds.envFor('sb').OPENAI_API_KEY, before.OPENAI_API_KEY, 'placeholder survives rotation');
  t.same(h.creds.providers(), ['openai', 'anthropic']);

  delete env.ANTHROPIC_API_KEY;
  await t.rejects(h.creds.reload({ openai: { from: 'env:OPENAI_API_KEY' }, anthropic: { from: 'env:ANTHROPIC_API_KEY' } }), /provider "anthropic"/);
  t.same(h.creds.providers(), ['openai', 'anthropic'], 'old state kept');
  t.same(h.creds.headersFor('anthropic'), { 'x-api-key': SECRETS.ANTHROPIC_API_KEY });
});

t.test('headersFor: each inject style; unknown provider is a SluiceError', async (t) => {
  const h = await harness({
    openai: { from: 'env:OPENAI_API_KEY' },
    anthropic: { from: 'env:ANTHROPIC_API_KEY' },
    basic: { from: 'env:INTERNAL_TOKEN', hosts: ['b.example'], inject: { basic: { user: 'ci', password: '{}' } } },
    q: { from: 'env:GITHUB_TOKEN', hosts: ['q.example'], inject: { query: 'key' } },
  });
  t.teardown(h.cleanup);
  t.same(h.creds.headersFor('openai'), { authorization: `Bearer ${SECRETS.OPENAI_API_KEY}` });
  t.same(h.creds.headersFor('anthropic'), { 'x-api-key': SECRETS.ANTHROPIC_API_KEY });
  t.same(h.creds.headersFor('basic'), { authorization: `Basic ${Buffer.from(`ci:${SECRETS.INTERNAL_TOKEN}`).toString('base64')}` });
  t.throws(() => h.creds.headersFor('q'), { code: 'SLUICE_INTERNAL' });
  t.throws(() => h.creds.headersFor('nope'), { code: 'SLUICE_CREDENTIAL_UNKNOWN' });
  h.creds.close();
  t.throws(() => h.creds.envFor('x'), /closed/);
});

t.test('no providers: nothing issued, the stage is inert', async (t) => {
  const h = await harness({}, {});
  t.teardown(h.cleanup);
  t.same(h.creds.envFor('x'), {});
  const { makeCtx, runHeaders } = await import('./context.js');
  const ctx = makeCtx(h.bus, { headers: { authorization: `Bearer ${SECRETS.OPENAI_API_KEY}` } });
  t.equal(await runHeaders(h.creds, ctx), undefined, 'no secrets known, nothing to guard');
  t.same(ctx.requestFilters, []);
  t.same(ALL_PROVIDERS.openai, { from: 'env:OPENAI_API_KEY' });
});
