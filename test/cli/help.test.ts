import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { parseCommandLine } from '../../cli/args.js';
import { COMMANDS } from '../../cli/commands.js';
import { tempDir } from '../helpers/sluice.js';
import { runCli } from './io.js';

const visible = COMMANDS.filter((c) => !c.hidden);

t.test('--help and -h on every command and subcommand: usage on stdout, exit 0, nothing run', async (t) => {
  const home = tempDir();
  t.teardown(() => fs.rmSync(home, { recursive: true, force: true }));
  for (const command of visible) {
    for (const flag of ['--help', '-h']) {
      const words = [...command.name.split(' '), flag];
      const res = await runCli([...words, '--home', home]);
      t.equal(res.code, 0, `sluice ${words.join(' ')} exits 0`);
      t.match(res.stdout, new RegExp(`^usage: sluice ${command.name}`), `sluice ${words.join(' ')} prints its usage`);
      t.equal(res.stderr, '', `sluice ${words.join(' ')} prints nothing on stderr`);
      if (!command.raw) t.match(res.stdout, /global options/, 'and the global options');
    }
  }
  t.same(fs.readdirSync(home), [], 'no command ran: nothing was created in the state directory');
});

t.test('the help that used to misfire: ps, stop, policy check, run', async (t) => {
  const ps = await runCli(['ps', '--help']);
  t.notMatch(ps.stdout, /NAME\tDRIVER/, 'ps --help does not list sandboxes');
  const stop = await runCli(['stop', '--help']);
  t.match(stop.stdout, /^usage: sluice stop \[options\] NAME\.\.\./);
  const check = await runCli(['policy', 'check', '--help']);
  t.notMatch(check.stdout + check.stderr, /cannot read policy file/, 'policy check --help reads no file named --help');
  const run = await runCli(['run', '--help']);
  t.match(run.stdout, /--quiet/);
  t.match(run.stdout, /--enforcement enforce\|audit/);
  for (const words of [['run', '--', 'curl', '--help'], ['run', 'curl', '--help']]) {
    const parsed = parseCommandLine(words, COMMANDS);
    t.equal(parsed.help, false, `sluice ${words.join(' ')}: the sandboxed command's --help is not ours`);
    t.same(parsed.invocation?.rest, ['curl', '--help']);
  }
});

t.test('help is reachable every way: sluice help CMD, --help before the command, bare groups', async (t) => {
  t.match((await runCli(['help', 'logs'])).stdout, /^usage: sluice logs/);
  t.match((await runCli(['--help', 'logs'])).stdout, /^usage: sluice logs/);
  const top = await runCli(['--help']);
  t.equal(top.code, 0);
  for (const command of visible) t.match(top.stdout, `  ${command.name}`, `top-level help lists ${command.name}`);
  const group = await runCli(['policy', '--help']);
  t.equal(group.code, 0);
  t.match(group.stdout, /sluice policy check FILE/);
  t.match(group.stdout, /sluice policy suggest/);
  const bare = await runCli(['policy']);
  t.equal(bare.code, 2, 'a bare group is a usage error');
  t.match(bare.stderr, /which one\?/);
  const nothing = await runCli([]);
  t.equal(nothing.code, 2);
  t.match(nothing.stdout, /^sluice — /);
});

t.test('--version and -V, anywhere', async (t) => {
  const pkg = JSON.parse(fs.readFileSync(path.resolve('package.json'), 'utf8')) as { version: string };
  for (const args of [['--version'], ['-V'], ['logs', '--version']]) {
    const res = await runCli(args);
    t.equal(res.code, 0);
    t.equal(res.stdout, `sluice ${pkg.version} (node ${process.version})\n`, `sluice ${args.join(' ')}`);
  }
});

t.test('global flags before or after the command and subcommand', async (t) => {
  const home = tempDir();
  t.teardown(() => fs.rmSync(home, { recursive: true, force: true }));
  const expected = path.join(home, 'ca', 'sluice-ca.pem');
  for (const args of [['--home', home, 'ca', 'path'], ['ca', '--home', home, 'path'], ['ca', 'path', '--home', home], [`--home=${home}`, 'ca', 'path']]) {
    const res = await runCli(args);
    t.equal(res.code, 0, res.stderr);
    t.equal(res.stdout.trim(), expected, `sluice ${args.join(' ')}`);
  }
});

t.test('mistakes are usage errors in words, exit 2, with a pointer to --help', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['up', '--bogus'], /^sluice up: unknown option --bogus\n/],
    [['frobnicate'], /^sluice: unknown command "frobnicate"/],
    [['policy', 'frob'], /^sluice: unknown command "policy frob"/],
    [['policy', 'check'], /^sluice policy check: missing FILE/],
    [['policy', 'check', 'a.yaml', 'b.yaml'], /too many arguments: "b\.yaml"/],
    [['run', '--driver', 'lxc', '--', 'true'], /--driver must be one of bwrap, docker; got "lxc"/],
    [['logs', '--since'], /option --since needs a value \(DURATION\)/],
    [['logs', '--since', 'yesterdayish'], /--since expects a duration/],
    [['ps', 'extra'], /takes no arguments; got "extra"/],
    [['--policy', 'x.yaml', 'up'], /unknown option --policy before the command/],
    [['up', '--listen', 'nope'], /--listen expects HOST:PORT/],
  ];
  for (const [args, pattern] of cases) {
    const res = await runCli(args);
    t.equal(res.code, 2, `sluice ${args.join(' ')} exits 2`);
    t.match(res.stderr, pattern, `sluice ${args.join(' ')}`);
    t.match(res.stderr, /--help/, 'and points at --help');
    t.notMatch(res.stderr, /ERR_PARSE_ARGS|To specify a positional/, 'no parseArgs jargon');
  }
});
