import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { runCommand } from '../../sandbox/run-command.js';
import { startToolRunner } from '../../sandbox/tool-runner.js';
import { ownRunDir } from '../helpers/sluice.js';

/**
 * The gateway's host-tool runner (sandbox/tool-runner.ts): a shell the gateway starts once forks
 * ip and nft for it. It must behave as runCommand does (output, input, errors, timeouts, a
 * missing tool named), pass arguments as data never as shell code, fail closed when its shell
 * is gone, and die with its owner.
 */
const here = path.dirname(fileURLToPath(import.meta.url));

function helperPids(): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const zombie = stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
      if (!zombie && ppid === process.pid && fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('sluice-tools')) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const gone = async (pid: number, ms = 10_000) => {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!fs.existsSync(`/proc/${pid}`) || /^\S+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
};

t.test('answers as runCommand does', async (t) => {
  const tools = startToolRunner();
  t.teardown(() => tools.close());
  t.same(await tools.run('ip', ['-V']), await runCommand('ip', ['-V']), 'same output');
  t.equal((await tools.run('cat', [], { input: 'a\nb\n' })).stdout, 'a\nb\n', 'input reaches the tool');
  const hostile = ["it's", '$(id)', '`id`', 'a b', '"; echo pwned; "', '\\', '*', '\nnew line'];
  t.equal((await tools.run('printf', ['%s|', ...hostile])).stdout, `${hostile.join('|')}|`, 'arguments are data, never shell code');
  await t.rejects(tools.run('sh', ['-c', 'echo refused by the tool >&2; exit 3']), /sh -c .*: refused by the tool/, 'a failure carries the tool\'s stderr');
  await t.rejects(tools.run('no-such-tool-sluice', []), /no-such-tool-sluice is not installed/, 'a missing tool is named');
  await t.rejects(tools.run('sleep', ['30'], { timeoutMs: 1000 }), /sleep 30: no answer after 1000 ms/, 'a stuck tool is killed');
  const many = await Promise.all(Array.from({ length: 12 }, (_, i) => tools.run('printf', [`%s`, `job-${i}`])));
  t.same(many.map((r) => r.stdout), Array.from({ length: 12 }, (_, i) => `job-${i}`), 'concurrent requests each get their own answer');
});

t.test('its files are root-only and gone once closed; a closed runner refuses', async (t) => {
  const tools = startToolRunner();
  await tools.run('true', []);
  const [pid] = helperPids();
  t.ok(pid, 'one shell');
  const dir = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).pop()!;
  t.equal(fs.statSync(dir).mode & 0o777, 0o700, 'the request directory is 0700');
  t.same(fs.readdirSync(dir), [], 'no request is left behind');
  tools.close();
  t.notOk(fs.existsSync(dir), 'removed on close');
  t.ok(await gone(pid!), 'the shell exits when its pipe closes');
  await t.rejects(tools.run('true', []), /closed/);
});

t.test("a runner sweeps the request directories of runners whose owner died (a gateway killed -9), and only those", async (t) => {
  const runDir = ownRunDir(t, 'sluice-tools-sweep-');
  const exited = spawn('true');
  const deadPid = await new Promise<number>((resolve) => exited.on('exit', () => resolve(exited.pid!)));
  const orphan = path.join(runDir, `.tools-${deadPid}-0badc0de`);
  const living = path.join(runDir, `.tools-${process.pid}-0badc0de`);
  const other = path.join(runDir, '.tools-not-a-runner');
  for (const dir of [orphan, living, other]) fs.mkdirSync(path.join(dir, 'req'), { recursive: true });
  const tools = startToolRunner();
  t.teardown(() => tools.close());
  t.notOk(fs.existsSync(orphan), "a dead owner's directory is removed");
  t.ok(fs.existsSync(living), "a living owner's directory is kept");
  t.ok(fs.existsSync(other), 'a name that is not a runner directory is kept');
  await tools.run('true', []);
});

t.test('fails closed when its shell dies, and starts a new one for the next request', async (t) => {
  const tools = startToolRunner();
  t.teardown(() => tools.close());
  await tools.run('true', []);
  const [first, ...more] = helperPids();
  t.same(more, [], 'one live shell');
  const marker = `19.${process.pid}`;
  const running = tools.run('sleep', [marker]);
  // killed once the shell has the request (its sleep runs), not while it is still being written
  const asleep = () => fs.readdirSync('/proc').some((e) => /^\d+$/.test(e) && (() => {
    try {
      return fs.readFileSync(`/proc/${e}/cmdline`, 'utf8') === `sleep\0${marker}\0`;
    } catch {
      return false;
    }
  })());
  while (!asleep()) await new Promise((r) => setTimeout(r, 20));
  process.kill(first!, 'SIGKILL');
  await t.rejects(running, /runner exited before answering/, 'the request in flight is refused');
  t.equal((await tools.run('printf', ['%s', 'again'])).stdout, 'again');
  const [second] = helperPids();
  t.not(second, first, 'a new shell');
});

t.test('dies with its owner, however the owner dies', async (t) => {
  const owner = spawn(process.execPath, ['--import', 'tsx', '-e', `
    const { startToolRunner } = await import(${JSON.stringify(path.resolve(here, '../../sandbox/tool-runner.ts'))});
    const tools = startToolRunner();
    await tools.run('true', []);
    console.log('ready');
    setInterval(() => {}, 1000);
  `], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => owner.stdout.on('data', (c: Buffer) => c.toString().includes('ready') && resolve()));
  const shells = fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e)).filter((e) => {
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === owner.pid && fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').includes('sluice-tools');
    } catch {
      return false;
    }
  });
  t.equal(shells.length, 1, 'the owner started one shell');
  owner.kill('SIGKILL');
  t.ok(await gone(Number(shells[0])), 'kill -9 of the owner ends the shell');
});
