import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createTestCA } from '../helpers/tls.js';
import { startUpstream } from '../helpers/upstream.js';
import { tempDir } from '../helpers/sluice.js';
import { buildBaseImage, ensureDocker } from '../../sandbox/index.js';
import { spawnGateway } from '../helpers/gateway.js';

/**
 * `binaries` enforced end to end in sandboxes `sluice run` starts, on both drivers: one host is L7
 * for curl and L4 for python, a program no policy names is refused with its name in the reason,
 * and what the sandboxed process controls cannot forge its identity: argv[0], a copy of an
 * allowed binary under another path, a binary replaced after its first use (SHA-256 pinned).
 * Every verdict is read from what the client saw and from the audit log's reason. The same holds
 * for a sandbox `sluice run` starts on a running gateway (`sluice up`), whose listener attributes
 * connections the same way.
 */
t.setTimeout(360_000);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = path.join(root, 'bin', 'sluice');
const isRoot = process.getuid?.() === 0;

function sluice(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  const clean = { ...process.env, ...env };
  delete clean.NODE_OPTIONS; // tap's loaders are for test files, not for the CLI under test
  return new Promise((resolve) => {
    execFile(bin, args, { env: clean, timeout: 180_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

// One sandbox per driver runs every probe in turn (a sandbox start costs seconds under load).
// Each line: label, then what the client saw. curl reports the CONNECT status (%{http_connect})
// and the request's (%{http_code}); python and node print the status or the refusal's body code.
function probeScript(port: number, plainPort: number, work: string): string {
  const url = (host: string, p: string) => `https://${host}:${port}${p}`;
  const curl = (bin: string, label: string, u: string) => `printf '${label} '; ${bin} -s -o /dev/null -w '%{http_connect} %{http_code}\\n' '${u}'`;
  const py = (label: string, u: string) =>
    `printf '${label} '; /usr/bin/python3 -c "import urllib.request,urllib.error,sys\ntry: print(urllib.request.urlopen('${u}').status)\nexcept urllib.error.HTTPError as e: print(e.code)\nexcept Exception as e: print('error', type(e).__name__)"`;
  const node = `fetch('${url('api.example.com', '/curl-only')}').then((r) => console.log(r.status), (e) => console.log('error', e.cause ? e.cause.code || e.cause.message : e.message))`;
  return [
    'set -u',
    curl('/usr/bin/curl', 'curl-allowed', url('api.example.com', '/curl-only')),
    curl('/usr/bin/curl', 'curl-l7-denied', url('api.example.com', '/other')),
    py('python-l4', url('api.example.com', '/other')),
    `printf 'node-unnamed '; node -e "${node}"`,
    // argv[0] says curl; the kernel says node
    `printf 'node-as-curl '; bash -c 'exec -a /usr/bin/curl node -e "$0"' "${node}"`,
    // curl's own bytes under another path
    `cp /usr/bin/curl ${work}/curl-copy`,
    curl(`${work}/curl-copy`, 'curl-copy', url('api.example.com', '/curl-only')),
    // first use pins the tool's hash; a different binary at the same path later is refused
    `cp /usr/bin/curl ${work}/tool`,
    curl(`${work}/tool`, 'tool-first', url('pinned.example.com', '/')),
    `cp /usr/bin/curl ${work}/tool.new && printf x >> ${work}/tool.new && mv ${work}/tool.new ${work}/tool`,
    curl(`${work}/tool`, 'tool-replaced', url('pinned.example.com', '/')),
    // plain HTTP (no CONNECT): attributed the same way, per client connection
    curl('/usr/bin/curl', 'plain-curl', `http://plain.example.com:${plainPort}/`),
    py('plain-python', `http://plain.example.com:${plainPort}/`),
    'exit 0',
    '',
  ].join('\n');
}

function results(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const m = /^(\S+) (.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

async function dockerMissing(): Promise<string | false> {
  try {
    await ensureDocker();
    await buildBaseImage();
    return false;
  } catch (err) {
    return `docker unavailable: ${(err as Error).message}`;
  }
}

// Each driver with a Sluice of its own; bwrap on a gateway too (same listener code, started by the gateway).
const cases = [
  { driver: 'bwrap', gateway: false },
  { driver: 'docker', gateway: false },
  { driver: 'bwrap', gateway: true },
] as const;
for (const { driver, gateway } of cases) {
  const skip = !isRoot ? 'needs root (network namespaces, nftables, dockerd)' : driver === 'docker' ? await dockerMissing() : false;
  t.test(`binaries in a ${driver} sandbox${gateway ? ' on a gateway' : ''}`, { skip }, async (t) => {
    const home = tempDir('sluice-binid-');
    const work = tempDir('sluice-binid-work-');
    fs.chmodSync(work, 0o777);
    const ca = await createTestCA();
    const up = await startUpstream({ cert: await ca.issue(['api.example.com', 'pinned.example.com']) });
    const plain = await startUpstream();
    t.teardown(async () => {
      await up.close();
      await plain.close();
      fs.rmSync(home, { recursive: true, force: true });
      fs.rmSync(work, { recursive: true, force: true });
    });
    fs.writeFileSync(path.join(home, 'upstream-ca.pem'), ca.caPem);
    fs.writeFileSync(path.join(work, 'probe.sh'), probeScript(up.port, plain.port, work));
    const policy = path.join(home, 'policy.yaml');
    fs.writeFileSync(
      policy,
      [
        'version: 1',
        'network_policies:',
        '  curl_l7:',
        `    endpoints: [{ host: api.example.com, port: ${up.port}, protocol: rest, rules: [{ allow: { method: GET, path: /curl-only } }] }]`,
        '    binaries: [{ path: /usr/bin/curl }]',
        '  python_l4:',
        `    endpoints: [{ host: api.example.com, port: ${up.port} }]`,
        '    binaries: [{ path: "/usr/bin/python3*" }]',
        '  pinned_tool:',
        `    endpoints: [{ host: pinned.example.com, port: ${up.port} }]`,
        `    binaries: [{ path: "${work}/tool" }]`,
        '  plain_curl:',
        `    endpoints: [{ host: plain.example.com, port: ${plain.port} }]`,
        '    binaries: [{ path: /usr/bin/curl }]',
        '',
      ].join('\n'),
    );
    const env = { NODE_EXTRA_CA_CERTS: path.join(home, 'upstream-ca.pem') };
    const name = `binid-${driver}${gateway ? '-gw' : ''}-${process.pid}`;
    const pins = ['api.example.com', 'pinned.example.com', 'plain.example.com'].flatMap((h) => ['--resolve', `${h}=127.0.0.1`]);
    if (gateway) {
      // the gateway holds the pins and the upstream CA; `sluice run` then finds it under --home
      const gw = await spawnGateway(home, pins, env);
      t.teardown(async () => {
        gw.child.kill('SIGTERM');
        await new Promise((resolve) => gw.child.once('exit', resolve));
        await gw.agent.close();
      });
    }
    const run = await sluice(['run', '--driver', driver, '--name', name, '--policy', policy, '--home', home, '--workdir', work, ...(gateway ? [] : pins), '--', 'bash', `${work}/probe.sh`], env);
    t.equal(run.code, 0, run.stderr);
    if (gateway) t.match(run.stderr, /runs on the gateway/, 'the sandbox ran on the gateway');
    t.notMatch(run.stderr, /binaries are enforced only/, 'no warning: binaries are enforced in sluice run');
    const r = results(run.stdout);
    t.equal(r['curl-allowed'], '200 200', `curl may GET /curl-only (stdout: ${run.stdout})`);
    t.equal(r['curl-l7-denied'], '200 403', 'curl is held to the L7 rules of its policy');
    t.equal(r['python-l4'], '200', 'python3 reaches the same host at L4, any path');
    // undici reports a refused CONNECT as a cancelled request; the audit log below says why
    t.match(r['node-unnamed'], /^error /, 'node is named by no policy: refused');
    t.match(r['node-as-curl'], /^error /, 'argv[0] /usr/bin/curl does not make node curl');
    t.equal(r['curl-copy'], '403 000', "a copy of curl elsewhere is not /usr/bin/curl");
    t.equal(r['tool-first'], '200 200', 'first use of the tool pins its hash');
    t.equal(r['tool-replaced'], '403 000', 'another binary at the pinned path is refused');
    t.equal(r['plain-curl'], '000 200', 'plain HTTP from curl is allowed');
    t.equal(r['plain-python'], '403', 'plain HTTP from python3 is refused: only curl is named');

    const audit = fs
      .readFileSync(path.join(home, 'audit', 'audit.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const text = JSON.stringify(audit);
    const named = text.match(/for \/usr\/bin\/node[^"]*: curl_l7 \(binaries: \/usr\/bin\/curl\); python_l4 \(binaries: \/usr\/bin\/python3\*\) allow it only for other programs/g) ?? [];
    t.equal(named.length, 2, 'both node refusals name node (argv[0] or not) and the policies that name other programs');
    t.match(text, /curl-copy/, 'the copy is named by its own path');
    t.match(text, /binary integrity: [^"]*\/tool is not the binary first seen at that path/, 'the replaced binary is refused for its changed hash');
  });
}
