import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { compilePolicy, formatPolicyError, loadPolicyFile, parsePolicy, policyJsonSchema } from '../../rules/index.js';
import type { PolicyError } from '../../rules/index.js';

/** 1-based line:col of the nth occurrence of `needle`, computed from the text independently of the loader. */
function posOf(text: string, needle: string, nth = 1): string {
  let index = -1;
  for (let i = 0; i < nth; i++) {
    index = text.indexOf(needle, index + 1);
    if (index < 0) throw new Error(`needle ${needle} not found`);
  }
  const before = text.slice(0, index).split('\n');
  return `${before.length}:${before[before.length - 1]!.length + 1}`;
}

function at(errors: PolicyError[], pattern: RegExp): string[] {
  return errors.filter((e) => pattern.test(e.message)).map((e) => `${e.line}:${e.col}`);
}

const header = 'version: 1\nnetwork_policies:\n';

t.test('a valid policy parses, with Sluice defaults', async (t) => {
  const { policy, errors } = parsePolicy(
    `${header}  github:\n    endpoints:\n      - { host: api.github.com, port: 443, protocol: rest, access: read-only }\n    binaries: [{ path: /usr/bin/gh }]\n`,
    'p.yaml',
  );
  t.same(errors, []);
  const ep = policy!.network_policies.github!.endpoints[0]!;
  t.equal(ep.enforcement, undefined, 'enforcement is resolved at compile time');
  t.equal(compilePolicy(policy!).endpoints[0]!.audit, false, 'default enforcement is enforce, not OpenShell audit');
  t.equal(compilePolicy(policy!).endpoints[0]!.allowEncodedSlash, false);
  t.same(policy!.network_policies.github!.binaries, [{ path: '/usr/bin/gh' }]);
});

t.test('unknown key nested deep is reported at the key', async (t) => {
  const text = `${header}  gh:\n    endpoints:\n      - host: api.github.com\n        port: 443\n        protocol: rest\n        rules:\n          - allow:\n              method: GET\n              path: /repos/**\n              bogus: 1\n`;
  const { policy, errors } = parsePolicy(text, 'deep.yaml');
  t.equal(policy, undefined);
  t.equal(errors.length, 1);
  t.equal(formatPolicyError(errors[0]!), `deep.yaml:${posOf(text, 'bogus')}: unknown key "bogus" in network_policies.gh.endpoints[0].rules[0].allow`);
});

t.test("OpenShell's fields load; keys neither knows are errors", async (t) => {
  const ok = parsePolicy(`${header}  a:\n    endpoints:\n      - { host: a.example.com, port: 443, path: /x }\nnetwork_middlewares: {}\n`, 'p');
  t.same(ok.errors, []);
  const text = `${header}  a:\n    endpoints:\n      - { host: a.example.com, port: 443, pathx: /x }\nnetwork_middleware: {}\n`;
  const { errors } = parsePolicy(text, 'p');
  t.same(at(errors, /unknown key "pathx".*did you mean "path"/), [posOf(text, 'pathx')]);
  t.same(at(errors, /unknown key "network_middleware".*did you mean "network_middlewares"/), [posOf(text, 'network_middleware')]);
});

t.test('bad values are reported at the value', async (t) => {
  const text = [
    'version: 1',
    'network_policies:',
    '  a:',
    '    endpoints:',
    '      - host: "*"',
    '        port: 443',
    '      - host: "*.com"',
    '        port: 0',
    '      - host: "**"',
    '        ports: [443, 70000, "80"]',
    '      - host: a.example.com',
    '        port: 443',
    '        allowed_ips: [10.0.0.0/8, 10.0.0.0/33, 300.1.1.1, fd00::/8, nonsense]',
    '      - host: b.example.com',
    '        port: 443',
    '        protocol: rest',
    '        rules:',
    '          - allow: { method: get, path: /x }',
    '          - allow: { method: "G ET", path: "no-slash" }',
    '',
  ].join('\n');
  const { errors } = parsePolicy(text, 'bad.yaml');
  t.same(at(errors, /bare "\*"/), [posOf(text, '"*"')]);
  t.same(at(errors, /bare "\*\*"/), [posOf(text, '"**"')]);
  t.same(at(errors, /\*\.com.*at least three labels/), [posOf(text, '"*.com"')]);
  t.same(at(errors, /port must be from 1 to 65535/), [posOf(text, '0\n'), posOf(text, '70000')]);
  t.same(at(errors, /ports\[2\]: expected a number, got string "80"/), [posOf(text, '"80"')]);
  t.same(at(errors, /invalid prefix length/), [posOf(text, '10.0.0.0/33')]);
  t.same(at(errors, /"300\.1\.1\.1" is not an IP/), [posOf(text, '300.1.1.1')]);
  t.same(at(errors, /"nonsense" is not an IP/), [posOf(text, 'nonsense')]);
  t.same(at(errors, /method must be a method name/), [posOf(text, '"G ET"')], 'method names are case-insensitive (OpenShell); a space is still an error');
  t.same(at(errors, /path glob must start with "\/"/), [posOf(text, '"no-slash"')]);
  t.equal(errors.length, 11, 'every error is reported, not just the first');
  const sorted = [...errors].sort((a, b) => a.line - b.line || a.col - b.col);
  t.same(errors, sorted, 'errors come in file order');
});

t.test('host wildcard restrictions', async (t) => {
  const hosts = {
    '*.example.com': true,
    '**.example.com': true,
    '*-api.example.com': true,
    'api.*.example.com': true,
    '*.co.uk': true,
    '*.com': false,
    '**.com': false,
    'api.*.com': false,
    'api.example.*': false,
    'a.**.example.com': false,
    'x**.example.com': false,
    'a*b.*x.example.com': false,
    'exa mple.com': false,
    '10.0.0.1': true,
    '[::1]': true,
    '::1': true,
    'localhost': true,
  };
  for (const [host, ok] of Object.entries(hosts)) {
    const { errors } = parsePolicy(`${header}  a:\n    endpoints: [{ host: "${host}", port: 443 }]\n`, 'h');
    t.equal(errors.length === 0, ok, `${host} ${ok ? 'accepted' : 'refused'}${errors[0] ? `: ${errors[0].message}` : ''}`);
  }
});

t.test('endpoint constraints: what OpenShell refuses is refused, with its reasons', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['{ host: a.example.com }', /endpoint needs port or ports/],
    ['{ host: a.example.com, port: 443, protocol: rest }', /protocol rest requires rules or access/],
    ['{ host: a.example.com, port: 443, protocol: tcp, access: full }', /protocol tcp does not support access, rules, or deny_rules/],
    ['{ host: a.example.com, port: 443, protocol: rest, access: full, rules: [{ allow: { method: GET, path: / } }] }', /rules and access are mutually exclusive/],
    ['{ host: a.example.com, port: 443, protocol: rest, deny_rules: [{ method: GET, path: / }] }', /deny_rules require rules or access/],
    ['{ host: a.example.com, port: 443, deny_rules: [{ method: GET, path: / }] }', /deny_rules require protocol/],
    ['{ host: a.example.com, port: 443, protocol: websocket }', /protocol websocket requires rules or access/],
    ['{ host: a.example.com, port: 443, protocol: soap }', /protocol must be one of rest, websocket, graphql, sql, json-rpc, mcp, tcp/],
    ['{ host: a.example.com, port: 443, enforcement: block }', /enforcement must be one of enforce, audit/],
    ['{ host: a.example.com, port: 443, protocol: rest, access: read-only, allow_encoded_slash: "true" }', /expected a boolean/],
    ['{ host: a.example.com, port: 443, protocol: rest, rules: [{ allow: { method: GET } }] }', /rest rules need method and path/],
    ['{ host: a.example.com, port: 443, protocol: rest, rules: [{ allow: { method: GET, path: "/a/../b" } }] }', /must not contain "\." or "\.\." segments/],
    ['{ host: a.example.com, port: 443, protocol: rest, rules: [{ allow: { method: GET, path: "/a/[b" } }] }', /unclosed character class/],
    ['{ host: a.example.com, port: 443, protocol: rest, rules: [{ allow: { method: GET, path: "/a", query: { q: 5 } } }] }', /matcher must be a glob string/],
    ['{ host: a.example.com, port: 443, protocol: rest, rules: [] }', /rules list cannot be empty/],
    ['{ host: a.example.com, port: 443, protocol: rest, access: full, deny_rules: [] }', /deny_rules list cannot be empty/],
    ['{ host: a.example.com, port: 443, protocol: sql, enforcement: enforce, rules: [{ allow: { command: SELECT } }] }', /SQL enforcement requires full SQL parsing/],
    ['{ host: a.example.com, port: 443, protocol: json-rpc, access: full }', /protocol json-rpc does not support access presets/],
    ['{ port: 443 }', /endpoint host must not be empty unless allowed_ips/],
    ['{ port: 443, protocol: tcp, allowed_ips: [10.0.0.0/8] }', /protocol tcp requires a DNS hostname/],
    ['{ host: 10.0.0.1, port: 5432, protocol: tcp }', /must use a DNS hostname, not an IP literal/],
    ['{ host: a.example.com, port: 443, path: "no-slash", protocol: rest, access: full }', /path glob must start with/],
    ['{ host: a.example.com, port: 443, allowed_ips: [0.0.0.0/1] }', /overlaps an always-blocked range/],
    ['{ host: a.example.com, port: 443, allowed_ips: [169.254.169.254] }', /overlaps an always-blocked range/],
  ];
  for (const [endpoint, expected] of cases) {
    const { errors } = parsePolicy(`${header}  a:\n    endpoints:\n      - ${endpoint}\n`, 'c');
    t.ok(errors.some((e) => expected.test(e.message)), `${endpoint} -> ${expected}: got ${errors.map((e) => e.message).join(' | ')}`);
  }
  const ok = parsePolicy(
    `${header}  a:\n    endpoints:\n      - { host: a.example.com, port: 22, protocol: tcp }\n      - { host: b.example.com, port: 443, tls: skip }\n      - { host: c.example.com, port: 443, tls: terminate, protocol: rest, access: full }\n      - { host: d.example.com, port: 443, ports: [443, 8443] }\n      - { port: 9443, allowed_ips: [10.0.0.0/8] }\n      - { host: e.example.com, port: 443, protocol: rest, access: full, tls: skip }\n`,
    'ok',
  );
  t.same(ok.errors, [], 'tcp, tls: skip, legacy tls: terminate, port with ports, hostless allowed_ips and tls: skip with rest are accepted (OpenShell accepts them)');
  t.ok(ok.warnings!.some((w) => /tls: terminate.*deprecated/.test(w.message)), 'deprecated tls values are warnings');
  t.ok(ok.warnings!.some((w) => /port is ignored because ports is set/.test(w.message)));
  t.ok(ok.warnings!.some((w) => /tls: skip is ignored with protocol rest/.test(w.message)));
});

t.test('missing keys point at the mapping that should hold them', async (t) => {
  const text = 'network_policies: {}\n';
  const { errors } = parsePolicy(text, 'v.yaml');
  t.same(errors.map(formatPolicyError), ['v.yaml:1:1: missing required key "version"']);
  const wrong = parsePolicy('version: 2\n', 'v.yaml');
  t.same(wrong.errors.map(formatPolicyError), ['v.yaml:1:10: version: must be 1']);
});

t.test('overlapping endpoints must agree (OpenShell ambiguity.rs): tls, allowed_ips, raw TCP, and for request pipelines protocol and enforcement', async (t) => {
  const text = [
    'version: 1',
    'network_policies:',
    '  a:',
    '    endpoints:',
    '      - { host: api.example.com, port: 443, protocol: rest, access: full }',
    '      - { host: api.example.com, port: 8443 }',
    '      - { host: api.example.com, port: 9443, protocol: rest, access: full, enforcement: enforce }',
    '      - { host: api.example.com, port: 7443, protocol: rest, access: full, enforcement: audit }',
    '  b:',
    '    endpoints:',
    '      - { host: "*.example.com", ports: [443], tls: skip }',
    '      - { host: "**.example.com", port: 8443, allowed_ips: [10.0.0.0/8] }',
    '      - { host: api.example.com, port: 9443, protocol: rest, access: read-only }',
    '      - { host: "*.example.org", port: 443, tls: skip }',
    '      - { host: api.example.com, port: 7443, protocol: rest, access: read-only }',
    '      - { host: api.example.com, port: 9443 }',
    '',
  ].join('\n');
  const { errors } = parsePolicy(text, 'o.yaml');
  t.same(at(errors, /tls=auto vs skip/), [posOf(text, '{ host: "*.example.com", ports')]);
  t.same(at(errors, /allowed_ips=\[\] vs \[10.0.0.0\/8\]/), [posOf(text, '{ host: "**.example.com"')]);
  t.same(at(errors, /enforcement=enforce vs audit/), [posOf(text, '{ host: api.example.com, port: 9443, protocol: rest, access: read-only')], 'explicit enforce against an unset (OpenShell: audit) one is refused as OpenShell refuses it');
  t.equal(errors.length, 3, 'an unset enforcement next to an explicit audit agrees; uninspected endpoints never conflict on the pipeline');
  const ok = parsePolicy(text.split('\n').filter((l) => !/tls: skip \}|10.0.0.0\/8|9443, protocol/.test(l)).join('\n'), 'o2.yaml');
  t.same(ok.errors, []);
  const compiled = compilePolicy(ok.policy!);
  t.same(compiled.endpoints.filter((e) => e.label.includes('7443')).map((e) => e.audit), [true, true], 'the unset endpoint inherits the explicit audit it overlaps');
});

t.test('filesystem_policy, landlock and process are validated', async (t) => {
  const text = [
    'version: 1',
    'filesystem_policy:',
    '  include_workdir: true',
    '  read_only: [/usr, relative/path, /a/../b]',
    '  read_write: [/tmp, /]',
    'landlock: { compatibility: strict }',
    'process: { run_as_user: root, run_as_group: 0 }',
    '',
  ].join('\n');
  const { errors } = parsePolicy(text, 'fs.yaml');
  t.same(at(errors, /must be absolute/), [posOf(text, 'relative/path')]);
  t.same(at(errors, /must not contain "\.\."/), [posOf(text, '/a/../b')]);
  t.same(at(errors, /read_write cannot contain "\/"/), [posOf(text, '/]')]);
  t.same(at(errors, /compatibility must be one of best_effort, hard_requirement/), [posOf(text, 'strict')]);
  t.same(at(errors, /run_as_user: must be "sandbox" or a numeric id/), [posOf(text, 'root')]);
  t.same(at(errors, /run_as_group: must be "sandbox" or a numeric id/), [posOf(text, '0 }')]);
  const good = parsePolicy('version: 1\nprocess: { run_as_user: sandbox, run_as_group: 1500 }\nlandlock: { compatibility: best_effort }\n', 'ok');
  t.same(good.errors, []);
  t.equal(good.policy!.process!.run_as_group, '1500', 'numeric ids are normalised to strings');
});

t.test('YAML syntax errors and duplicate keys carry positions', async (t) => {
  const dup = 'version: 1\nversion: 1\n';
  t.same(parsePolicy(dup, 'd.yaml').errors.map((e) => `${e.line}:${e.col}`), ['2:1']);
  const broken = 'version: 1\nnetwork_policies:\n  a: [\n';
  const errors = parsePolicy(broken, 'b.yaml').errors;
  t.ok(errors.length >= 1);
  t.match(errors[0]!.message, /^YAML: /);
  t.same(parsePolicy('', 'e.yaml').errors.map(formatPolicyError), ['e.yaml:1:1: policy file is empty; it needs at least "version: 1"']);
  t.match(parsePolicy('- 1\n', 'l.yaml').errors[0]!.message, /expected a mapping, got a list/);
  t.same(parsePolicy('version: 1\n---\nversion: 1\n', 'm.yaml').errors.map(formatPolicyError), ['m.yaml:2:1: YAML: a policy file holds one YAML document (found "---" separating several)']);
  t.same(parsePolicy('version: !foo 1\n', 't.yaml').errors.map(formatPolicyError), ['t.yaml:1:10: YAML: Unresolved tag: !foo'], 'YAML warnings are errors');
  t.same(parsePolicy('version: 1\n? [a]\n: 1\n', 'k.yaml').errors.map(formatPolicyError), ['k.yaml:2:3: YAML: keys must be plain strings']);
  t.same(parsePolicy('version: 1\nnetwork_policies:\n', 'n.yaml').errors, [], 'an empty network_policies: is no policies (OpenShell)');
});

t.test('inference, privacy and providers use their owners\' schemas', async (t) => {
  const text = 'version: 1\ninference:\n  backends:\n    local: { type: ollama, url: "http://127.0.0.1:11434", colour: red }\nprivacy: { mode: pseudonymize }\nproviders:\n  gh: { from: env:GITHUB_TOKEN, hosts: [api.github.com] }\n';
  const { errors } = parsePolicy(text, 'i.yaml');
  t.same(errors.map(formatPolicyError), [`i.yaml:${posOf(text, 'colour')}: unknown key "colour" in inference.backends.local`]);
});

t.test('loadPolicyFile reads a file and reports unreadable ones', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'sluice-rules-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'policy.yaml');
  await writeFile(file, 'version: 1\nbogus: 1\n');
  const result = await loadPolicyFile(file);
  t.same(result.errors.map(formatPolicyError), [`${file}:2:1: unknown key "bogus" at the top level`]);
  const missing = await loadPolicyFile(path.join(dir, 'nope.yaml'));
  t.equal(missing.errors.length, 1);
  t.match(missing.errors[0]!.message, /cannot read policy file/);
});

t.test('policy names and glob ranges are checked', async (t) => {
  const text = `${header}  "bad name!":\n    endpoints:\n      - { host: a.example.com, port: 443, protocol: rest, rules: [{ allow: { method: GET, path: "/v[z-a]" } }] }\n`;
  const { errors } = parsePolicy(text, 'n.yaml');
  t.same(at(errors, /invalid name: policy names are 1 to 128 printable/), [posOf(text, '"bad name!"')]);
  t.same(parsePolicy(`${header}  _private:\n    endpoints: []\n`, 'u.yaml').errors, [], 'names may start with "_" (OpenShell)');
  const glob = parsePolicy(`${header}  ok:\n    endpoints:\n      - { host: a.example.com, port: 443, protocol: rest, rules: [{ allow: { method: GET, path: "/v[z-a]" } }] }\n`, 'g.yaml');
  t.match(glob.errors[0]?.message ?? '', /invalid glob "\/v\[z-a\]"/);
});

t.test('unknown keys come with a suggestion when one is close', async (t) => {
  const text = `version: 1\nnetwork_polices: {}\nnetwork_policies:\n  a:\n    endpoints:\n      - { host: a.example.com, port: 443, enforcment: audit, Host: x, deny_rule: [], zzz: 1 }\n      - { host: b.example.com, port: 443, protocol: rest, rules: [{ allow: { method: GET, path: /x, qurey: {} } }] }\n`;
  const messages = parsePolicy(text, 's.yaml').errors.map((e) => e.message);
  t.same(messages, [
    'unknown key "network_polices" at the top level (did you mean "network_policies"?)',
    'unknown key "enforcment" in network_policies.a.endpoints[0] (did you mean "enforcement"?)',
    'unknown key "Host" in network_policies.a.endpoints[0] (did you mean "host"?)',
    'unknown key "deny_rule" in network_policies.a.endpoints[0] (did you mean "deny_rules"?)',
    'unknown key "zzz" in network_policies.a.endpoints[0]',
    'unknown key "qurey" in network_policies.a.endpoints[1].rules[0].allow (did you mean "query"?)',
  ]);
});

t.test('the schema exports a JSON Schema with descriptions for editors', async (t) => {
  const schema = policyJsonSchema() as { properties: Record<string, { description?: string }> };
  t.match(schema.properties.version!.description, /must be 1/);
  t.match(JSON.stringify(schema), /Default enforce \(OpenShell: audit\)/);
});
