import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createTestCA } from '../helpers/tls.js';
import { startUpstream } from '../helpers/upstream.js';
import { tempDir } from '../helpers/sluice.js';
import { bin, cleanEnv, listeningUrl, sluice } from './spawn.js';

// Each spawn of bin/sluice costs a second or two of CPU; on a shared, loaded machine the file
// outlasts tap's default 120 s although every step succeeds.
t.setTimeout(360_000);

// `sluice up` as a child process, as a new user starts it.
const run = promisify(execFile);

t.test('sluice up: a new user points curl at it; allowed passes, denied gets the 403 JSON; SIGTERM stops it', async (t) => {
  const home = tempDir();
  const ca = await createTestCA();
  const up = await startUpstream({ cert: await ca.issue(['allowed.test', 'denied.test']) });
  const caFile = path.join(home, 'upstream-ca.pem');
  fs.writeFileSync(caFile, ca.caPem);
  const policy = path.join(home, 'p.yaml');
  fs.writeFileSync(policy, `version: 1\nnetwork_policies:\n  a:\n    endpoints: [{ host: allowed.test, port: ${up.port} }]\n`);
  const child = spawn(bin, ['up', '--policy', policy, '--listen', '127.0.0.1:0', '--home', home, '--resolve', 'allowed.test=127.0.0.1', '--resolve', 'denied.test=127.0.0.1'], {
    env: { ...cleanEnv(), NODE_EXTRA_CA_CERTS: caFile },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(async () => {
    child.kill('SIGKILL');
    await up.close();
    fs.rmSync(home, { recursive: true, force: true });
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const { url, output } = await listeningUrl(child);
  t.match(output(), /HTTPS_PROXY=/);
  t.match(output(), /NODE_EXTRA_CA_CERTS=/);
  t.notMatch(err, /JavaScript loop/, 'the native redaction loop is built: no warning');
  const caPath = (await sluice(['ca', 'path', '--home', home])).stdout.trim();
  const ok = await run('curl', ['-sS', '-x', url, '--cacert', caPath, `https://allowed.test:${up.port}/hi`]);
  t.equal(JSON.parse(ok.stdout).url, '/hi');
  const denied = await run('curl', ['-sS', '-x', url, '--cacert', caPath, `http://denied.test:${up.port}/`]);
  const body = JSON.parse(denied.stdout) as Record<string, unknown>;
  t.equal(body.error, 'policy_denied');
  t.equal(body.host, 'denied.test');
  const status = JSON.parse((await sluice(['status', '--json', '--home', home])).stdout) as { instances: Array<{ pid: number; kind: string; url: string; policyFile: string; auditFile: string }> };
  t.equal(status.instances.length, 1, 'sluice status sees the running sluice up');
  t.match(status.instances[0], { pid: child.pid, kind: 'up', url, policyFile: policy });
  const text = await sluice(['status', '--home', home]);
  t.match(text.stdout, new RegExp(`listener: +${url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  const gateway = (JSON.parse((await sluice(['status', '--json', '--home', home])).stdout) as { gateway: Record<string, unknown> }).gateway;
  t.match(gateway, { where: path.join(home, 'gateway', 'api.sock'), audit_file: path.join(home, 'audit', 'audit.jsonl'), listeners: [{ name: 'default', url, open_tunnels: Number, backends: {} }], sandboxes: [] }, 'status asks the gateway over its API');
  t.match(text.stdout, new RegExp(`gateway: .*api\\.sock \\(Sluice \\d+\\.\\d+\\.\\d+\\)\n.*\n  listener default ${url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: \\d+ open tunnels?`));
  const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  t.equal(await exit, 0, 'stops cleanly on SIGTERM');
  const after = JSON.parse((await sluice(['status', '--json', '--home', home])).stdout) as { instances: unknown[]; gateway: unknown };
  t.same(after.instances, [], 'and is gone from sluice status');
  t.equal(after.gateway, null, 'no gateway answers any more');
});

t.test('sluice up without the native redaction loop says so, and why', async (t) => {
  const home = tempDir();
  const child = spawn(bin, ['up', '--listen', '127.0.0.1:0', '--home', home], {
    env: { ...cleanEnv(), SLUICE_NATIVE_COLLECTOR: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    child.kill('SIGKILL');
    fs.rmSync(home, { recursive: true, force: true });
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (/listening on/.test(out)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}${err}`)));
  });
  t.match(err, /warning: redaction runs its JavaScript loop.*SLUICE_NATIVE_COLLECTOR=0/);
});
