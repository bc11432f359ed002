import t from 'tap';
import { ACCESS_PRESETS } from '../../rules/index.js';
import { compileYaml, request } from './helpers.js';

const ALL_METHODS = ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE', 'TRACE', 'PROPFIND'];

t.test('access presets follow OpenShell', async (t) => {
  t.same(ACCESS_PRESETS['read-only'], ['GET', 'HEAD', 'OPTIONS']);
  t.same(ACCESS_PRESETS['read-write'], ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH']);
  const policy = compileYaml(`
version: 1
network_policies:
  ro: { endpoints: [{ host: ro.test, port: 443, protocol: rest, access: read-only }] }
  rw: { endpoints: [{ host: rw.test, port: 443, protocol: rest, access: read-write }] }
  full: { endpoints: [{ host: full.test, port: 443, protocol: rest, access: full }] }
`);
  const expected: Record<string, string[]> = {
    'ro.test': ['GET', 'HEAD', 'OPTIONS'],
    'rw.test': ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH'],
    'full.test': ALL_METHODS,
  };
  for (const [host, allowed] of Object.entries(expected)) {
    for (const method of ALL_METHODS) {
      const d = request(policy, method, `https://${host}/any/path?x=1`);
      t.equal(d.action, allowed.includes(method) ? 'allow' : 'deny', `${method} on ${host}`);
      if (d.action === 'deny') t.equal(d.code, 'l7_denied');
    }
  }
  const denied = request(policy, 'POST', 'https://ro.test/x');
  t.equal(denied.policy, 'ro');
  t.equal(denied.reason, 'no rule of network policy ro allows POST /x on ro.test:443 (allowed: read-only)');
});

const rules = compileYaml(`
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
          - allow:
              method: GET
              path: /search
              query:
                q: "repo-*"
                per_page: { any: ["10", "100"] }
        deny_rules:
          - { method: "*", path: "/repos/*/*/hooks" }
          - { method: "*", path: "/repos/*/*/hooks/**" }
          - method: GET
            path: "/repos/**"
            query: { secret: "**" }
`);

t.test('rules with path globs', async (t) => {
  const cases: Array<[string, string, string]> = [
    ['GET', 'https://api.github.com/repos/a/b', 'allow'],
    ['GET', 'https://api.github.com/repos/a/b/pulls/1', 'allow'],
    ['GET', 'https://api.github.com/repos', 'deny'],
    ['GET', 'https://api.github.com/user', 'deny'],
    ['POST', 'https://api.github.com/repos/a/b/issues', 'allow'],
    ['POST', 'https://api.github.com/repos/a/b/c/issues', 'deny'],
    ['POST', 'https://api.github.com/repos/a/b', 'deny'],
    ['DELETE', 'https://api.github.com/repos/a/b', 'deny'],
    ['PUT', 'https://api.github.com/repos/a/b/issues', 'deny'],
  ];
  for (const [method, url, expected] of cases) t.equal(request(rules, method, url).action, expected, `${method} ${url}`);
  const ok = request(rules, 'GET', 'https://api.github.com/repos/a/b');
  t.equal(ok.rule, 'api.github.com:443 GET /repos/**');
  t.equal(ok.policy, 'github');
  t.equal(ok.path, '/repos/a/b');
});

t.test('a GET rule admits HEAD, not the other way round', async (t) => {
  t.equal(request(rules, 'HEAD', 'https://api.github.com/repos/a/b').action, 'allow');
  const headOnly = compileYaml('version: 1\nnetwork_policies:\n  h: { endpoints: [{ host: h.test, port: 443, protocol: rest, rules: [{ allow: { method: HEAD, path: "/**" } }] }] }\n');
  t.equal(request(headOnly, 'HEAD', 'https://h.test/x').action, 'allow');
  t.equal(request(headOnly, 'GET', 'https://h.test/x').action, 'deny');
});

t.test('methods compare case-insensitively, as in OpenShell (opa.rs l7_method_matching_case_insensitive)', async (t) => {
  t.equal(request(rules, 'get', 'https://api.github.com/repos/a/b').action, 'allow');
  t.equal(request(rules, 'Get', 'https://api.github.com/repos/a/b').action, 'allow');
});

t.test('deny_rules win over allow rules', async (t) => {
  const d = request(rules, 'GET', 'https://api.github.com/repos/a/b/hooks');
  t.equal(d.action, 'deny');
  t.equal(d.code, 'l7_denied');
  t.equal(d.rule, 'api.github.com:443 deny * /repos/*/*/hooks');
  t.match(d.reason, /deny rule \* \/repos\/\*\/\*\/hooks of network policy github forbids GET \/repos\/a\/b\/hooks/);
  t.equal(request(rules, 'GET', 'https://api.github.com/repos/a/b/hooks/1').action, 'deny');
  t.equal(request(rules, 'GET', 'https://api.github.com/repos/a/b/hooksx').action, 'allow');
  t.equal(request(rules, 'GET', 'https://api.github.com/repos/a/b/x/../hooks').action, 'deny', 'dot-segments cannot dodge a deny rule');
  t.equal(request(rules, 'GET', 'https://api.github.com/repos/a/b//hooks').action, 'deny', 'nor can doubled slashes');
  t.equal(request(rules, 'GET', 'https://api.github.com/repos/a/b/%68ooks').action, 'deny', 'nor can encoded unreserved characters');
});

t.test('query matchers', async (t) => {
  const q = (query: string) => request(rules, 'GET', `https://api.github.com/search?${query}`).action;
  t.equal(q('q=repo-sluice&per_page=10'), 'allow');
  t.equal(q('q=repo-sluice&per_page=100'), 'allow');
  t.equal(q('q=repo-sluice'), 'deny', 'a configured parameter must be present');
  t.equal(q('q=user-x&per_page=10'), 'deny');
  t.equal(q('q=repo-a&q=evil&per_page=10'), 'deny', 'every value of a repeated parameter must match an allow rule');
  t.equal(q('q=repo-a.b&per_page=10'), 'deny', '* does not cross "." in query values');
  t.equal(q('q=repo-%73luice&per_page=10&extra=1'), 'allow', 'values are decoded; other parameters are free');
  t.equal(request(rules, 'GET', 'https://api.github.com/repos/a/b?secret=x').action, 'deny', 'deny rule with a query matcher');
  t.equal(request(rules, 'GET', 'https://api.github.com/repos/a/b?ok=1&secret=').action, 'deny', 'one matching value is enough to deny');
  t.equal(request(rules, 'GET', 'https://api.github.com/repos/a/b?other=1').action, 'allow');
});

t.test('path canonicalisation decides before matching', async (t) => {
  const d = request(rules, 'GET', 'https://api.github.com/repos/../../etc/passwd');
  t.equal(d.action, 'deny');
  t.equal(d.code, 'path_invalid');
  t.equal(request(rules, 'GET', 'https://api.github.com/repos/a%2Fb/c').code, 'path_invalid', '%2F refused without allow_encoded_slash');
  const npm = compileYaml('version: 1\nnetwork_policies:\n  npm: { endpoints: [{ host: registry.example.com, port: 443, protocol: rest, access: read-only, allow_encoded_slash: true }] }\n');
  const scoped = request(npm, 'GET', 'https://registry.example.com/@types%2fnode');
  t.equal(scoped.action, 'allow');
  t.equal(scoped.path, '/@types%2Fnode');
  const plain = compileYaml('version: 1\nnetwork_policies:\n  p: { endpoints: [{ host: plain.test, port: 443 }] }\n');
  t.equal(request(plain, 'DELETE', 'https://plain.test/anything').action, 'allow', 'no protocol: any method and path');
  t.equal(request(plain, 'GET', 'https://plain.test/a/../../x').code, 'path_invalid', 'but paths are still canonicalised');
});

t.test('enforcement: audit turns denials into logged allows', async (t) => {
  const audit = compileYaml(`
version: 1
network_policies:
  a:
    endpoints:
      - host: audit.test
        port: 443
        protocol: rest
        enforcement: audit
        access: read-only
        deny_rules: [{ method: GET, path: "/secret/**" }]
`);
  const post = request(audit, 'POST', 'https://audit.test/x');
  t.equal(post.action, 'allow');
  t.equal(post.audited, true);
  t.equal(post.code, 'l7_denied', 'the code it would have had is kept');
  t.match(post.reason, /no rule of network policy a allows POST \/x/);
  const secret = request(audit, 'GET', 'https://audit.test/secret/k');
  t.equal(secret.action, 'allow');
  t.equal(secret.audited, true);
  t.match(secret.reason, /deny rule GET \/secret\/\*\* of network policy a forbids/);
  const ok = request(audit, 'GET', 'https://audit.test/x');
  t.equal(ok.audited, undefined, 'allowed requests are not marked');
  t.equal(request(audit, 'GET', 'https://audit.test/../x').action, 'deny', 'an invalid path is refused even under audit');
  t.equal(request(audit, 'GET', 'https://other.test/').action, 'deny', 'audit never opens hosts the policy does not name');
});

t.test('several endpoints for one host and port', async (t) => {
  const multi = compileYaml(`
version: 1
network_policies:
  reader:
    endpoints: [{ host: multi.test, port: 443, protocol: rest, access: read-only }]
  writer:
    endpoints:
      - host: multi.test
        port: 443
        protocol: rest
        rules: [{ allow: { method: POST, path: "/upload/*" } }]
        deny_rules: [{ method: "*", path: "/upload/admin" }]
  uninspected:
    endpoints: [{ host: multi.test, port: 443 }]
`);
  t.equal(request(multi, 'GET', 'https://multi.test/x').policy, 'reader');
  const upload = request(multi, 'POST', 'https://multi.test/upload/file');
  t.equal(upload.action, 'allow');
  t.equal(upload.policy, 'writer');
  t.equal(request(multi, 'GET', 'https://multi.test/upload/admin').action, 'deny', "another policy's deny rule still wins");
  t.equal(request(multi, 'DELETE', 'https://multi.test/x').action, 'deny', 'an uninspected endpoint adds no request access');
});
