import t from 'tap';
import { createPlaceholderFinder } from '../../credentials/placeholder-finder.js';
import { ALPHABETS } from '../../credentials/placeholders.js';
import { curl, startWorld } from '../proxy/fixtures.js';

/**
 * OpenShell's placeholder grammar `openshell:resolve:env:KEY` as an alias of Sluice's placeholders,
 * through a real Sluice and curl: replaced by the provider whose sandbox variable is KEY, only
 * where that provider may be sent (its endpoints), and an unknown KEY refused with a reason that
 * names the KEY and no secret. (OpenShell: openshell-core provider_credentials.rs.)
 */
const SECRET = 'ghs_realSecretValue0123456789abcdefABCDEF';

const policy = (p: { api: number; other: number; plain: number }) => `version: 1
network_policies:
  a:
    endpoints:
      - { host: api.example.test, port: ${p.api} }
      - { host: other.example.test, port: ${p.other} }
providers:
  internal:
    from: env:INTERNAL_TOKEN
    endpoints: [{ host: api.example.test, port: ${p.api} }]
    inject: { header: authorization, format: "Bearer {}" }
    env: INTERNAL_TOKEN
`;

t.test('openshell:resolve:env:KEY is replaced at the injection point only', async (t) => {
  const world = await startWorld(policy, { env: { INTERNAL_TOKEN: SECRET } });
  t.teardown(() => world.close());
  const api = `https://api.example.test:${world.api.port}`;
  const ok = await curl(world, ['-H', 'Authorization: Bearer openshell:resolve:env:INTERNAL_TOKEN', `${api}/user?x=1`]);
  t.equal(ok.status, 200, ok.body);
  const seen = world.api.requests.at(-1)!;
  t.equal(seen.headers.authorization, `Bearer ${SECRET}`, 'the header carries the real value upstream');
  t.equal(seen.url, '/user?x=1');

  // as for Sluice's own placeholders: only where the provider injects (its header), nowhere else
  const before = world.api.requests.length;
  const elsewhere = await curl(world, ['-H', 'Authorization: Bearer openshell:resolve:env:INTERNAL_TOKEN', `${api}/user?x=openshell:resolve:env:INTERNAL_TOKEN`]);
  t.equal(elsewhere.status, 403, 'the alias in a query parameter is outside the injection point');
  t.equal(JSON.parse(elsewhere.body).error, 'credential_endpoint_mismatch');
  t.equal(world.api.requests.length, before, 'nothing reached the upstream');
  t.notMatch(elsewhere.body, SECRET);

  const other = await curl(world, ['-H', 'Authorization: Bearer openshell:resolve:env:INTERNAL_TOKEN', `https://other.example.test:${world.other.port}/`]);
  t.equal(other.status, 403, 'not to a host the provider may not be sent to');
  t.equal(JSON.parse(other.body).error, 'credential_endpoint_mismatch');
  t.equal(world.other.requests.length, 0);

  const unknown = await curl(world, ['-H', 'Authorization: Bearer openshell:resolve:env:OTHER_TOKEN', `${api}/user`]);
  t.equal(unknown.status, 403);
  const body = JSON.parse(unknown.body) as { error: string; reason: string };
  t.equal(body.error, 'credential_unknown');
  t.match(body.reason, /openshell:resolve:env:OTHER_TOKEN, but no provider sets OTHER_TOKEN in this sandbox/, 'the reason names the KEY');
  t.notMatch(unknown.body + unknown.stderr, SECRET, 'and no secret');
  t.equal(world.api.requests.length, 1, 'the refused request never left');
  const audit = JSON.stringify(await world.sluice.readAudit());
  t.notMatch(audit, SECRET, 'the audit log holds no secret');
});

type FinderProvider = Parameters<typeof createPlaceholderFinder>[1] extends ReadonlyMap<string, infer P> ? P : never;
/** The little of a provider the finder reads: its name and the variable its placeholder is in. */
const providerWith = (name: string, env: string) => ({ name, env: [env] }) as unknown as FinderProvider;
/** A finder for `shapes` whose placeholders are `ours`, the first issued to a provider whose variable is P_KEY. */
const finderOf = (shapes: Parameters<typeof createPlaceholderFinder>[0], ours: string[]) =>
  createPlaceholderFinder(shapes, new Map([[ours[0]!, providerWith('p', 'P_KEY')]]), { mint: () => '', isOurs: (_shape, candidate) => ours.includes(candidate) });

t.test('the finder: aliases among other text, and bodies split inside one', async (t) => {
  const provider = providerWith('internal', 'INTERNAL_TOKEN');
  const finder = createPlaceholderFinder([], new Map([['unused-placeholder', provider]]), { mint: () => '', isOurs: () => false });
  const text = 'a openshell:resolve:env:INTERNAL_TOKEN b openshell:resolve:env:NOPE c';
  const found = finder.find(text);
  t.same(found.map((o) => [text.slice(o.start, o.end), o.alias, o.provider?.name]), [
    ['openshell:resolve:env:INTERNAL_TOKEN', 'INTERNAL_TOKEN', 'internal'],
    ['openshell:resolve:env:NOPE', 'NOPE', undefined],
  ]);
  const whole = 'x openshell:resolve:env:INTERNAL_TOKEN';
  for (let cut = 2; cut < whole.length; cut++) {
    t.equal(finder.holdLength(whole.slice(0, cut)), cut - 2, `split at ${cut}: everything from the alias's first byte is held`);
  }
  t.equal(finder.holdLength('x openshell:resolve:env:A-'), 0, 'a KEY already ended is not held');
});

t.test('the finder: one pass says "no prefix here"; a prefix that holds a shorter one is still found', async (t) => {
  const ours = ['sk-abcdefghijkl', 'sk-proj-abcdefghijkl', 'hf_abcdefghijkl'];
  const finder = finderOf([
    { prefix: 'sk-', length: 12, alphabet: 'alnum' },
    { prefix: 'sk-proj-', length: 12, alphabet: 'alnum' },
    { prefix: 'hf_', length: 12, alphabet: 'alpha' },
  ], ours);
  const prose = 'The staging cluster restarts at noon; skip the sk- prefix and the hf model, hf-hub, npm and nvapi notes.\n'.repeat(50);
  t.same(finder.find(prose), [], 'prose with near misses: nothing');
  for (const value of ours) {
    const text = `${prose}key=${value}&${prose}`;
    const found = finder.find(text);
    t.same(found.map((o) => text.slice(o.start, o.end)), [value], `${value.slice(0, 8)}… is found among them`);
  }
  const alias = `${prose} openshell:resolve:env:P_KEY`;
  t.same(finder.find(alias).map((o) => o.alias), ['P_KEY'], 'and an alias');
  const any = createPlaceholderFinder([{ prefix: '', length: 12, alphabet: 'alpha' }], new Map(), { mint: () => '', isOurs: (_s, c) => c === 'abcdefghijkl' });
  t.same(any.find('xx abcdefghijkl').length, 1, 'a shape with no prefix: every text is looked at');
});

t.test('the finder: scanning bytes answers as reading the whole text does, wherever a placeholder, an alias or a part of one lies', async (t) => {
  const ours = ['sk-abcdefghijkl', `sk-proj-${'A'.repeat(40)}`, `hf_${'q'.repeat(300)}`, 'itk.abcd1234'];
  const finder = finderOf([
    { prefix: 'sk-', length: 12, alphabet: 'alnum' },
    { prefix: 'sk-proj-', length: 40, alphabet: 'base64url' },
    { prefix: 'hf_', length: 300, alphabet: 'alpha' },
    { prefix: 'itk.', length: 8, alphabet: 'alnum' },
  ], ours);
  const pieces = [...ours, 'openshell:resolve:env:P_KEY', `openshell:resolve:env:${'K'.repeat(256)}`, 'sk-', 'sk-pro', 'hf_qqqq', 'openshell:res', 'itk.', 'sk-abc'];
  const filler = 'The build is green; ask the tool to skip hf model notes. '.repeat(40);
  let checked = 0;
  for (let round = 0; round < 400; round++) {
    const a = pieces[round % pieces.length]!;
    const b = pieces[(round * 7 + 3) % pieces.length]!;
    // A long body (past the finder's look-back window), a short one, and the same cut anywhere inside its tail.
    const body = round % 2 === 0 ? `${filler.slice(0, round * 13)} ${a} ${filler} ${b}` : `${a}x${b}`;
    const cut = body.length - (round % Math.min(body.length, 330));
    const text = body.slice(0, cut);
    const got = finder.scan(Buffer.from(text, 'latin1'));
    const expected = { found: finder.find(text), hold: finder.holdLength(text) };
    if (JSON.stringify(got) !== JSON.stringify(expected)) {
      t.fail(`round ${round}: scan ${JSON.stringify(got).slice(0, 200)} but the text says ${JSON.stringify(expected).slice(0, 200)}`);
      return;
    }
    if (expected.hold > 0 && expected.found.length === 0) checked++;
  }
  t.ok(checked > 20, `bodies with no whole placeholder but a part of one at their end were among them (${checked})`);
  const tail = `${filler}${filler}hf_${'q'.repeat(250)}`;
  t.equal(finder.scan(Buffer.from(tail, 'latin1')).hold, 253, 'a long placeholder begun 253 bytes before the end is held back whole');
});

t.test('the finder: what it holds back is the longest end of a text that could still grow into a placeholder or an alias', async (t) => {
  // holdLength jumps between the places a prefix's first character is: ends full of those characters
  // (`sssk-`, `hhf_`, `oopenshell:`), prefixes that begin inside others, and none at all, against the
  // definition read at every position.
  const shapes = [
    { prefix: 'sk-', length: 12, alphabet: 'alnum' },
    { prefix: 'sk-proj-', length: 40, alphabet: 'base64url' },
    { prefix: 'hf_', length: 30, alphabet: 'alpha' },
    { prefix: 'kk', length: 6, alphabet: 'hex' },
  ] as const;
  const finder = finderOf([...shapes], ['sk-abcdefghijkl']);
  const alias = 'openshell:resolve:env:';
  const couldGrow = (end: string): boolean =>
    shapes.some((s) => end.length < s.prefix.length + s.length && [...end].every((c, k) => (k < s.prefix.length ? c === s.prefix[k] : ALPHABETS[s.alphabet].includes(c)))) ||
    (end.length <= alias.length ? alias.startsWith(end) : end.startsWith(alias) && end.length <= alias.length + 256 && /^[A-Za-z0-9_]*$/.test(end.slice(alias.length)));
  const definition = (text: string): number => {
    for (let i = 0; i < text.length; i++) if (couldGrow(text.slice(i))) return text.length - i;
    return 0;
  };
  const pieces = ['s', 'k', '-', 'sk', 'sk-', 'sk-proj-', 'p', 'h', 'hf_', 'kk', 'o', 'oo', alias.slice(0, 9), alias, 'KEY_1', 'ab', 'Q', ' ', '=', 'ff09', 'A'.repeat(20)];
  let held = 0;
  let mismatches = 0;
  let seed = 7;
  const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) >> 8) % n;
  for (let round = 0; round < 4000 && mismatches < 5; round++) {
    let text = '';
    for (let k = 0, n = 1 + random(8); k < n; k++) text += pieces[random(pieces.length)]!;
    if (round % 5 === 0) text = 'x'.repeat(round % 400) + text;
    const expected = definition(text);
    if (expected > 0) held++;
    if (finder.holdLength(text) !== expected) {
      mismatches++;
      t.fail(`${JSON.stringify(text.slice(-80))}: holds ${finder.holdLength(text)}, the definition says ${expected}`);
    }
  }
  t.equal(mismatches, 0);
  t.ok(held > 1000, `most texts end in something that could grow (${held})`);
});
