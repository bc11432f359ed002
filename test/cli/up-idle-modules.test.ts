import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import t from 'tap';
import { tempDir } from '../helpers/sluice.js';
import { bin, cleanEnv } from './spawn.js';

t.setTimeout(120_000);

// Idle RSS is a goal (issue 20: at or below sandbox-runtime's): `sluice up` at rest must not
// carry the libraries only a later request needs. A loader hook lists every module it loads.
t.test('sluice up at rest loads no metrics, X.509, diff, HTTP-client or Ollama library', async (t) => {
  const home = tempDir();
  t.teardown(() => fs.rmSync(home, { recursive: true, force: true }));
  const listFile = path.join(home, 'loaded.txt');
  const hook = `import { appendFileSync } from 'node:fs'; export async function load(url, context, next) { appendFileSync(${JSON.stringify(listFile)}, url + '\\n'); return next(url, context); }`;
  const register = `data:text/javascript,${encodeURIComponent(`import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});`)}`;
  const policy = path.join(home, 'p.yaml');
  fs.writeFileSync(policy, 'version: 1\nnetwork_policies:\n  a:\n    endpoints: [{ host: api.github.com, port: 443 }]\n');
  const child = spawn(process.execPath, ['--import', register, bin, 'up', '--policy', policy, '--listen', '127.0.0.1:0', '--home', home], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('audit log:')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`sluice up exited (${code}): ${err}`)));
  });
  // The default Ollama backend's health check runs right after start: let it answer (refused).
  await delay(1000);
  const packages = new Set(fs.readFileSync(listFile, 'utf8').split('\n').map((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1]).filter(Boolean));
  t.ok(packages.has('zod') && packages.has('re2'), `the hook sees packages (policy schema, redaction): ${[...packages].join(' ')}`);
  for (const name of ['prom-client', '@peculiar/x509', 'reflect-metadata', 'diff', 'undici', 'ollama', 'ws', 'graphql', 'dockerode']) {
    t.notOk(packages.has(name), `${name} is not loaded at rest`);
  }
});
