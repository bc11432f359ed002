import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { compilePolicy, formatPolicyError, parsePolicy } from '../../rules/index.js';

/**
 * Every policy OpenShell accepts among those in its repository (examples, docs, e2e fixtures and
 * the policies embedded in its Rust tests, vendored under test/fixtures/openshell/accepted) loads
 * and compiles; every one it refuses (rejected/) is refused here too.
 */
const base = path.join(import.meta.dirname, '../fixtures/openshell');
const files = (dir: string) => readdirSync(path.join(base, dir)).filter((f) => f.endsWith('.yaml')).sort();

t.test('OpenShell-valid policies load', async (t) => {
  const all = files('accepted');
  let loaded = 0;
  for (const f of all) {
    const { policy, errors } = parsePolicy(readFileSync(path.join(base, 'accepted', f), 'utf8'), f);
    t.ok(policy, `${f}${errors.length ? `: ${errors.map(formatPolicyError).join(' | ')}` : ''}`);
    if (policy) {
      compilePolicy(policy);
      loaded++;
    }
  }
  t.comment(`OpenShell-valid policies that load: ${loaded}/${all.length} (${((100 * loaded) / all.length).toFixed(1)} %)`);
  t.ok(all.length >= 120, 'the corpus is there');
});

t.test('policies OpenShell refuses are refused', async (t) => {
  for (const f of files('rejected')) {
    const { policy, errors } = parsePolicy(readFileSync(path.join(base, 'rejected', f), 'utf8'), f);
    t.notOk(policy, f);
    t.ok(errors.length > 0, `${f}: ${errors[0]?.message ?? ''}`);
  }
});

t.test('what Sluice does differently is said at load, never silently', async (t) => {
  const text = `version: 1
network_middlewares:
  redactor: { middleware: openshell/regex, order: 1, endpoints: { include: ["api.example.com"] } }
  guard: { middleware: acme/guard, order: 2, endpoints: { include: ["*.corp.example.com"] } }
  soft: { middleware: acme/soft, order: 3, on_error: fail_open, endpoints: { include: ["soft.example.com"] } }
network_policies:
  p:
    endpoints:
      - { host: api.example.com, port: 443, protocol: rest, access: full, credential_binding: { provider: work }, request_body_credential_rewrite: true }
      - { host: db.example.com, port: 5432, protocol: sql, enforcement: audit, rules: [{ allow: { command: SELECT } }] }
    binaries: [{ path: /usr/bin/curl, harness: true }]
`;
  const { policy, warnings } = parsePolicy(text, 'w.yaml');
  t.ok(policy);
  const messages = (warnings ?? []).map((w) => w.message);
  for (const expected of [/binaries are enforced only for sandboxes/, /harness is a deprecated/, /credential_binding: OpenShell credential features/, /request_body_credential_rewrite: OpenShell credential rewriting/, /protocol: sql is relayed raw and only audited/, /openshell\/regex runs as Sluice's egress DLP in redact mode/, /acme\/guard cannot run in Sluice: with on_error fail_closed/, /acme\/soft cannot run in Sluice: with on_error fail_open/]) {
    t.ok(messages.some((m) => expected.test(m)), `${expected}`);
  }
  t.ok((warnings ?? []).every((w) => w.line > 1), 'each warning points at its line');
  const compiled = compilePolicy(policy!);
  const { parseAuthority } = await import('../../core/index.js');
  t.equal(compiled.decideConnect(parseAuthority('api.example.com:443')).endpoint?.dlp, 'redact', 'openshell/regex selects DLP redaction');
  const guarded = compilePolicy(parsePolicy(text.replace('- { host: db.example.com', '- { host: x.corp.example.com, port: 443 }\n      - { host: db.example.com'), 'w2.yaml').policy!);
  t.equal(guarded.decideRequest(parseAuthority('x.corp.example.com:443'), 'GET', '/', '').code, 'middleware_unavailable', 'a fail-closed middleware Sluice cannot run refuses requests to its hosts');
});
