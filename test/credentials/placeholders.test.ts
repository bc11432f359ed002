import t from 'tap';
import { crc32 } from 'node:zlib';
import { statSync, writeFileSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { harness, ALL_PROVIDERS, SECRETS } from './context.js';
import { base62Checksum, createPlaceholderMinter, randomBits, ALPHABETS } from '../../credentials/placeholders.js';
import { BUILTIN_PROFILES } from '../../credentials/profiles.js';

/** The formats secret scanners and SDKs use for the real keys (public gitleaks/trufflehog rules). */
const REAL_FORMATS: Record<string, { env: string; re: RegExp }> = {
  openai: { env: 'OPENAI_API_KEY', re: /^sk-proj-[A-Za-z0-9_-]{156}$/ },
  anthropic: { env: 'ANTHROPIC_API_KEY', re: /^sk-ant-api03-[\w-]{93}AA$/ },
  nvidia: { env: 'NVIDIA_API_KEY', re: /^nvapi-[A-Za-z0-9_-]{64}$/ },
  github: { env: 'GITHUB_TOKEN', re: /^ghp_[A-Za-z0-9]{36}$/ },
  gitlab: { env: 'GITLAB_TOKEN', re: /^glpat-[0-9a-zA-Z_-]{20,}$/ },
  huggingface: { env: 'HF_TOKEN', re: /^hf_[a-zA-Z]{34}$/ },
  npm: { env: 'NPM_TOKEN', re: /^npm_[A-Za-z0-9]{36}$/ },
};

t.test('placeholders are shaped like each provider\'s real key', async (t) => {
  const h = await harness();
  t.teardown(h.cleanup);
  const env = h.creds.envFor('default');
  for (const [provider, { env: name, re }] of Object.entries(REAL_FORMATS)) {
    const value = env[name];
    t.ok(value, `${provider}: ${name} is issued`);
    t.match(value, re, `${provider}: placeholder matches the real key's format`);
    t.not(value, (SECRETS as Record<string, string>)[name], `${provider}: placeholder is not the secret`);
  }
  t.equal(env.GH_TOKEN, env.GITHUB_TOKEN, 'github also fills GH_TOKEN');
});

t.test('GitHub and npm placeholders carry a valid CRC32 checksum like real tokens', async (t) => {
  const h = await harness();
  t.teardown(h.cleanup);
  const env = h.creds.envFor('sb1');
  for (const name of ['GITHUB_TOKEN', 'NPM_TOKEN']) {
    const token = env[name]!;
    const body = token.slice(4, 34);
    const expected = base62Checksum(body);
    t.equal(token.slice(34), expected, `${name} checksum`);
    // Independent re-derivation of GitHub's scheme: base62 (0-9A-Za-z) of crc32, padded to 6.
    let n = crc32(body);
    let s = '';
    while (n > 0) { s = ALPHABETS.alnum[n % 62] + s; n = Math.floor(n / 62); }
    t.equal(expected, s.padStart(6, '0'));
  }
});

t.test('every built-in shape has at least 128 random bits', async (t) => {
  for (const [name, profile] of Object.entries(BUILTIN_PROFILES)) {
    t.ok(randomBits(profile.shape) >= 128, `${name}: ${randomBits(profile.shape).toFixed(0)} bits`);
  }
});

t.test('deterministic per (state key, provider, sandbox); different across sandboxes, providers and keys', async (t) => {
  const a = await harness();
  t.teardown(a.cleanup);
  // A second process sharing the home (sluice env vs sluice up) derives the same values, without secrets.
  const b = await harness(ALL_PROVIDERS, {}, a.home).catch(() => undefined);
  t.equal(b, undefined, 'a full load without secrets fails');
  const { createCredentials } = await import('../../credentials/index.js');
  const envOnly = await createCredentials(ALL_PROVIDERS, { home: a.home, env: {}, bus: a.bus, placeholdersOnly: true });
  t.same(envOnly.envFor('sb1'), a.creds.envFor('sb1'), 'placeholders-only process agrees');
  t.same(a.creds.envFor('sb1'), a.creds.envFor('sb1'), 'stable');
  t.throws(() => envOnly.headersFor('openai'), /without its secret/);
  envOnly.close();

  const sb1 = a.creds.envFor('sb1');
  const sb2 = a.creds.envFor('sb2');
  for (const k of Object.keys(sb1)) t.not(sb1[k], sb2[k], `${k} differs per sandbox`);

  const other = await harness();
  t.teardown(other.cleanup);
  t.not(other.creds.envFor('sb1').OPENAI_API_KEY, sb1.OPENAI_API_KEY, 'a different state key gives different placeholders');

  const two = await harness({ openai: { from: 'env:OPENAI_API_KEY' }, team: { from: 'env:OPENAI_API_KEY', profile: 'openai', env: 'TEAM_KEY' } }, { ...SECRETS }, a.home);
  t.teardown(two.cleanup);
  const env = two.creds.envFor('sb1');
  t.equal(env.OPENAI_API_KEY, sb1.OPENAI_API_KEY, 'same state key, provider and sandbox');
  t.not(env.TEAM_KEY, env.OPENAI_API_KEY, 'two providers of one profile get different placeholders');
  t.match(env.TEAM_KEY, REAL_FORMATS.openai!.re);
});

t.test('state key: 32 bytes, mode 0600, refused when others can read it', async (t) => {
  const h = await harness();
  t.teardown(h.cleanup);
  const file = path.join(h.home, 'credentials.key');
  const st = statSync(file);
  t.equal(st.mode & 0o777, 0o600);
  t.equal(st.size, 32);
  chmodSync(file, 0o644);
  await t.rejects(harness(ALL_PROVIDERS, { ...SECRETS }, h.home), /readable by group or others/);
  chmodSync(file, 0o600);
  writeFileSync(file, 'short');
  await t.rejects(harness(ALL_PROVIDERS, { ...SECRETS }, h.home), /corrupt/);
});

t.test('racing first use: concurrent creators agree on one key', async (t) => {
  const a = await harness(undefined);
  t.teardown(a.cleanup);
  const { mkdtempSync, rmSync } = await import('node:fs');
  const os = await import('node:os');
  const home = mkdtempSync(path.join(os.tmpdir(), 'sluice-race-'));
  t.teardown(() => rmSync(home, { recursive: true, force: true }));
  const all = await Promise.all(Array.from({ length: 8 }, () => harness(ALL_PROVIDERS, { ...SECRETS }, home)));
  const first = all[0]!.creds.envFor('x');
  for (const h of all) t.same(h.creds.envFor('x'), first);
  for (const h of all) h.cleanup();
});

t.test('isPlaceholder: ours for any sandbox, not look-alikes or secrets', async (t) => {
  const h = await harness();
  t.teardown(h.cleanup);
  for (const value of Object.values(h.creds.envFor('sb9'))) t.ok(h.creds.isPlaceholder(value), value.slice(0, 8));
  for (const value of Object.values(SECRETS)) t.notOk(h.creds.isPlaceholder(value));
  t.notOk(h.creds.isPlaceholder(`sk-proj-${'x'.repeat(156)}`));
  t.notOk(h.creds.isPlaceholder(`Bearer ${h.creds.envFor('sb9').OPENAI_API_KEY}`), 'the whole value must be the placeholder');
});

t.test('minter recognises its own placeholders only', async (t) => {
  const key = Buffer.alloc(32, 7);
  const m = createPlaceholderMinter(key);
  const other = createPlaceholderMinter(Buffer.alloc(32, 8));
  for (const [name, { shape }] of Object.entries(BUILTIN_PROFILES)) {
    const p = m.mint(shape, name, 'sb');
    t.ok(m.isOurs(shape, p), `${name}: ours`);
    t.notOk(other.isOurs(shape, p), `${name}: not another key's`);
    const flipped = p.slice(0, shape.prefix.length + 3) + (p[shape.prefix.length + 3] === 'a' ? 'b' : 'a') + p.slice(shape.prefix.length + 4);
    t.notOk(m.isOurs(shape, flipped), `${name}: one changed character breaks the tag`);
  }
});
