import t from 'tap';
import { isSluiceError } from '../../core/index.js';
import { canonicalPath } from '../../rules/index.js';
import { readings, structuralReadings } from '../../rules/path.js';
import { compileDotGlob, compilePathGlob } from '../../rules/glob.js';

const strict = { allowEncodedSlash: false };
const lenient = { allowEncodedSlash: true };

function refused(raw: string, opts = strict): string | undefined {
  try {
    canonicalPath(raw, opts);
    return undefined;
  } catch (err) {
    if (!isSluiceError(err)) throw err;
    return `${err.code}: ${err.message}`;
  }
}

// Ported from OpenShell crates/openshell-supervisor-network/src/l7/path.rs (tests module): every
// case there with a clear outcome, plus Sluice's own. `[raw, canonical | Error]`, the OpenShell
// test named in the third column.
const OPENSHELL_CASES: Array<[string, string | RegExp, string]> = [
  ['/a/./b', '/a/b', 'literal_dot_segments_resolve'],
  ['/a/b/.', '/a/b/', 'literal_dot_segments_resolve'],
  ['/a/../b', '/b', 'literal_dot_segments_resolve'],
  ['/a/b/..', '/a/', 'literal_dot_segments_resolve'],
  ['/public/%2e%2e/secret', '/secret', 'percent_encoded_dot_segments_resolve_the_same_way'],
  ['/public/%2E%2E/secret', '/secret', 'percent_encoded_dot_segments_resolve_the_same_way'],
  ['/public/%2e/secret', '/public/secret', 'percent_encoded_dot_segments_resolve_the_same_way'],
  ['/..', /climb above the root/, 'traversal_above_root_is_rejected'],
  ['/a/../..', /climb above the root/, 'traversal_above_root_is_rejected'],
  ['/a/%2e%2e/%2e%2e', /climb above the root/, 'traversal_above_root_is_rejected'],
  ['//', '/', 'doubled_slashes_collapse'],
  ['//public//../secret', '/secret', 'doubled_slashes_collapse'],
  ['/public//secret', '/public/secret', 'doubled_slashes_collapse'],
  ['/a/%2f/b', /encoded slash %2F/, 'encoded_slash_rejected_by_default'],
  ['/public/..%2fsecret', /encoded slash %2F/, 'encoded_slash_rejected_by_default'],
  ['/a%00b', /control character/, 'null_and_control_bytes_rejected'],
  ['/a%0Ab', /control character/, 'null_and_control_bytes_rejected'],
  ['/a%0Db', /control character/, 'null_and_control_bytes_rejected'],
  ['/a%7Fb', /control character/, 'null_and_control_bytes_rejected'],
  ['/a\u0001b', /control character/, 'null_and_control_bytes_rejected'],
  ['/files/hello%20world.txt', '/files/hello%20world.txt', 'legitimate_percent_encoded_bytes_round_trip'],
  ['/search/a%3Fb', '/search/a%3Fb', 'legitimate_percent_encoded_bytes_round_trip'],
  ['/users/%40alice', '/users/@alice', 'legitimate_percent_encoded_bytes_round_trip'],
  ['/a;jsessionid=xyz/b', '/a/b', 'path_parameters_stripped_by_default'],
  ['/public;x=1/../secret', '/secret', 'path_parameters_stripped_by_default'],
  ['/caf\u00e9', /raw non-ASCII/, 'non_ascii_raw_byte_rejected'],
  ['/users/caf%C3%A9', '/users/caf%C3%A9', 'percent_encoded_non_ascii_bytes_round_trip'],
  ['', '/', 'empty_and_root_equivalent'],
  ['/', '/', 'empty_and_root_equivalent'],
  [`/${'a'.repeat(4096)}`, /longer than 4096/, 'path_too_long_rejected'],
  ['/a/caf%c3%a9', '/a/caf%C3%A9', 'mixed_case_percent_normalizes_to_uppercase'],
  ['/public/../secret', '/secret', 'regression_public_slash_dotdot_secret'],
  ['/public/%2E%2E%2Fsecret', /encoded slash %2F/, 'regression_percent_encoded_slash_in_dotdot_rejected'],
  ['//public/../secret', '/secret', 'regression_double_slash_prefix'],
  ['/public/./../secret', '/secret', 'regression_dot_slash_dotdot'],
  ['/public/..;/secret', '/secret', 'regression_dotdot_with_path_parameter_is_resolved_not_smuggled'],
  ['/public/..;x/secret', '/secret', 'regression_dotdot_with_path_parameter_is_resolved_not_smuggled'],
  ['/public/..;jsessionid=xyz/secret', '/secret', 'regression_dotdot_with_path_parameter_is_resolved_not_smuggled'],
  ['/public/.;/secret', '/public/secret', 'regression_dotdot_with_path_parameter_is_resolved_not_smuggled'],
  ['/public/.;x/secret', '/public/secret', 'regression_dotdot_with_path_parameter_is_resolved_not_smuggled'],
  ['/public/%2e%2e;/secret', '/secret', 'regression_percent_encoded_dotdot_with_path_parameter'],
  ['/public/..%3B/secret', '/secret', 'regression_percent_encoded_dotdot_with_path_parameter'],
  ['/public/..%3b/secret', '/secret', 'regression_percent_encoded_dotdot_with_path_parameter'],
  ['/public/..;/..;/secret', /climb above the root/, 'regression_chained_dotdot_with_path_parameters_hits_root_guard'],
  ['/api/v1/..;/..;/..;/admin/keys', /climb above the root/, 'regression_chained_dotdot_with_path_parameters_hits_root_guard'],
  ['/..;', /climb above the root/, 'regression_chained_dotdot_with_path_parameters_hits_root_guard'],
  ['/a/%252F/b', '/a/%252F/b', 'encoded_slash_detection_on_canonical_paths_is_exact'],
  ['/a/100%25/b', '/a/100%25/b', 'encoded_slash_detection_on_canonical_paths_is_exact'],
];

t.test('canonicalisation agrees with OpenShell (l7/path.rs tests)', async (t) => {
  for (const [raw, expected, source] of OPENSHELL_CASES) {
    const name = `${JSON.stringify(raw.slice(0, 40))} (${source})`;
    if (typeof expected === 'string') t.equal(canonicalPath(raw, strict), expected, name);
    else t.match(refused(raw) ?? 'accepted', expected, name);
  }
});

t.test('OpenShell: encoded slash kept when opted in; a dot-segment behind it refused (regression_dotdot_behind_encoded_slash_is_rejected_when_opted_in)', async (t) => {
  t.equal(canonicalPath('/a/%2f/b', lenient), '/a/%2F/b', 'encoded_slash_preserved_when_opted_in');
  t.equal(canonicalPath('/a/%2F/b', lenient), '/a/%2F/b');
  t.equal(canonicalPath('/repos/group%2Fproject/issues', lenient), '/repos/group%2Fproject/issues');
  for (const raw of ['/public/%2E%2E%2Fsecret', '/public/..%2Fsecret', '/public/%2e%2e%2F..%2Fsecret', '/a/.%2Fb']) {
    t.match(refused(raw, lenient) ?? 'accepted', /dot-segment hides behind an encoded slash/, raw);
  }
  t.match(refused('/a/%2e%2e/%2e%2e', lenient) ?? '', /climb above/);
});

t.test("Sluice's own canonical forms and refusals", async (t) => {
  const cases: Array<[string, string]> = [
    ['/a/b/', '/a/b/'],
    ['/a//b///c', '/a/b/c'],
    ['/%61%62%63', '/abc'],
    ['/%7e%41%2d%5F', '/~A-_'],
    ['/a%5Cb', '/a%5Cb'],
    ['/a%3Bb/c', '/a/c'],
    ['/...', '/...'],
    ['/a%20b', '/a%20b'],
  ];
  for (const [raw, expected] of cases) t.equal(canonicalPath(raw, strict), expected, `${raw} -> ${expected}`);
  for (const [raw, why] of [['a/b', /must start with/], ['*', /must start with/], ['/a%zz', /malformed/], ['/a%4', /malformed/], ['/a\tb', /control/], ['/a%0d%0aHost:x', /control/]] as const) {
    t.match(refused(raw) ?? 'accepted', why, raw);
  }
});

t.test('deny readings: how an upstream might read a canonical path (issue 16 item 4)', async (t) => {
  t.same(readings('/admin/'), ['/admin/', '/admin']);
  t.same(readings('/admin'), ['/admin']);
  t.same(readings('/public/..%5Csecret'), ['/public/..%5Csecret', '/secret']);
  t.same(readings('/public/%252e%252e/secret'), ['/public/%252e%252e/secret', '/public/%2e%2e/secret', '/secret']);
  t.same(readings('/a%2Fb/c'), ['/a%2Fb/c', '/a/b/c']);
  t.same(structuralReadings('/admin/'), [], 'a trailing slash is not a structural reading');
  t.same(structuralReadings('/public/..%5Csecret'), ['/secret']);
});

t.test('path globs follow globset (OpenShell): * stays in a segment, ** crosses, /**/ may be empty, {a,b} alternates', async (t) => {
  const g = (pattern: string) => compilePathGlob(pattern);
  const cases: Array<[string, string, boolean]> = [
    ['/repos/*', '/repos/a', true],
    ['/repos/*', '/repos/a/b', false],
    ['/repos/*', '/repos/', true],
    ['/repos/**', '/repos/a/b/c', true],
    ['/repos/**', '/repos/a', true],
    ['/repos/**', '/repos/', true],
    ['/repos/**', '/repos', false],
    ['/repos/*/issues', '/repos/x/issues', true],
    ['/repos/*/issues', '/repos/x/y/issues', false],
    ['/a/**/z', '/a/b/c/z', true],
    ['/a/**/z', '/a/z', true],
    ['/**/info/refs', '/info/refs', true],
    ['/**/info/refs', '/org/repo.git/info/refs', true],
    ['**', '/anything/at/all', true],
    ['/**', '/', true],
    ['/**', '/anything/at/all', true],
    ['/v?/x', '/v1/x', true],
    ['/v?/x', '/v12/x', false],
    ['/v[0-9]/x', '/v7/x', true],
    ['/v[!0-9]/x', '/va/x', true],
    ['/file.json', '/fileXjson', false],
    ['/a**b/c', '/aXXb/c', true],
    ['/a**b/c', '/aX/Yb/c', false],
    ['/(a|b)', '/(a|b)', true],
    ['/(a|b)', '/a', false],
    ['/{repos,orgs}/*', '/repos/x', true],
    ['/{repos,orgs}/*', '/orgs/x', true],
    ['/{repos,orgs}/*', '/users/x', false],
    ['/a\\*b', '/a*b', true],
    ['/a\\*b', '/axb', false],
  ];
  for (const [pattern, path, expected] of cases) t.equal(g(pattern).test(path), expected, `${pattern} ${expected ? 'matches' : 'does not match'} ${path}`);
  t.throws(() => g('/a/[b'), /unclosed/);
  t.throws(() => g('/a/{b'), /unclosed/);
  t.throws(() => g('/a/b}'), /unopened/);
});

t.test('query globs use "." as separator', async (t) => {
  const g = (pattern: string) => compileDotGlob(pattern);
  t.equal(g('1.*').test('1.2'), true);
  t.equal(g('1.*').test('1.2.3'), false);
  t.equal(g('**').test('a.b.c'), true);
  t.equal(g('linux-*').test('linux-x64'), true);
  t.equal(g('linux-*').test('darwin-x64'), false);
});

t.test('a path already canonical is recognised in one pass, and only such a path', async (t) => {
  const { canonicalForm, isCanonical } = await import('../../rules/path.js');
  const alphabet = ['a', 'Z', '9', '-', '.', '_', '~', '@', ':', '!', '$', '(', '+', '=', ';', '%', '%2e', '%41', '%2F', ' ', '"', '/', '/', '/', '..', '.', '\u00e9'];
  let fast = 0;
  for (let round = 0; round < 20000; round++) {
    let p = '/';
    for (let n = round % 9; n > 0; n--) p += alphabet[(round * 31 + n * 7 + (round >> 3) * n) % alphabet.length];
    if (round % 50 === 0) p = p.slice(1);
    let slow: string | undefined;
    try {
      slow = canonicalForm(p, { allowEncodedSlash: true });
    } catch {
      slow = undefined;
    }
    if (!isCanonical(p)) continue;
    fast++;
    if (slow !== p) {
      t.fail(`${JSON.stringify(p)} was taken as canonical, but its canonical form is ${JSON.stringify(slow)}`);
      return;
    }
  }
  t.ok(fast > 1000, `many paths were canonical already (${fast})`);
  for (const p of ['/', '/v1/chat/completions', '/a/b/', '/file.tar.gz', '/...', '/@me:x', "/a!$&'()*+,=b"]) t.ok(isCanonical(p), `${p} is canonical`);
  for (const p of ['', 'a', '//', '/a//b', '/./a', '/a/..', '/a/.', '/a;b', '/%41', '/a b', '/\u00e9', `/${'a'.repeat(4096)}`]) t.notOk(isCanonical(p), `${JSON.stringify(p.slice(0, 20))} is not taken as canonical`);
});
