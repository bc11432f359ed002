import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { createTestCA } from '../helpers/tls.js';
import { startUpstream } from '../helpers/upstream.js';
import { tempDir } from '../helpers/sluice.js';
import { sluice } from './spawn.js';

// `sluice run --quiet` and `sluice logs` after a run, as a new user types them (the refusal line
// and the summary themselves are checked in run.test.ts). Needs root, as CI has.
const isRoot = process.getuid?.() === 0;

t.test('sluice run --quiet prints no refusal line and no summary; sluice logs finds the refusal by sandbox', { skip: isRoot ? false : 'needs root for network namespaces' }, async (t) => {
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
  const name = `quiet-${process.pid}`;
  const quiet = await sluice(['run', '--quiet', '--name', name, '--policy', policy, '--home', home, '--resolve', 'allowed.test=127.0.0.1', '--', 'curl', '-sS', '-X', 'POST', `https://allowed.test:${up.port}/x`], env);
  t.equal(JSON.parse(quiet.stdout).error, 'policy_denied', 'the request was refused');
  t.notMatch(quiet.stderr, /^sluice: /m, '--quiet: no refusal line, no summary');
  const logs = await sluice(['logs', '--denied', '--sandbox', name, '--home', home]);
  t.match(logs.stdout, new RegExp(`DENY +sluice-${name} +POST +allowed\\.test:${up.port}/x +403 `), 'sluice logs shows it under the sandbox\'s name');
  t.match(logs.stdout, /\n {21}fix: on endpoint allowed\.test:\d+ of network policy a, replace access: read-only/, 'with its fix');
});
