import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createDenialReporter } from '../../cli/denial-reporter.js';
import { createTestCA } from '../helpers/tls.js';
import { startUpstream } from '../helpers/upstream.js';
import { startTestSluice } from '../helpers/sluice.js';
import { startTestDns } from '../helpers/dns.js';

// A refusal must be understood and fixed from its message alone: the 403 body, the audit record
// and the line `sluice run` prints all carry the reason and the policy change that allows it.
const exec = promisify(execFile);

async function curl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec('curl', ['-sS', '--max-time', '20', ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function capture(): { stream: PassThrough; text(): string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  return { stream, text: () => text };
}

t.test('a method the endpoint refuses: the body, the audit record and the reporter carry the fix', async (t) => {
  const ca = await createTestCA();
  const up = await startUpstream({ cert: await ca.issue(['api.example.com', 'new.example.com']) });
  const sluice = await startTestSluice(
    `version: 1\nnetwork_policies:\n  example-api:\n    endpoints:\n      - { host: api.example.com, port: ${up.port}, protocol: rest, access: read-only }\n`,
    { upstreamCA: [ca.caPem], resolve: { 'api.example.com': '127.0.0.1', 'new.example.com': '127.0.0.1' }, sandbox: 'sluice-denials' },
  );
  const out = capture();
  const reporter = createDenialReporter(sluice.bus, out.stream, { sandbox: 'sluice-denials' });
  t.teardown(async () => {
    reporter.close();
    await sluice.close();
    await up.close();
  });
  const via = ['-x', sluice.url, '--cacert', sluice.caCertPath];

  const ok = await curl([...via, `https://api.example.com:${up.port}/zen`]);
  t.equal(JSON.parse(ok.stdout).url, '/zen', 'a read is allowed');

  const post = await curl([...via, '-X', 'POST', `https://api.example.com:${up.port}/repos/x/y`]);
  const body = JSON.parse(post.stdout) as Record<string, string>;
  t.equal(body.error, 'policy_denied', "OpenShell's body code; X-Sluice-Error and the audit say l7_denied");
  t.equal(body.policy, 'example-api');
  t.equal(body.fix, `on endpoint api.example.com:${up.port} of network policy example-api, replace access: read-only with the rules it stands for plus - allow: { method: POST, path: /repos/x/y }`);
  t.match(body.fix_yaml, /network_policies:\n {2}example-api:\n {4}endpoints:\n {6}- host: api\.example\.com .*\n {8}rules:\n {10}- allow: \{ method: GET, path: "\/\*\*" \}/);
  t.match(body.agent_guidance, /retrying it will not help\. Tell the operator .* ask them to allow it: on endpoint api\.example\.com/);

  const connect = await curl([...via, '-v', `https://new.example.com:${up.port}/`]);
  t.not(connect.code, 0, 'a host no policy names is refused at CONNECT');
  t.match(connect.stderr, new RegExp(`proxy-status: .*policy_denied: no network policy allows new\\.example\\.com:${up.port}`, 'i'), 'curl -v shows the reason');

  const records = (await sluice.readAudit()) as Array<{ class_uid: number; container?: { name?: string }; unmapped?: { code?: string; fix?: { summary: string } } }>;
  const denials = records.filter((r) => r.unmapped?.code === 'l7_denied' || r.unmapped?.code === 'policy_denied');
  t.equal(denials.length, 2);
  for (const r of denials) {
    t.equal(r.container?.name, 'sluice-denials', 'the audit record names the sandbox (OCSF container profile)');
    t.ok(r.unmapped?.fix?.summary, 'and carries the fix');
  }

  const lines = out.text().trimEnd().split('\n');
  t.equal(lines.length, 2, 'one line per refusal, none for the allowed request');
  t.equal(lines[0], `sluice: denied POST api.example.com:${up.port}/repos/x/y — l7_denied: no rule of network policy example-api allows POST /repos/x/y on api.example.com:${up.port} (allowed: read-only); allow with: ${body.fix}`);
  t.equal(lines[1], `sluice: denied CONNECT new.example.com:${up.port} — policy_denied: no network policy allows new.example.com:${up.port}; allow with: add the endpoint { host: new.example.com, port: ${up.port} } to a network policy`);
  await curl([...via, '-X', 'POST', `https://api.example.com:${up.port}/repos/x/y`]);
  t.equal(out.text().trimEnd().split('\n').length, 2, 'the same refusal again is counted, not printed again');
  const summary = reporter.summary();
  t.equal(summary[0], 'sluice: 4 requests: 1 allowed, 3 denied');
  t.match(summary.join('\n'), new RegExp(`api\\.example\\.com:${up.port} +1 allowed, 2 denied`));
  t.match(summary.join('\n'), new RegExp(`new\\.example\\.com:${up.port} +0 allowed, 1 denied`));
  t.match(summary.at(-1), /sluice logs --denied --sandbox sluice-denials; .*sluice policy suggest --sandbox sluice-denials/);
});

t.test('ssrf_denied names the endpoint that matched and the allowed_ips line; loopback says how to pin', async (t) => {
  // A wildcard host: an exact one may resolve to a private address (OpenShell), a wildcard may not.
  const dns = await startTestDns({ 'git.corp.example.com': ['10.255.0.7'], 'loop.example.com': ['127.0.0.1'] });
  const sluice = await startTestSluice(
    'version: 1\nnetwork_policies:\n  internal:\n    endpoints:\n      - { host: "*.corp.example.com", port: 80 }\n      - { host: loop.example.com, port: 80 }\n      - { host: nx.example.com, port: 80 }\n',
    { dns: dns.address },
  );
  const out = capture();
  const reporter = createDenialReporter(sluice.bus, out.stream);
  t.teardown(async () => {
    reporter.close();
    await sluice.close();
    await dns.close();
  });
  const priv = JSON.parse((await curl(['-x', sluice.url, 'http://git.corp.example.com/x'])).stdout) as Record<string, string>;
  t.equal(priv.error, 'ssrf_denied');
  t.equal(priv.policy, 'internal', 'the policy that matched is named, not default-deny');
  t.equal(priv.rule, '*.corp.example.com:80');
  t.equal(priv.fix, 'add allowed_ips: ["10.255.0.7/32"] to endpoint *.corp.example.com:80 of network policy internal (git.corp.example.com resolves to 10.255.0.7)');
  t.match(priv.fix_yaml, /- host: "\*\.corp\.example\.com" .*\n {8}allowed_ips: \["?10\.255\.0\.7\/32"?\]/);

  const loop = JSON.parse((await curl(['-x', sluice.url, 'http://loop.example.com/x'])).stdout) as Record<string, string>;
  t.equal(loop.error, 'ssrf_denied');
  t.match(loop.fix, /127\.0\.0\.1 is a loopback address, which Sluice never dials whatever the policy says; .* --resolve loop\.example\.com=127\.0\.0\.1/);

  const nx = JSON.parse((await curl(['-x', sluice.url, 'http://nx.example.com/x'])).stdout) as Record<string, string>;
  t.equal(nx.error, 'dns_failed');

  const records = (await sluice.readAudit()) as Array<{ class_uid: number; action_id?: number; policy?: { name: string }; unmapped?: { code?: string; error?: { code: string } } }>;
  const ssrf = records.filter((r) => r.unmapped?.code === 'ssrf_denied');
  t.equal(ssrf.length, 2);
  for (const r of ssrf) t.equal(r.policy?.name, 'internal', 'the audit log names the policy that matched');
  const dnsRecord = records.find((r) => r.unmapped?.error?.code === 'dns_failed');
  t.ok(dnsRecord, 'a name that does not resolve is logged as an error of an allowed request');
  t.equal(dnsRecord?.action_id, 1, 'not as a denial');
  t.notOk(records.some((r) => r.action_id === 2 && r.unmapped?.code === 'dns_failed'), 'no dns_failed denial anywhere');
  t.match(out.text(), /sluice: failed GET nx\.example\.com\/x — dns_failed: could not resolve nx\.example\.com/);
  t.match(reporter.summary()[0], /3 requests: 0 allowed, 2 denied, 1 failed upstream/);
});

t.test('refusals after the policy allowed the host carry their fix too: DLP and a placeholder sent elsewhere', async (t) => {
  const ca = await createTestCA();
  const up = await startUpstream({ cert: await ca.issue(['api.example.com', 'paste.example.com']) });
  const sluice = await startTestSluice(
    `version: 1\nnetwork_policies:\n  example:\n    endpoints:\n      - { host: api.example.com, port: ${up.port} }\n      - { host: paste.example.com, port: ${up.port} }\nproviders:\n  example: { from: env:EXAMPLE_TOKEN, hosts: [api.example.com] }\n`,
    { upstreamCA: [ca.caPem], resolve: { 'api.example.com': '127.0.0.1', 'paste.example.com': '127.0.0.1' }, env: { EXAMPLE_TOKEN: 'real-token-value-0123456789' } },
  );
  const out = capture();
  const reporter = createDenialReporter(sluice.bus, out.stream);
  t.teardown(async () => {
    reporter.close();
    await sluice.close();
    await up.close();
  });
  const via = ['-x', sluice.url, '--cacert', sluice.caCertPath];
  const dlp = JSON.parse((await curl([...via, '-X', 'POST', '--data', 'key=AKIAIOSFODNN7EXAMPLE', `https://paste.example.com:${up.port}/p`])).stdout) as Record<string, string>;
  t.equal(dlp.error, 'dlp_blocked');
  t.match(dlp.fix, new RegExp(`if paste\\.example\\.com may receive aws_access_key, set dlp: redact \\(sent masked\\) or dlp: off on endpoint paste\\.example\\.com:${up.port} of network policy example`));
  t.match(dlp.fix_yaml, /dlp: redact {3}# or off/);
  const placeholder = Object.values(sluice.pipeline.envFor('default'))[0]!;
  const leak = JSON.parse((await curl([...via, '-H', `Authorization: Bearer ${placeholder}`, `https://paste.example.com:${up.port}/p`])).stdout) as Record<string, string>;
  t.equal(leak.error, 'credential_endpoint_mismatch');
  t.match(leak.fix, /add \{ host: paste\.example\.com \} to providers\.example\.endpoints/);
  t.equal(up.requests.length, 0, 'nothing reached the upstream');
  t.match(out.text(), /sluice: denied POST paste\.example\.com:\d+\/p — dlp_blocked: .*; allow with: if paste\.example\.com may receive/);
  t.match(out.text(), /sluice: denied GET paste\.example\.com:\d+\/p — credential_endpoint_mismatch: .*; allow with: the placeholder of provider example/);
  t.notMatch(out.text() + JSON.stringify(await sluice.readAudit()), /real-token-value/, 'the real credential is in no line');
});

t.test('--quiet and --verbose leave the reporter out of sluice run (in-process wiring)', async (t) => {
  // The wiring itself is exercised end to end by test/cli/run.test.ts (needs root); here, that the
  // reporter stops printing once closed.
  const sluice = await startTestSluice('version: 1\n');
  const out = capture();
  const reporter = createDenialReporter(sluice.bus, out.stream);
  reporter.close();
  t.teardown(() => sluice.close());
  await curl(['-x', sluice.url, 'http://nowhere.example.com/']);
  t.equal(out.text(), '', 'a closed reporter prints nothing');
  t.same(reporter.summary(), []);
  t.ok(fs.existsSync(path.dirname(sluice.auditFile)));
});
