import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { createEventBus } from '../../core/index.js';
import type { SluiceEvent } from '../../core/index.js';
import { changedStaticSections, DYNAMIC_SECTIONS, STATIC_SECTIONS, createFrameParser, createToken, frame, listTokens, matches, parseFilter, revokeToken, verifyToken, tokensDir } from '../../gateway/index.js';
import { createRouter } from '../../gateway/router.js';
import { parsePolicy, policySchema } from '../../rules/index.js';
import { toOcsf } from '../../audit/index.js';
import { sandboxBus } from '../../core/index.js';
import { tempDir } from '../helpers/sluice.js';

t.test('router: literal segments, parameters, 404 and 405 with the allowed methods', async (t) => {
  const handle = () => ({ status: 200, json: {} });
  const route = (method: 'GET' | 'PUT' | 'POST', p: string) => ({ method, path: p, scope: 'read' as const, summary: '', responses: {}, handle });
  const router = createRouter([route('GET', '/v1/sandboxes'), route('GET', '/v1/sandboxes/{name}'), route('PUT', '/v1/sandboxes/{name}/policy'), route('GET', '/v1/sandboxes/{name}/policy')]);
  t.same(router.match('GET', '/v1/sandboxes/a%2Fb').params, { name: 'a/b' }, 'a parameter is decoded once and stays one segment');
  t.equal(router.match('HEAD', '/v1/sandboxes').route.path, '/v1/sandboxes', 'HEAD is served by GET');
  t.throws(() => router.match('GET', '/v1/sandboxes/x/y'), { code: 'SLUICE_API_NOT_FOUND' });
  t.throws(() => router.match('GET', '/v1/sandboxes/'), { code: 'SLUICE_API_NOT_FOUND' }, 'an empty parameter is no parameter');
  t.throws(() => router.match('GET', '/v1/sandboxes/..%2F/policy/../x'), { code: 'SLUICE_API_NOT_FOUND' });
  t.throws(() => router.match('DELETE', '/v1/sandboxes/x/policy'), { code: 'SLUICE_API_METHOD', context: { allow: 'PUT, GET' } });
  t.throws(() => router.match('GET', '/v1/sandboxes/%E0%A4%A'), { code: 'SLUICE_API_NOT_FOUND' }, 'malformed percent-encoding is no match');
  t.throws(() => createRouter([route('GET', '/v1/a/{x}'), route('GET', '/v1/a/{y}')]), /duplicate route/);
});

t.test('tokens: only a hash is stored, verified by id and secret, revocable, scoped', async (t) => {
  const home = tempDir();
  t.teardown(() => fs.rmSync(home, { recursive: true, force: true }));
  const admin = await createToken(home, 'admin', 'ci');
  const read = await createToken(home, 'read');
  t.match(admin.token, /^sluice_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
  const stored = fs.readdirSync(tokensDir(home)).map((f) => fs.readFileSync(path.join(tokensDir(home), f), 'utf8')).join('\n');
  // Everything after `sluice_<id>_`: base64url's alphabet has `_`, so the secret may hold one.
  const secret = admin.token.split('_').slice(2).join('_');
  t.notOk(stored.includes(secret), 'the secret is not on disk');
  t.equal((fs.statSync(path.join(tokensDir(home), `${admin.info.id}.json`)).mode & 0o777).toString(8), '600');
  t.equal((await verifyToken(home, admin.token))?.scope, 'admin');
  t.equal((await verifyToken(home, read.token))?.scope, 'read');
  const forged = admin.token.slice(0, -1) + (admin.token.endsWith('A') ? 'B' : 'A');
  t.equal(await verifyToken(home, forged), undefined, 'one character off is refused');
  t.equal(await verifyToken(home, `sluice_${read.info.id}_${secret}`), undefined, "another token's secret under this id is refused");
  t.equal(await verifyToken(home, 'Bearer x'), undefined);
  t.same((await listTokens(home)).map((i) => i.scope).sort(), ['admin', 'read']);
  t.ok(await revokeToken(home, admin.info.id));
  t.equal(await verifyToken(home, admin.token), undefined, 'revoked at once');
  t.notOk(await revokeToken(home, '../../etc'), 'ids are hex only');
  fs.chmodSync(path.join(tokensDir(home), `${read.info.id}.json`), 0o666);
  t.equal(await verifyToken(home, read.token), undefined, 'a token file others could write is not trusted');
});

t.test('static sections: compared as parsed, every changed one named', async (t) => {
  const parse = (yaml: string) => parsePolicy(yaml, 'p').policy!;
  const base = parse('version: 1\nfilesystem_policy: { read_only: [/opt] }\nprocess: { run_as_user: 1000 }\nnetwork_policies: {}\n');
  t.same(changedStaticSections(base, parse('version: 1\nprocess: { run_as_user: "1000" }\nfilesystem_policy:\n  read_only: [/opt]\nnetwork_policies: { a: { endpoints: [{ host: x.example.com, port: 443 }] } }\n')), [], 'network changes and spelling do not count');
  t.same(changedStaticSections(base, parse('version: 1\nfilesystem_policy: { read_only: [/opt, /srv] }\nprocess: { run_as_user: 1000 }\n')), ['filesystem_policy']);
  t.same(changedStaticSections(base, parse('version: 1\nlandlock: { compatibility: hard_requirement }\nfilesystem_policy: { read_only: [/opt] }\n')), ['landlock', 'process'], 'added and removed sections count');
});

t.test('event filters and OCSF: sandbox, type, verdict; the sandbox is the container', async (t) => {
  const bus = createEventBus();
  const seen: SluiceEvent[] = [];
  bus.on((e) => seen.push(e));
  sandboxBus(bus, 'sluice-a').emit({ type: 'connect', time: 1, src: {}, dst: { host: 'x.example.com', port: 443 }, decision: { action: 'deny', code: 'policy_denied', reason: 'no' } });
  bus.emit({ type: 'api', time: 2, method: 'PUT', route: '/v1/policy', status: 403, actor: 'token:abc', scope: 'read', code: 'forbidden', reason: 'scope' });
  t.equal(seen[0]!.sandbox, 'sluice-a', 'the sandbox view stamps its name');
  const f = (q: string) => parseFilter(new URLSearchParams(q));
  t.ok(matches(seen[0]!, f('sandbox=sluice-a&type=connect&action=deny')));
  t.notOk(matches(seen[0]!, f('sandbox=sluice-b')));
  t.notOk(matches(seen[1]!, f('sandbox=sluice-a')), 'events of no sandbox do not pass a sandbox filter');
  t.ok(matches(seen[1]!, f('type=api,sandbox&action=deny')));
  t.throws(() => f('type=nonsense'), { code: 'SLUICE_API_INVALID' });
  t.throws(() => f('action=maybe'), { code: 'SLUICE_API_INVALID' });
  const ocsf = toOcsf(seen[0]!);
  t.same(ocsf.container, { name: 'sluice-a' });
  t.match((ocsf.metadata as { profiles: string[] }).profiles, ['security_control', 'container']);
  const api = toOcsf(seen[1]!);
  t.equal(api.class_uid, 6003);
  t.equal(api.status, 'Failure');
  t.equal(api.action, 'Denied');
  t.equal(toOcsf({ type: 'sandbox', time: 3, sandbox: 'sluice-a', activity: 'lost', reason: 'gateway died' }).class_uid, 6002);
});

t.test('frames: parsed whole however the bytes are split', async (t) => {
  const frames = [frame(1, Buffer.from('out\n')), frame(2, Buffer.from('')), frame(2, Buffer.from('err')), frame(3, Buffer.from('{"exit_code":3}'))];
  const all = Buffer.concat(frames);
  for (let cut = 0; cut <= all.length; cut++) {
    for (const size of [1, 7, all.length]) {
      const got: string[] = [];
      const parse = createFrameParser((stream, payload) => got.push(`${stream}:${payload.toString()}`));
      const pieces = [all.subarray(0, cut), ...chunks(all.subarray(cut), size)];
      for (const p of pieces) parse(p);
      if (got.join('|') !== '1:out\n|2:|2:err|3:{"exit_code":3}') {
        t.fail(`split at ${cut}, pieces of ${size}: ${got.join('|')}`);
        return;
      }
    }
  }
  t.pass('every split point gives the same four frames');
});

function chunks(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}

t.test('policy sections: every section of the schema is either locked at creation or live, never neither', async (t) => {
  const classified: string[] = ['version', ...STATIC_SECTIONS, ...DYNAMIC_SECTIONS];
  t.same(Object.keys(policySchema.shape).filter((k) => !classified.includes(k)), [], 'a section added to the schema needs a place here');
  t.same(classified.filter((k) => !(k in policySchema.shape)), [], 'no section named here is gone from the schema');
});
