import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createTestCA } from '../helpers/tls.js';
import { startUpstream } from '../helpers/upstream.js';
import { tempDir } from '../helpers/sluice.js';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = path.join(root, 'bin', 'sluice');
// tap's loaders (NODE_OPTIONS) are for test files, not for the CLI under test.
const cleanEnv = (): NodeJS.ProcessEnv => {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return env;
};

async function sluice(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(bin, args, { env: { ...cleanEnv(), ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

t.test('policy check: 0 for a valid file, 1 with file:line:col for every error', async (t) => {
  const dir = tempDir();
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const good = path.join(dir, 'good.yaml');
  fs.writeFileSync(good, 'version: 1\nnetwork_policies:\n  a:\n    endpoints: [{ host: api.github.com, port: 443 }]\n');
  const ok = await sluice(['policy', 'check', good]);
  t.equal(ok.code, 0, ok.stderr);
  const bad = path.join(dir, 'bad.yaml');
  fs.writeFileSync(bad, 'version: 1\nnetwork_policies:\n  a:\n    endpoints:\n      - host: "*"\n        port: 70000\n    colour: red\n');
  const res = await sluice(['policy', 'check', bad]);
  t.equal(res.code, 1);
  const lines = res.stderr.trim().split('\n');
  t.ok(lines.length >= 3, `three errors reported:\n${res.stderr}`);
  for (const line of lines) t.match(line, new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: .+`));
  t.match(res.stderr, /:5:\d+: /, 'the bare * host is reported on its line');
  t.match(res.stderr, /:7:\d+: /, 'the unknown key is reported on its line');
  const dflt = await sluice(['policy', 'show']);
  const shown = path.join(dir, 'default.yaml');
  fs.writeFileSync(shown, dflt.stdout);
  t.equal((await sluice(['policy', 'check', shown])).code, 0, 'the embedded default policy is valid');
});

t.test('explain prints the decision, the rule and near misses', async (t) => {
  const allowed = await sluice(['explain', 'GET', 'https://api.github.com/zen']);
  t.equal(allowed.code, 0, allowed.stdout + allowed.stderr);
  t.match(allowed.stdout, /allow/i);
  const denied = await sluice(['explain', 'GET', 'https://evil.example.com/']);
  t.equal(denied.code, 1);
  t.match(denied.stdout, /deny|denied/i);
});

t.test('ca path and export; the key file is 0600', async (t) => {
  const home = tempDir();
  t.teardown(() => fs.rmSync(home, { recursive: true, force: true }));
  const p = await sluice(['ca', 'path', '--home', home]);
  t.equal(p.code, 0, p.stderr);
  const certPath = p.stdout.trim();
  t.ok(fs.existsSync(certPath));
  const exported = await sluice(['ca', 'export'], { SLUICE_HOME: home });
  t.equal(exported.stdout, fs.readFileSync(certPath, 'utf8').replace(/\n?$/, '\n'), 'SLUICE_HOME is honoured and the PEM matches');
  const keys = fs.readdirSync(path.dirname(certPath)).filter((f) => f.includes('key'));
  t.ok(keys.length > 0);
  for (const k of keys) t.equal(fs.statSync(path.join(path.dirname(certPath), k)).mode & 0o777, 0o600, `${k} is 0600`);
});

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
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
  t.match(out, /HTTPS_PROXY=/);
  t.match(out, /NODE_EXTRA_CA_CERTS=/);
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
  const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  t.equal(await exit, 0, 'stops cleanly on SIGTERM');
  t.same(JSON.parse((await sluice(['status', '--json', '--home', home])).stdout).instances, [], 'and is gone from sluice status');
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
