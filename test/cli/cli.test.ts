import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers/sluice.js';
import { sluice } from './spawn.js';

// Each spawn of bin/sluice costs a second or two of CPU; on a shared, loaded machine the file
// outlasts tap's default 120 s although every step succeeds.
t.setTimeout(360_000);

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
