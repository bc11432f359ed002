import t from 'tap';
import { compileYaml } from './helpers.js';

const policy = compileYaml(`
version: 1
network_policies:
  github:
    endpoints:
      - host: api.github.com
        port: 443
        protocol: rest
        rules:
          - allow: { method: GET, path: "/repos/**" }
          - allow: { method: POST, path: "/repos/*/*/issues" }
        deny_rules:
          - { method: "*", path: "/repos/*/*/hooks/**" }
      - { host: api.github.com, port: 8443, protocol: rest, access: read-only }
      - { host: "*.githubusercontent.com", port: 443, protocol: rest, access: read-only }
  skip:
    endpoints:
      - { host: raw.skip.test, port: 443, tls: skip }
  audit:
    endpoints:
      - { host: audit.test, port: 443, protocol: rest, access: read-only, enforcement: audit }
`);

t.test('an allowed request names the rule that decided', async (t) => {
  const { decision, lines } = policy.explain('GET', 'https://api.github.com/repos/a/b');
  t.equal(decision.action, 'allow');
  t.same(lines, [
    'ALLOW allowed: network policy github allows GET /repos/a/b on api.github.com:443 (rule GET /repos/**)',
    '  policy: github',
    '  rule:   api.github.com:443 GET /repos/**',
    'near misses:',
    '  - github api.github.com:8443: port 443 is not 8443',
  ]);
});

t.test('a denied request lists the rules that nearly matched and why', async (t) => {
  const { decision, lines } = policy.explain('DELETE', 'https://api.github.com/repos/a/b/issues');
  t.equal(decision.code, 'l7_denied');
  t.equal(lines[0], 'DENY l7_denied: no rule of network policy github allows DELETE /repos/a/b/issues on api.github.com:443 (allowed: GET /repos/**; POST /repos/*/*/issues)');
  t.ok(lines.includes('  - github api.github.com:443 GET /repos/**: method DELETE is not GET'));
  t.ok(lines.includes('  - github api.github.com:443 POST /repos/*/*/issues: method DELETE is not POST'));
  const wrongPath = policy.explain('POST', 'https://api.github.com/repos/a/b/pulls');
  t.ok(wrongPath.lines.includes('  - github api.github.com:443 POST /repos/*/*/issues: path /repos/a/b/pulls does not match /repos/*/*/issues'));
});

t.test('a deny rule is named as the rule that decided', async (t) => {
  const { decision, lines } = policy.explain('GET', 'https://api.github.com/repos/a/b/hooks/1');
  t.equal(decision.action, 'deny');
  t.equal(decision.rule, 'api.github.com:443 deny * /repos/*/*/hooks/**');
  t.ok(lines.includes('  rule:   api.github.com:443 deny * /repos/*/*/hooks/**'));
});

t.test('same host on another port, and hosts with the same suffix, are near misses', async (t) => {
  const port = policy.explain('GET', 'http://api.github.com/repos/a/b');
  t.equal(port.decision.code, 'policy_denied');
  t.equal(port.lines[0], 'DENY policy_denied: no network policy allows api.github.com:80');
  t.ok(port.lines.includes('  - github api.github.com:443: port 80 is not 443'));
  t.ok(port.lines.includes('  - github api.github.com:8443: port 80 is not 8443'));
  const deep = policy.explain('GET', 'https://a.b.githubusercontent.com/x');
  t.ok(deep.lines.includes('  - github *.githubusercontent.com:443: *.githubusercontent.com matches names of 3 labels; a.b.githubusercontent.com has 4 ("*" is exactly one label; "**" is one or more)'));
  const sibling = policy.explain('GET', 'https://uploads.github.com/x');
  t.ok(sibling.lines.includes('  - github api.github.com:443: host uploads.github.com is not api.github.com'));
  const unrelated = policy.explain('GET', 'https://example.org/');
  t.notOk(unrelated.lines.includes('near misses:'), 'no near misses for unrelated hosts');
  t.equal(unrelated.lines[0], 'DENY policy_denied: no network policy allows example.org:443');
  t.equal(unrelated.lines[1], '  fix:    add the endpoint { host: example.org, port: 443 } to a network policy', 'the fix follows the decision');
});

t.test('canonical path, tls: skip and audit are spelled out', async (t) => {
  const canon = policy.explain('GET', 'https://api.github.com/repos/a/./b//c');
  t.ok(canon.lines.includes('  path:   /repos/a/b/c (canonical form of /repos/a/./b//c)'));
  const skip = policy.explain('POST', 'https://raw.skip.test/anything');
  t.equal(skip.decision.action, 'allow');
  t.match(skip.lines.join('\n'), /requests are not inspected: the connection is tunneled raw/);
  const audit = policy.explain('POST', 'https://audit.test/x');
  t.equal(audit.decision.audited, true);
  t.match(audit.lines[0]!, /^ALLOW \(audit: would deny\) l7_denied: /);
  const bad = policy.explain('GET', 'https://api.github.com/repos/%2e%2e/%2e%2e/x');
  t.equal(bad.decision.code, 'path_invalid');
});

t.test('URLs that cannot be explained are refused in words', async (t) => {
  t.match(policy.explain('GET', 'ftp://x.test/').lines[0]!, /^DENY bad_request: .*unsupported scheme "ftp"/);
  t.match(policy.explain('GET', 'not a url').lines[0]!, /^DENY bad_request: .*not an absolute http\(s\) URL/);
  t.match(policy.explain('GET', 'https://exa mple.com/').lines[0]!, /^DENY bad_request/);
  t.equal(policy.explain('GET', 'https://API.GITHUB.COM./repos/a').decision.action, 'allow', 'host canonicalised');
});
