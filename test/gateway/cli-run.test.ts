import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { cliEnv, SLUICE_BIN, spawnGateway, uniqueName } from '../helpers/gateway.js';
import type { SpawnedGateway } from '../helpers/gateway.js';
import { tempDir } from '../helpers/sluice.js';

// Real sandboxes and sluice processes: the file's wall time follows the shared machine's load
// (over the default 120 s at a load average of 25), as test/cli/run.test.ts found.
t.setTimeout(360_000);
/**
 * `sluice run` as a new user types it, with `sluice up` running in another terminal (the sandbox
 * runs on the gateway) and without (it gets a Sluice of its own); one stderr line says which.
 */
interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function sluice(home: string, args: string[], input?: string): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(SLUICE_BIN, args, { env: cliEnv({ SLUICE_HOME: home }), timeout: 60_000 }, (err, stdout, stderr) => {
      // As root the current directory is root's and is not mounted: run-options says so on a line
      // of its own, which is not what these tests look at.
      const own = stderr.split('\n').filter((l) => !l.startsWith('sluice run: the current directory')).join('\n');
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr: own });
    });
    child.stdin?.end(input ?? '');
  });
}

if (process.getuid?.() !== 0) {
  t.plan(0, 'the gateway runs sandboxes: needs root here; CI runs this as root');
} else {
  const home = tempDir('sluice-cli-gw-');
  let gw: SpawnedGateway | undefined;
  t.before(async () => {
    gw = await spawnGateway(home);
  });
  t.teardown(async () => {
    gw?.child.kill('SIGKILL');
    await gw?.agent.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  t.test('sluice run on the gateway: output, exit code, stdin, one line saying where, nothing left', async (t) => {
    const name = uniqueName('run');
    const res = await sluice(home, ['run', '--name', name, '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    t.equal(res.code, 3, "the command's exit code");
    t.equal(res.stdout, 'out\n');
    t.equal(res.stderr, `sluice: sluice-${name} runs on the gateway at ${path.join(home, 'gateway', 'api.sock')}\nerr\n`, 'one line says which, then the command\'s stderr');
    t.equal((await sluice(home, ['run', '-q', '--', 'cat'], 'from stdin\n')).stdout, 'from stdin\n', 'stdin is streamed in');
    const ps = await sluice(home, ['ps', '-a']);
    t.notMatch(ps.stdout, name, 'an attached run is removed once it has ended');
    const refused = await sluice(home, ['run', '--resolve', 'a.example.com=127.0.0.1', '--', 'true']);
    t.equal(refused.code, 2);
    t.match(refused.stderr, /the running gateway has its own/);
  });

  t.test("sluice run -q on the gateway loads the CLI's client and nothing heavier: no TLS, no audit parser, no other module", async (t) => {
    // A loader hook in the CLI's process lists every module it loads (tap's own loaders stay out: cliEnv).
    const listFile = path.join(home, `loaded-${process.pid}.txt`);
    const hook = `import { appendFileSync } from 'node:fs'; export async function load(url, context, next) { appendFileSync(${JSON.stringify(listFile)}, url + '\\n'); return next(url, context); }`;
    const register = `data:text/javascript,${encodeURIComponent(`import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});`)}`;
    const res = await new Promise<Result>((resolve) => {
      execFile(process.execPath, ['--import', register, SLUICE_BIN, 'run', '-q', '--', 'true'], { env: cliEnv({ SLUICE_HOME: home }), timeout: 60_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      });
    });
    t.equal(res.code, 0, res.stderr);
    const loaded = fs.readFileSync(listFile, 'utf8').split('\n').filter(Boolean);
    const ours = loaded.filter((u) => u.startsWith('file:') && !u.endsWith('/bin/sluice')).map((u) => u.replace(/^.*\/dist\//, ''));
    // cli/ and the small leaf helpers it names (run-options' install-dir lookup), never a module's whole index
    t.ok(ours.length > 0 && ours.every((m) => m.startsWith('cli/') || /^sandbox\/(install-dir|host-tools)\.js$/.test(m)), `only cli/ modules: ${ours.join(' ')}`);
    t.notOk(ours.some((m) => /remote-denials|denial-reporter|sse/.test(m)), 'the refusal printer is not loaded under -q');
    t.notOk(loaded.includes('node:https') || loaded.includes('node:tls'), 'TLS is not loaded for the unix socket');
  });

  t.test('sluice run on the gateway prints each refusal with its fix, and a summary, as a run with a Sluice of its own does', async (t) => {
    const name = uniqueName('denied');
    const res = await sluice(home, ['run', '--name', name, '--', 'sh', '-c', 'curl -sS -o /dev/null https://denied.example.com/ 2>/dev/null; echo done']);
    t.equal(res.code, 0, res.stderr);
    t.equal(res.stdout, 'done\n');
    t.match(res.stderr, /^sluice: denied CONNECT denied\.example\.com:443 — policy_denied: no network policy allows denied\.example\.com:443.*; allow with: add the endpoint/m, 'the refusal, why, and the fix');
    t.match(res.stderr, /^sluice: 1 request: 0 allowed, 1 denied$/m, 'the summary at exit');
    t.match(res.stderr, new RegExp(`sluice logs --denied --sandbox sluice-${name}`), 'and where to read more');
    const quiet = await sluice(home, ['run', '-q', '--', 'sh', '-c', 'curl -sS -o /dev/null https://denied.example.com/ 2>/dev/null; true']);
    t.equal(quiet.stderr, '', '-q: nothing of ours on stderr');
  });

  t.test('Ctrl-C reaches the command of an attached run', async (t) => {
    const child = spawn(SLUICE_BIN, ['run', '-q', '--', 'sh', '-c', 'trap "echo trapped; exit 4" INT; echo ready; while :; do sleep 0.1; done'], { env: cliEnv({ SLUICE_HOME: home }), stdio: ['ignore', 'pipe', 'pipe'] });
    const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
    let out = '';
    await new Promise<void>((resolve) => child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('ready')) resolve();
    }));
    child.kill('SIGINT');
    t.equal(await exit, 4);
    t.equal(out, 'ready\ntrapped\n');
  });

  t.test('with no gateway: run says it runs a Sluice of its own; run -d refuses', async (t) => {
    const exit = new Promise((resolve) => gw!.child.once('exit', resolve));
    gw!.child.kill('SIGTERM');
    await exit;
    const name = uniqueName('eph');
    const res = await sluice(home, ['run', '--name', name, '--', 'sh', '-c', 'echo own']);
    t.equal(res.code, 0, res.stderr);
    t.equal(res.stdout, 'own\n');
    t.equal(res.stderr, `sluice: no gateway running; sluice-${name} gets a Sluice of its own in this process\n`);
    const detached = await sluice(home, ['run', '-d', '--', 'true']);
    t.equal(detached.code, 2);
    t.match(detached.stderr, /no gateway is running/);
    t.equal((await sluice(home, ['ps'])).code, 0, 'ps works without a gateway');
  });
}
