import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { advise, generalisePaths, generaliseRequests } from '../../rules/index.js';
import { createTestCA } from '../helpers/tls.js';
import { startUpstream } from '../helpers/upstream.js';
import { tempDir } from '../helpers/sluice.js';
import { startSluice } from '../../app/index.js';
import { runCli } from './io.js';

const exec = promisify(execFile);

t.test('paths are widened only where the requests vary', async (t) => {
  t.same(generalisePaths(['/repos/o/r/issues/42', '/repos/o/r/issues/7']), ['/repos/o/r/issues/*'], 'numbers are identifiers');
  t.same(generalisePaths(['/v1/items/3f2c9a1b-8d4e-4f6a-9b2c-1d2e3f4a5b6c']), ['/v1/items/*'], 'so are UUIDs');
  t.same(generalisePaths(['/a/b', '/a/c']), ['/a/b', '/a/c'], 'a few literal siblings stay literal');
  t.same(generalisePaths(['/pkg/a', '/pkg/b', '/pkg/c', '/pkg/d']), ['/pkg/*'], 'many siblings become a wildcard');
  t.same(generalisePaths(['/pkg/a', '/pkg/b/x', '/pkg/c', '/pkg/d/y/z']), ['/pkg/**'], 'going deeper: **');
  t.same(generalisePaths(['/', '/docs/']), ['/', '/docs/']);
  t.same(generalisePaths(['/a*b', '/q[1]']), ['/a[*]b', '/q[[]1[]]'], 'glob characters in a path match only themselves');
  t.same(generaliseRequests([{ method: 'HEAD', path: '/x' }, { method: 'GET', path: '/y' }]), [{ method: 'GET', path: '/x' }, { method: 'GET', path: '/y' }], 'a GET rule admits HEAD');
});

const POLICY = `version: 1
# Our agent's policy. Comments stay where they are.
network_policies:
  github:
    endpoints:
      - { host: api.github.com, port: 443, protocol: rest, access: read-only }   # reads only
  internal:
    endpoints:
      - host: git.corp.example.com
        port: 443
        protocol: rest
        rules:
          - allow: { method: GET, path: "/**" }
        deny_rules:
          - { method: GET, path: "/secrets/**" }
`;

t.test('advise: the smallest change, as a diff that touches only what it must', async (t) => {
  const advice = advise(POLICY, 'policy.yaml', [
    { code: 'l7_denied', host: 'api.github.com', port: 443, method: 'POST', path: '/repos/o/r/issues' },
    { code: 'l7_denied', host: 'git.corp.example.com', port: 443, method: 'POST', path: '/api/v4/projects/12/issues' },
    { code: 'l7_denied', host: 'git.corp.example.com', port: 443, method: 'GET', path: '/secrets/prod' },
    { code: 'policy_denied', host: 'docs.example.com', port: 443 },
    { code: 'policy_denied', host: 'files.example.com', port: 443, method: 'GET', path: '/dl/7' },
    { code: 'ssrf_denied', host: 'git.corp.example.com', port: 443, address: '10.20.0.5' },
    { code: 'ssrf_denied', host: 'git.corp.example.com', port: 443, address: '127.0.0.1' },
    { code: 'l7_denied', host: 'api.github.com', port: 443, method: 'GET', path: '/zen' },
  ]);
  t.match(advice.after, /# Our agent's policy\. Comments stay where they are\./, 'comments survive');
  t.match(advice.after, /- host: api\.github\.com\n {8}port: 443\n {8}protocol: rest\n {8}rules:\n {10}- allow: \{ method: GET, path: "?\/\*\*"? \}\n {10}- allow: \{ method: OPTIONS, path: "?\/\*\*"? \}\n {10}- allow: \{ method: POST, path: \/repos\/o\/r\/issues \}/, 'access: read-only became its rules plus the one needed');
  t.notMatch(advice.after, /access: read-only/);
  t.match(advice.after, /- allow: \{ method: POST, path: \/api\/v4\/projects\/\*\/issues \}/, 'the project id generalised, nothing more');
  t.match(advice.after, /allowed_ips: \[ ?"?10\.20\.0\.5\/32"? ?\]/, 'the private address the host resolved to');
  t.match(advice.after, /docs\.example\.com:\n {4}endpoints:\n {6}- \{ host: docs\.example\.com, port: 443 \}/, 'a host refused at CONNECT: host and port');
  t.match(advice.after, /- host: files\.example\.com\n {8}port: 443\n {8}protocol: rest\n {8}rules:\n {10}- allow: \{ method: GET, path: \/dl\/\* \}/, 'a host whose requests were seen: only those');
  t.match(advice.after, /- \{ method: GET, path: "\/secrets\/\*\*" \}/, 'the deny rule is still there');
  t.ok(advice.notes.some((n) => /deny rule .* never undoes a deny rule/.test(n)), 'and the refusal it caused is a note, not a change');
  t.ok(advice.notes.some((n) => /127\.0\.0\.1.*never dials.*--resolve git\.corp\.example\.com=127\.0\.0\.1/.test(n)));
  t.notOk(advice.changes.some((c) => /zen/.test(c)), 'what the policy allows already is left alone');
  const before = POLICY.split('\n');
  const after = advice.after.split('\n');
  t.same(before.filter((l) => !after.includes(l)), ['      - { host: api.github.com, port: 443, protocol: rest, access: read-only }   # reads only'], 'every original line is kept but the one rewritten');
});

t.test('a refusal a request body decided (MCP, GraphQL) is a note, never a guessed rule', async (t) => {
  const mcp = 'version: 1\nnetwork_policies:\n  tools:\n    endpoints:\n      - { host: mcp.example.com, port: 443, path: /mcp, protocol: mcp, enforcement: enforce, rules: [{ allow: { method: initialize } }] }\n';
  const advice = advise(mcp, 'policy.yaml', [{ code: 'l7_denied', host: 'mcp.example.com', port: 443, method: 'POST', path: '/mcp' }]);
  t.equal(advice.after, mcp, 'the file is unchanged');
  t.same(advice.changes, []);
  t.match(advice.notes.join('\n'), /POST mcp\.example\.com\/mcp was refused for its mcp body; .*sluice logs --denied/);
});

t.test('advise refuses to plan against an invalid policy, and finds nothing to do twice', async (t) => {
  t.throws(() => advise('version: 2\n', 'bad.yaml', [{ code: 'policy_denied', host: 'a.example.com', port: 443 }]), /the current policy is invalid/);
  const once = advise(POLICY, 'p.yaml', [{ code: 'policy_denied', host: 'a.example.com', port: 443 }]);
  const twice = advise(once.after, 'p.yaml', [{ code: 'policy_denied', host: 'a.example.com', port: 443 }]);
  t.same(twice.changes, []);
  t.equal(twice.after, once.after);
});

t.test('learning mode: run under --enforcement audit, suggest --apply, and the same run passes with no denial', async (t) => {
  const ca = await createTestCA();
  const hosts = ['api.example.com', 'new.example.com'];
  const up = await startUpstream({ cert: await ca.issue(hosts) });
  const home = tempDir();
  t.teardown(async () => {
    await up.close();
    fs.rmSync(home, { recursive: true, force: true });
  });
  const policyYaml = `version: 1\nnetwork_policies:\n  example-api:\n    endpoints:\n      - { host: api.example.com, port: ${up.port}, protocol: rest, access: read-only }\n`;
  const resolve = Object.fromEntries(hosts.map((h) => [h, '127.0.0.1']));
  // The agent's run: a read, a write the policy refuses, and a host it does not name at all.
  const agent = async (proxy: string, caPath: string) => {
    const statuses: string[] = [];
    for (const args of [
      ['-X', 'GET', `https://api.example.com:${up.port}/repos/o/r`],
      ['-X', 'POST', `https://api.example.com:${up.port}/repos/o/r/issues`],
      ['-X', 'POST', `https://api.example.com:${up.port}/repos/o/r/issues/12/comments`],
      ['-X', 'GET', `https://new.example.com:${up.port}/v1/items/42`],
      ['-X', 'PUT', `https://new.example.com:${up.port}/v1/items/43`],
    ]) {
      const { stdout } = await exec('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-x', proxy, '--cacert', caPath, ...args]).catch((e: { stdout: string }) => e);
      statuses.push(stdout);
    }
    return statuses;
  };

  const policyFile = path.join(home, 'policy.yaml');
  fs.writeFileSync(policyFile, policyYaml);
  const run = async (sandbox: string, enforcement: 'enforce' | 'audit') => {
    const sluice = await startSluice({ home, policyFile, listen: { host: '127.0.0.1', port: 0 }, upstreamCA: [ca.caPem], resolve, enforcement, sandbox, watch: false, healthIntervalMs: 0 });
    try {
      return await agent(sluice.url, sluice.caCertPath);
    } finally {
      await sluice.close();
    }
  };
  const refusals = async (sandbox: string) => {
    const res = await runCli(['logs', '--denied', '--json', '--sandbox', sandbox, '--home', home]);
    return res.stdout.trim() === '' ? [] : res.stdout.trim().split('\n');
  };

  t.same(await run('sluice-before', 'enforce'), ['200', '403', '403', '000', '000'], 'under the policy as it is, three requests are refused');
  t.same(await run('sluice-learn', 'audit'), ['200', '200', '200', '200', '200'], 'in learning mode everything passes');
  const learned = await refusals('sluice-learn');
  t.equal(learned.length, 6, 'what would have been refused is logged: 2 requests, and 2 CONNECTs (one per curl) with their requests');

  const suggested = await runCli(['policy', 'suggest', '--sandbox', 'learn', '--apply', '--home', home]);
  t.equal(suggested.code, 0, suggested.stderr);
  t.match(suggested.stdout, new RegExp(`^--- ${policyFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), 'a diff against the file the run used (found in the log)');
  t.match(suggested.stderr, /wrote /);
  const applied = fs.readFileSync(policyFile, 'utf8');
  t.match(applied, /- allow: \{ method: POST, path: \/repos\/o\/r\/issues \}/);
  t.match(applied, /- allow: \{ method: POST, path: \/repos\/o\/r\/issues\/\*\/comments \}/);
  t.match(applied, /- host: new\.example\.com\n {8}port: \d+\n {8}protocol: rest\n {8}rules:\n {10}- allow: \{ method: GET, path: \/v1\/items\/\* \}\n {10}- allow: \{ method: PUT, path: \/v1\/items\/\* \}/);
  t.equal((await runCli(['policy', 'check', policyFile])).code, 0, 'the written policy is valid');

  t.same(await run('sluice-after', 'enforce'), ['200', '200', '200', '200', '200'], 'the same run passes under the new policy, enforced');
  t.same(await refusals('sluice-after'), [], 'with no denial logged');
  const again = await runCli(['policy', 'suggest', '--sandbox', 'sluice-after', '--home', home]);
  t.match(again.stderr, /no refusals/, 'and nothing left to suggest');
});
