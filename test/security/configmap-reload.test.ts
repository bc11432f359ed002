import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { startSluice } from '../../app/index.js';
import type { Sluice } from '../../app/index.js';
import type { SluiceEvent } from '../../core/index.js';
import { tempDir } from '../helpers/sluice.js';
import { startUpstream } from '../helpers/upstream.js';
import type { Upstream } from '../helpers/upstream.js';
import { rawRequest } from './wire.js';

/**
 * Issue 16 item 9: a policy mounted from a Kubernetes ConfigMap. kubelet lays the volume out as
 *
 *   policy.yaml -> ..data/policy.yaml
 *   ..data -> ..2026_01_01_00_00_00.000000001
 *   ..2026_01_01_00_00_00.000000001/policy.yaml
 *
 * and updates it the way its AtomicWriter does: a new timestamped directory, a `..data_tmp`
 * symlink to it renamed over `..data`, the old directory removed. No event ever names
 * policy.yaml; a tightened policy must still apply.
 */
const allow = (port: number, paths: string) => `version: 1
network_policies:
  plain:
    endpoints:
      - { host: plain.example.test, port: ${port}, protocol: rest, rules: [{ allow: { method: GET, path: "${paths}" } }] }
`;

let generation = 0;
function timestamped(): string {
  generation++;
  return `..2026_01_01_00_00_0${generation}.00000000${generation}`;
}

/** Writes one ConfigMap generation exactly as kubelet does. */
function kubeletWrite(dir: string, yaml: string): void {
  const ts = timestamped();
  fs.mkdirSync(path.join(dir, ts), { mode: 0o755 });
  fs.writeFileSync(path.join(dir, ts, 'policy.yaml'), yaml, { mode: 0o644 });
  const old = fs.existsSync(path.join(dir, '..data')) ? fs.readlinkSync(path.join(dir, '..data')) : undefined;
  fs.symlinkSync(ts, path.join(dir, '..data_tmp'));
  fs.renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
  if (!fs.existsSync(path.join(dir, 'policy.yaml'))) fs.symlinkSync('..data/policy.yaml', path.join(dir, 'policy.yaml'));
  if (old) fs.rmSync(path.join(dir, old), { recursive: true, force: true });
}

let upstream: Upstream;
let sluice: Sluice;
let dir: string;
let home: string;

t.before(async () => {
  upstream = await startUpstream();
  dir = tempDir('sluice-configmap-');
  home = tempDir('sluice-home-');
  kubeletWrite(dir, allow(upstream.port, '/**'));
  sluice = await startSluice({ home, policyFile: path.join(dir, 'policy.yaml'), listen: { host: '127.0.0.1', port: 0 }, resolve: { 'plain.example.test': '127.0.0.1' } });
});

t.teardown(async () => {
  await sluice?.close();
  await upstream?.close();
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(home, { recursive: true, force: true });
});

/** The next policy event, or undefined when none came before the deadline. */
function nextPolicyEvent(deadlineMs = 30_000): Promise<SluiceEvent | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      off();
      resolve(undefined);
    }, deadlineMs);
    const off = sluice.bus.on((e) => {
      if (e.type !== 'policy') return;
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
}

const fetchPath = async (p: string) => (await rawRequest(sluice.port, `GET http://plain.example.test:${upstream.port}${p} HTTP/1.1\r\nHost: plain.example.test:${upstream.port}\r\nConnection: close\r\n\r\n`)).status;

t.test('a ConfigMap update (..data swapped) reloads the policy', async (t) => {
  t.equal(await fetchPath('/admin/x'), 200, 'first generation allows everything');
  const seen = nextPolicyEvent();
  kubeletWrite(dir, allow(upstream.port, '/public/**'));
  const event = await seen;
  t.match(event, { type: 'policy', activity: 'loaded' }, 'the swap was noticed and applied');
  t.equal(await fetchPath('/admin/x'), 403, 'the tightened policy is in force');
  t.equal(await fetchPath('/public/x'), 200);
});

t.test('and again after the old generation was deleted, and a broken one is rejected', async (t) => {
  const seen = nextPolicyEvent();
  kubeletWrite(dir, allow(upstream.port, '/v2/**'));
  t.match(await seen, { activity: 'loaded' }, 'second swap applied');
  t.equal(await fetchPath('/public/x'), 403);
  t.equal(await fetchPath('/v2/x'), 200);

  const rejected = nextPolicyEvent();
  kubeletWrite(dir, 'version: 1\nnetwork_policies: [oops\n');
  t.match(await rejected, { activity: 'rejected' }, 'a broken generation is rejected');
  t.equal(await fetchPath('/v2/x'), 200, 'the last good policy stays');
});
