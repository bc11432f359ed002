import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import t from 'tap';
import { startTestGateway } from '../helpers/gateway.js';
import { startUpstream } from '../helpers/upstream.js';
import { runCli } from './io.js';

/**
 * `sluice policy suggest` with a gateway running: the diff is against the policy in force there,
 * and `--apply` pushes it to the gateway (which writes its default policy's file), so the
 * refused request passes at once, with no restart and no file edited by hand.
 */
const exec = promisify(execFile);
const upstream = await startUpstream();
const gw = await startTestGateway({
  resolve: { 'api.github.com': '127.0.0.1' },
  policyYaml: 'version: 1\nnetwork_policies:\n  docs:\n    endpoints: [{ host: docs.example.com, port: 443 }]\n',
});
t.teardown(async () => {
  await gw.close();
  await upstream.close();
});
const curl = (path: string) => exec('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-x', gw.gateway.url, `http://api.github.com:${upstream.port}${path}`]).then((r) => r.stdout);
// The gateway is found through --home's socket, as a user's would be.
const env: NodeJS.ProcessEnv = { ...process.env };
delete env.SLUICE_GATEWAY;

t.test('suggest diffs against the gateway; --apply applies it there', async (t) => {
  t.equal(await curl('/repos/o/r'), '403');
  await gw.gateway.flushAudit();

  const shown = await runCli(['policy', 'suggest', '--home', gw.home], env);
  t.equal(shown.code, 0, shown.stderr);
  t.match(shown.stdout, new RegExp(`^--- ${gw.home.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/policy\\.yaml`), "a diff against the gateway's policy file");
  t.match(shown.stdout, /\+ +- host: api\.github\.com/);
  t.match(shown.stderr, /--apply applies it to the gateway's default policy on the running gateway/);
  t.equal(await curl('/repos/o/r'), '403', 'nothing applied without --apply');

  const applied = await runCli(['policy', 'suggest', '--apply', '--home', gw.home], env);
  t.equal(applied.code, 0, applied.stderr);
  t.match(applied.stderr, /applied to the gateway's default policy on the gateway \(written to its file\)/);
  t.equal(await curl('/repos/o/r'), '200', 'the same request passes at once');
  t.match((await gw.call('GET', '/v1/policy')).json.yaml, /host: api\.github\.com/);
  t.match(fs.readFileSync(`${gw.home}/policy.yaml`, 'utf8'), /host: api\.github\.com/, 'and the file holds it');

  const again = await runCli(['policy', 'suggest', '--apply', '--home', gw.home], env);
  t.equal(again.code, 0);
  t.match(again.stderr, /already allows what was refused/);
});

t.test('--sandbox of a sandbox the gateway no longer knows: its refusals, against the default policy', async (t) => {
  const none = await runCli(['policy', 'suggest', '--sandbox', 'ghost', '--home', gw.home], env);
  t.equal(none.code, 0, none.stderr);
  t.match(none.stderr, /no refusals in .* for sandbox ghost/);
});
