import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { ProxyAgent, request } from 'undici';
import { HEAP_GROWING_PERCENT, tuneHeapGrowth } from '../../core/index.js';
import { bin, cleanEnv, listeningUrl } from '../cli/spawn.js';
import { tempDir } from '../helpers/sluice.js';
import { createTestCA } from '../helpers/tls.js';
import { startUpstream } from '../helpers/upstream.js';

t.setTimeout(240_000);

t.test('a heap growth the process was started with is kept; otherwise Sluice sets its own', async (t) => {
  t.equal(tuneHeapGrowth(['--heap-growing-percent=50'], ''), 50, 'from the arguments');
  t.equal(tuneHeapGrowth(['--inspect'], '--max-old-space-size=512 --heap_growing_percent=75'), 75, 'from NODE_OPTIONS, either spelling');
  t.equal(tuneHeapGrowth([], '--heap-growing-percent=0'), undefined, '0 asks for V8\'s own rule: kept');
  t.equal(tuneHeapGrowth(['--heap-growing-percent-x=5'], '--no-heap-growing'), HEAP_GROWING_PERCENT, 'look-alike flags are not it');
  t.equal(tuneHeapGrowth([], ''), HEAP_GROWING_PERCENT);
});

/**
 * What the setting is for (core/heap.ts): a real `sluice up` moves large bodies without full
 * collections. V8's --trace-gc lines count them. One started with `--heap-growing-percent=0` (V8's
 * own rule, which the Sluice keeps) is measured beside it and reported, not judged: that rule makes
 * several in most processes and none in some, so only the setting's side can be held to a bound.
 */
t.test('uploads through a real sluice up: no mark-compacts once warm', async (t) => {
  const home = tempDir();
  const ca = await createTestCA();
  const up = await startUpstream({ cert: await ca.issue(['uploads.example.test']), handler: (_req, res, body) => res.end(String(body.length)) });
  const caFile = path.join(home, 'upstream-ca.pem');
  fs.writeFileSync(caFile, ca.caPem);
  const policy = path.join(home, 'p.yaml');
  fs.writeFileSync(policy, `version: 1\nnetwork_policies:\n  a:\n    endpoints: [{ host: uploads.example.test, port: ${up.port}, protocol: rest, access: full }]\n`);
  t.teardown(async () => {
    await up.close();
    fs.rmSync(home, { recursive: true, force: true });
  });
  const chunk = Buffer.alloc(64 * 1024, 'u');
  const MIB_PER_UPLOAD = 32;

  async function markCompacts(nodeArgs: string[], name: string): Promise<{ warmUp: number; after: number }> {
    const dir = path.join(home, name);
    const child = spawn(process.execPath, ['--trace-gc', ...nodeArgs, bin, 'up', '--policy', policy, '--listen', '127.0.0.1:0', '--home', dir, '--resolve', 'uploads.example.test=127.0.0.1'], {
      env: { ...cleanEnv(), NODE_EXTRA_CA_CERTS: caFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.teardown(() => void child.kill('SIGKILL'));
    const { url, output } = await listeningUrl(child);
    const agent = new ProxyAgent({ uri: url, requestTls: { ca: fs.readFileSync(path.join(dir, 'ca', 'sluice-ca.pem'), 'utf8') } });
    const upload = async () => {
      const body = Readable.from((function* () {
        for (let i = 0; i < MIB_PER_UPLOAD * 16; i++) yield chunk;
      })());
      const res = await request(`https://uploads.example.test:${up.port}/upload`, { dispatcher: agent, method: 'POST', body, headers: { 'content-type': 'application/octet-stream', 'content-length': String(MIB_PER_UPLOAD * 2 ** 20) } });
      t.equal(await res.body.text(), String(MIB_PER_UPLOAD * 2 ** 20), `${name}: the upstream got every byte`);
    };
    const count = () => output().split('\n').filter((l) => l.includes('Mark-Compact')).length;
    // Start-up's own collections (and `sluice up`'s release of its memory) come before the first upload.
    await new Promise((r) => setTimeout(r, 500));
    const before = count();
    await upload();
    await upload();
    const warm = count();
    for (let i = 0; i < 4; i++) await upload();
    const after = count() - warm;
    await agent.close();
    child.kill('SIGTERM');
    return { warmUp: warm - before, after };
  }

  const tuned = await markCompacts([], 'tuned');
  t.ok(tuned.after <= 1, `as shipped: ${tuned.after} mark-compacts over ${4 * MIB_PER_UPLOAD} MiB once warm (${tuned.warmUp} while warming up)`);
  // For comparison only: V8's own rule settles either way in a process (idle, 10-14 over these uploads in
  // most processes and none in about one in four; under the test suite's load, none in three of three).
  const v8Rule = await markCompacts(['--heap-growing-percent=0'], 'v8-rule');
  t.comment(`V8's own rule: ${v8Rule.after} mark-compacts over the same uploads once warm (${v8Rule.warmUp} while warming up)`);
});
