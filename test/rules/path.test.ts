import t from 'tap';
import { isSluiceError } from '../../core/index.js';
import { canonicalPath } from '../../rules/index.js';
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

t.test('canonical forms', async (t) => {
  const cases: Array<[string, string]> = [
    ['/', '/'],
    ['/a/b', '/a/b'],
    ['/a/b/', '/a/b/'],
    ['//x', '/x'],
    ['/a//b///c', '/a/b/c'],
    ['/a/./b', '/a/b'],
    ['/a/%2e/b', '/a/b'],
    ['/a/%2E%2E/b', '/b'],
    ['/a/b/..', '/a/'],
    ['/a/b/.', '/a/b/'],
    ['/a/../b', '/b'],
    ['/%61%62%63', '/abc'],
    ['/%7e%41%2d%5F', '/~A-_'],
    ['/a%3fb', '/a%3Fb'],
    ['/a%252Fb', '/a%252Fb'],
    ['/a%25', '/a%25'],
    ['/caf%c3%a9', '/caf%C3%A9'],
    ['/café', '/caf%C3%A9'],
    ['/日本', '/%E6%97%A5%E6%9C%AC'],
    ['/😀', '/%F0%9F%98%80'],
    ['/a;b=c', '/a;b=c'],
    ['/...', '/...'],
  ];
  for (const [raw, expected] of cases) t.equal(canonicalPath(raw, strict), expected, `${raw} -> ${expected}`);
});

t.test('attack matrix is refused with SLUICE_PATH_INVALID', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['/a/../../etc', /climb above the root/],
    ['/..', /climb above the root/],
    ['/%2e%2e/', /climb above the root/],
    ['/%2E%2e/etc/passwd', /climb above the root/],
    ['/a/%2e%2e/%2e%2e/etc', /climb above the root/],
    ['/a%2Fb', /encoded slash %2F/],
    ['/a%2fb', /encoded slash %2F/],
    ['/a%5Cb', /encoded backslash/],
    ['/a\\b', /backslash/],
    ['/a%00b', /control character/],
    ['/a\u0000b', /control character/],
    ['/a%0d%0aHost:x', /control character/],
    ['/a\tb', /control character/],
    ['/a%7f', /control character/],
    ['/a%zz', /malformed percent-escape/],
    ['/a%4', /malformed percent-escape/],
    ['/a/..;/b', /ambiguous dot-segment/],
    ['/a/.;x/b', /ambiguous dot-segment/],
    ['a/b', /must start with/],
    ['', /must start with/],
    ['*', /must start with/],
    ['/a b', /raw " "/],
    ['/a#b', /raw "#"/],
    ['/a?b', /raw "\?"/],
    ['/\ud800', /lone surrogate/],
    ['/a/%C0%AE%C0%AE/etc', /not valid UTF-8/],
    ['/a%ff', /not valid UTF-8/],
    ['/a%E6%97', /not valid UTF-8/],
    [`/${'a'.repeat(9000)}`, /longer than/],
  ];
  for (const [raw, why] of cases) {
    const result = refused(raw);
    t.ok(result?.startsWith('SLUICE_PATH_INVALID'), `${JSON.stringify(raw.slice(0, 40))} refused`);
    t.match(result ?? '', why);
  }
});

t.test('allowEncodedSlash keeps %2F as data, never as a separator', async (t) => {
  t.equal(canonicalPath('/@types%2fnode', lenient), '/@types%2Fnode');
  t.equal(canonicalPath('/a%2F..%2Fb', lenient), '/a%2F..%2Fb', 'encoded dots next to encoded slashes are one segment');
  t.match(refused('/a%5Cb', lenient) ?? '', /encoded backslash/, '%5C is refused even then');
  t.match(refused('/a/%2e%2e/%2e%2e', lenient) ?? '', /climb above/);
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
