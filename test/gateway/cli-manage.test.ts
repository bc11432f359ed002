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
 * Detached sandboxes as a new user manages them: `sluice up` in one terminal; `sluice run -d`,
 * `ps`, `logs -f`, `policy get|set`, `stop`, `wait`, `rm` and `token` from others.
 */
interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function sluice(home: string, args: string[], input?: string): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(SLUICE_BIN, args, { env: cliEnv({ SLUICE_HOME: home }), timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
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

  t.test('run -d, ps, logs -f, policy get/set, stop, wait, rm', async (t) => {
    const dir = tempDir();
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const policy = (host: string, user = 65534) => `version: 1\nnetwork_policies:\n  a:\n    endpoints: [{ host: ${host}, port: 443 }]\nprocess: { run_as_user: ${user} }\n`;
    fs.writeFileSync(path.join(dir, 'p1.yaml'), policy('one.example.com'));
    fs.writeFileSync(path.join(dir, 'p2.yaml'), policy('two.example.com'));
    fs.writeFileSync(path.join(dir, 'static.yaml'), policy('two.example.com', 1000));
    fs.writeFileSync(path.join(dir, 'bad.yaml'), 'version: 1\nnetwork_policies:\n  a: { endpoints: [{ host: x.example.com }] }\n');
    const short = uniqueName('det');
    const name = `sluice-${short}`;
    const started = await sluice(home, ['run', '-d', '--name', short, '--policy', path.join(dir, 'p1.yaml'), '--', 'sh', '-c', 'echo tick; exec sleep 600']);
    t.equal(started.code, 0, started.stderr);
    t.equal(started.stdout, `${name}\n`, 'run -d prints the name and returns');
    t.match((await sluice(home, ['ps'])).stdout, new RegExp(`${name}\\tbwrap\\t\\S+\\trunning\\t-\\t`));
    const follow = spawn(SLUICE_BIN, ['logs', '-f', short], { env: cliEnv({ SLUICE_HOME: home }), stdio: ['ignore', 'pipe', 'pipe'] });
    const followExit = new Promise((resolve) => follow.once('exit', resolve));
    let followed = '';
    await new Promise<void>((resolve) => follow.stdout.on('data', (c: Buffer) => {
      followed += c.toString();
      if (followed.includes('tick')) resolve();
    }));
    t.equal((await sluice(home, ['policy', 'get', short])).stdout, policy('one.example.com'));
    const set = await sluice(home, ['policy', 'set', short, path.join(dir, 'p2.yaml')]);
    t.equal(set.code, 0, set.stderr);
    t.equal(set.stdout, `policy in force for ${name} (revision 2)\n`);
    t.equal((await sluice(home, ['policy', 'get', short])).stdout, policy('two.example.com'));
    const locked = await sluice(home, ['policy', 'set', short, path.join(dir, 'static.yaml')]);
    t.equal(locked.code, 1);
    t.match(locked.stderr, /process of .* is fixed when the sandbox is created/);
    const bad = await sluice(home, ['policy', 'set', short, path.join(dir, 'bad.yaml')]);
    t.equal(bad.code, 1);
    t.match(bad.stderr, new RegExp(`${path.join(dir, 'bad.yaml').replace(/[.]/g, '\\.')}:3:\\d+: .*port`), 'errors point into the file');
    const waiting = sluice(home, ['wait', short]);
    const stop = await sluice(home, ['stop', '-t', '5', short]);
    t.equal(stop.code, 0, stop.stderr);
    t.equal((await waiting).stdout, '143\n', 'wait prints the exit code once it has ended');
    t.equal(await followExit, 0, 'logs -f ends with the sandbox');
    t.match((await sluice(home, ['ps', '-a'])).stdout, new RegExp(`${name}\\tbwrap\\t\\S+\\tstopped\\t143\\t`));
    t.equal((await sluice(home, ['rm', short])).code, 0);
    t.notMatch((await sluice(home, ['ps', '-a'])).stdout, name);
    const missing = await sluice(home, ['logs', short]);
    t.equal(missing.code, 1);
    t.match(missing.stderr, /no sandbox named/);
  });

  t.test('tokens: created once, listed by id, revoked', async (t) => {
    const created = await sluice(home, ['token', 'create', '--scope', 'read', '--name', 'dash']);
    t.match(created.stdout, /^sluice_[0-9a-f]{12}_\S{43}\n$/);
    const id = created.stdout.split('_')[1]!;
    t.match((await sluice(home, ['token', 'list'])).stdout, new RegExp(`${id}\\tread\\tdash\\t`));
    t.notMatch((await sluice(home, ['token', 'list'])).stdout, created.stdout.trim(), 'the token itself is never shown again');
    t.equal((await sluice(home, ['token', 'revoke', id])).code, 0);
    t.equal((await sluice(home, ['token', 'create', '--scope', 'root'])).code, 2);
  });

}
