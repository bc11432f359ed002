import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createTestCA } from '../helpers/tls.js';
import { startUpstream } from '../helpers/upstream.js';
import { tempDir } from '../helpers/sluice.js';

// `sluice run` as a new user types it: the command runs in a bwrap sandbox whose only way out is
// a Sluice started for it. Needs root (network namespaces, nftables), as CI has.
// Sandboxes started for real: the file's wall time follows the shared machine's load (23 s at a
// load average of 6; 110 s, then over the default 120 s, at 21-25).
t.setTimeout(360_000);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = path.join(root, 'bin', 'sluice');
const isRoot = process.getuid?.() === 0;
t.setTimeout(300_000); // six `sluice run`s, one after another, on shared CI cores

function sluice(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  const clean = { ...process.env, ...env };
  delete clean.NODE_OPTIONS; // tap's loaders are for test files, not for the CLI under test
  return new Promise((resolve) => {
    execFile(bin, args, { env: clean, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

t.test('sluice run -- curl / node fetch: allowed through, denied with a reason', { skip: isRoot ? false : 'needs root for network namespaces' }, async (t) => {
  const home = tempDir();
  const ca = await createTestCA();
  const up = await startUpstream({ cert: await ca.issue(['allowed.test']) });
  t.teardown(async () => {
    await up.close();
    fs.rmSync(home, { recursive: true, force: true });
  });
  fs.writeFileSync(path.join(home, 'upstream-ca.pem'), ca.caPem);
  const policy = path.join(home, 'policy.yaml');
  fs.writeFileSync(policy, `version: 1\nnetwork_policies:\n  a:\n    endpoints: [{ host: allowed.test, port: ${up.port}, protocol: rest, access: read-only }]\n`);
  const env = { NODE_EXTRA_CA_CERTS: path.join(home, 'upstream-ca.pem') };
  const name = `clitest-${process.pid}`;
  const common = ['run', '--name', name, '--policy', policy, '--home', home, '--resolve', 'allowed.test=127.0.0.1', '--'];

  const ok = await sluice([...common, 'curl', '-sS', `https://allowed.test:${up.port}/from-sandbox`], env);
  t.equal(ok.code, 0, ok.stderr);
  t.equal(JSON.parse(ok.stdout).url, '/from-sandbox', 'curl inside the sandbox reached the upstream through Sluice');

  const denied = await sluice([...common, 'curl', '-sS', '-X', 'POST', `https://allowed.test:${up.port}/x`], env);
  const body = JSON.parse(denied.stdout) as Record<string, string>;
  t.equal(body.error, 'policy_denied', "a refused request gets the JSON reason (OpenShell's code)");
  t.match(body.fix, /replace access: read-only with the rules it stands for plus - allow: \{ method: POST, path: \/x \}/, 'and the fix');
  t.match(denied.stderr, new RegExp(`^sluice: denied POST allowed\\.test:${up.port}/x — l7_denied: .*; allow with: on endpoint allowed\\.test:${up.port} of network policy a`, 'm'), 'sluice run prints the refusal on stderr as it happens');
  t.match(denied.stderr, /^sluice: 1 request: 0 allowed, 1 denied$/m, 'and a summary at exit');
  t.match(denied.stderr, new RegExp(`sluice logs --denied --sandbox sluice-${name}`));

  const exitCode = await sluice([...common, 'sh', '-c', 'exit 7'], env);
  t.equal(exitCode.code, 7, "sluice run exits with CMD's exit code");

  const node = await sluice([...common, 'node', '-e', `fetch('https://allowed.test:${up.port}/fetch').then((r) => r.json()).then((j) => console.log(j.url))`], env);
  t.equal(node.stdout.trim(), '/fetch', "Node's fetch goes through the proxy without code changes");

  const direct = await sluice([...common, 'curl', '-sS', '--noproxy', '*', '--max-time', '5', `https://127.0.0.1:${up.port}/`], env);
  t.not(direct.code, 0, 'bypassing the proxy fails');
  const ps = await sluice(['ps'], env);
  t.equal(ps.code, 0);
  t.notMatch(ps.stdout, new RegExp(name), 'everything it created is gone');
});
