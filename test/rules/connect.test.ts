import t from 'tap';
import { compileYaml, dest } from './helpers.js';

const policy = compileYaml(`
version: 1
network_policies:
  exact:
    endpoints:
      - { host: API.Example.COM., port: 443 }
  one-label:
    endpoints:
      - { host: "*.one.test", port: 443 }
  many-labels:
    name: Many labels
    endpoints:
      - { host: "**.many.test", ports: [443, 8443] }
  partial:
    endpoints:
      - { host: "*-api.partial.test", port: 443 }
      - { host: "api.*.middle.test", port: 443 }
  idn:
    endpoints:
      - { host: "bücher.example", port: 443 }
      - { host: "*.bücher.example", port: 443 }
  ips:
    endpoints:
      - { host: 10.1.2.3, port: 8080, allowed_ips: [10.1.2.3] }
      - { host: "[2001:DB8::1]", port: 443 }
      - { host: 0x7f.1, port: 9000 }
  raw:
    endpoints:
      - { host: git.raw.test, port: 22, protocol: tcp }
      - { host: pinned.raw.test, port: 443, tls: skip, allowed_ips: [192.168.0.0/16, "fd00::/8"] }
  inspected:
    endpoints:
      - { host: api.inspected.test, port: 443, protocol: rest, access: read-only, allow_encoded_slash: true }
      - { host: "*.inspected.test", port: 443 }
`);

function action(authority: string): string {
  return policy.decideConnect(dest(authority)).action;
}

t.test('exact hosts are canonicalised at compile', async (t) => {
  t.equal(action('api.example.com:443'), 'allow');
  t.equal(action('API.example.com.:443'), 'allow', 'destinations are canonicalised by core');
  t.equal(action('api.example.com:80'), 'deny', 'other port');
  t.equal(action('x.api.example.com:443'), 'deny');
  t.equal(action('example.com:443'), 'deny');
  const d = policy.decideConnect(dest('api.example.com:443'));
  t.equal(d.policy, 'exact');
  t.equal(d.rule, 'api.example.com:443');
  t.equal(d.code, 'allowed');
});

t.test('* is exactly one label', async (t) => {
  t.equal(action('a.one.test:443'), 'allow');
  t.equal(action('a.b.one.test:443'), 'deny');
  t.equal(action('one.test:443'), 'deny');
});

t.test('** is one or more labels', async (t) => {
  t.equal(action('a.many.test:443'), 'allow');
  t.equal(action('a.b.c.many.test:8443'), 'allow');
  t.equal(action('many.test:443'), 'deny');
  t.equal(action('a.many.test:80'), 'deny');
  t.equal(action('amany.test:443'), 'deny', 'label boundary respected');
  t.equal(policy.decideConnect(dest('x.many.test:443')).policy, 'Many labels', 'name overrides the key');
});

t.test('partial first label and middle wildcards', async (t) => {
  t.equal(action('foo-api.partial.test:443'), 'allow');
  t.equal(action('-api.partial.test:443'), 'allow');
  t.equal(action('foo-web.partial.test:443'), 'deny');
  t.equal(action('api.x.middle.test:443'), 'allow');
  t.equal(action('api.x.y.middle.test:443'), 'deny');
});

t.test('IDN hosts are compared in punycode', async (t) => {
  t.equal(action('xn--bcher-kva.example:443'), 'allow');
  t.equal(action('bücher.example:443'), 'allow');
  t.equal(action('shop.xn--bcher-kva.example:443'), 'allow');
});

t.test('IP-literal endpoints match IP destinations only', async (t) => {
  t.equal(action('10.1.2.3:8080'), 'allow');
  t.equal(action('167838211:8080'), 'allow', 'decimal spelling of 10.1.2.3');
  t.equal(action('10.1.2.4:8080'), 'deny');
  t.equal(action('[2001:db8:0:0::1]:443'), 'allow');
  t.equal(action('127.0.0.1:9000'), 'allow', 'policy host 0x7f.1 is canonicalised to 127.0.0.1');
  t.equal(action('0177.0.0.1:9000'), 'allow');
  const d = policy.decideConnect(dest('10.1.2.3:8080'));
  t.same(d.endpoint?.allowedIps, ['10.1.2.3/32']);
  t.equal(d.endpoint?.exactHost, true, 'a declared literal address may be private (OpenShell)');
});

t.test('endpoint options reach the proxy', async (t) => {
  const tcp = policy.decideConnect(dest('git.raw.test:22'));
  t.same(tcp.endpoint, { tlsSkip: true, allowedIps: [], inspect: false, allowEncodedSlash: false, exactHost: true });
  const skip = policy.decideConnect(dest('pinned.raw.test:443'));
  t.same(skip.endpoint, { tlsSkip: true, allowedIps: ['192.168.0.0/16', 'fd00::/8'], inspect: false, allowEncodedSlash: false, exactHost: true });
  const both = policy.decideConnect(dest('api.inspected.test:443'));
  t.same(both.endpoint, { tlsSkip: false, allowedIps: [], inspect: true, allowEncodedSlash: true, exactHost: true }, 'inspect when any matching endpoint inspects');
  const plain = policy.decideConnect(dest('www.inspected.test:443'));
  t.same(plain.endpoint, { tlsSkip: false, allowedIps: [], inspect: false, allowEncodedSlash: false, exactHost: false }, 'a wildcard host keeps private answers out');
});

t.test('default deny says what was refused', async (t) => {
  const d = policy.decideConnect(dest('evil.test:443'));
  t.match(d, { action: 'deny', code: 'policy_denied', reason: 'no network policy allows evil.test:443' });
  t.equal(d.remedy?.summary, 'add the endpoint { host: evil.test, port: 443 } to a network policy', 'and what would allow it');
  t.equal(d.remedy?.yaml, 'network_policies:\n  evil.test:\n    endpoints:\n      - { host: evil.test, port: 443 }');
  const v6 = policy.decideConnect(dest('[::1]:443'));
  t.equal(v6.reason, 'no network policy allows [::1]:443');
});

t.test('an empty policy denies everything', async (t) => {
  const empty = compileYaml('version: 1\n');
  t.equal(empty.decideConnect(dest('registry.example.com:443')).action, 'deny');
  t.equal(empty.decideRequest(dest('registry.example.com:443'), 'GET', '/', '').code, 'policy_denied');
});
