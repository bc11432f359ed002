import t from 'tap';
import { parseHostPattern, patternsOverlap } from '../../rules/host-pattern.js';
import { compileYaml, dest } from './helpers.js';

t.test('patterns are canonicalised label-wise', async (t) => {
  t.equal(parseHostPattern('*.EXAMPLE.com.').host, '*.example.com');
  t.equal(parseHostPattern('**.Bücher.example').host, '**.xn--bcher-kva.example');
  t.equal(parseHostPattern('*-API.example.com').host, '*-api.example.com');
  t.same(parseHostPattern('0x7f.1'), { kind: 'ip', text: '0x7f.1', host: '127.0.0.1', ipVersion: 4 });
  t.equal(parseHostPattern('[::FFFF:127.0.0.1]').host, '::ffff:7f00:1');
});

t.test('hosts written as URLs or with ports get a pointed message', async (t) => {
  t.throws(() => parseHostPattern('https://api.github.com'), /must be a host name, not a URL/);
  t.throws(() => parseHostPattern('api.github.com:443'), /must not include a port/);
  t.throws(() => parseHostPattern('*.example.com:443'), /must not include a port/);
  t.throws(() => parseHostPattern('a..b.com'), /invalid host/);
});

t.test('overlap between patterns', async (t) => {
  const o = (a: string, b: string) => patternsOverlap(parseHostPattern(a), parseHostPattern(b));
  const cases: Array<[string, string, boolean]> = [
    ['api.example.com', 'api.example.com', true],
    ['api.example.com', 'www.example.com', false],
    ['*.example.com', 'api.example.com', true],
    ['*.example.com', 'a.b.example.com', false],
    ['**.example.com', 'a.b.example.com', true],
    ['**.example.com', '*.example.com', true],
    ['**.example.com', 'api.*.example.com', true],
    ['*.example.com', 'api.*.example.com', false],
    ['*-api.example.com', 'web.example.com', false],
    ['*-api.example.com', 'x-api.example.com', true],
    ['*-api.example.com', '*.example.com', true],
    ['*.example.com', '*.example.org', false],
    ['10.0.0.1', '10.0.0.1', true],
    ['10.0.0.1', '*.example.com', false],
  ];
  for (const [a, b, expected] of cases) {
    t.equal(o(a, b), expected, `${a} vs ${b}`);
    t.equal(o(b, a), expected, `${b} vs ${a}`);
  }
});

t.test('wildcard matching is label-wise, not substring', async (t) => {
  const policy = compileYaml('version: 1\nnetwork_policies:\n  w:\n    endpoints: [{ host: "*.example.com", port: 443 }, { host: "**.deep.example.org", port: 443 }]\n');
  const a = (authority: string) => policy.decideConnect(dest(authority)).action;
  t.equal(a('a.example.com:443'), 'allow');
  t.equal(a('a.b.example.com:443'), 'deny');
  t.equal(a('example.com:443'), 'deny');
  t.equal(a('evilexample.com:443'), 'deny');
  t.equal(a('a.example.com.evil.test:443'), 'deny');
  t.equal(a('x.deep.example.org:443'), 'allow');
  t.equal(a('x.y.z.deep.example.org:443'), 'allow');
  t.equal(a('deep.example.org:443'), 'deny');
  t.equal(a('xdeep.example.org:443'), 'deny');
});
