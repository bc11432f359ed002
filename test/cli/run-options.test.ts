import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { parseCommandLine, UsageError } from '../../cli/args.js';
import { COMMANDS } from '../../cli/commands.js';
import { runOptions } from '../../cli/run-options.js';
import { installDirOf } from '../../sandbox/install-dir.js';
import { tempDir } from '../helpers/sluice.js';

const parse = (words: string[]) => {
  const inv = parseCommandLine(['run', ...words], COMMANDS).invocation;
  if (!inv) throw new Error('no invocation');
  return inv;
};

t.test('-e NAME=VALUE, and -e NAME for the value this shell has', async (t) => {
  const opts = runOptions(parse(['-e', 'A=1', '-e', 'B', '-e', 'C=', '--', 'true']), { B: 'from the shell' }, '/');
  t.same(opts.env, { A: '1', B: 'from the shell', C: '' });
  t.throws(() => runOptions(parse(['-e', 'UNSET', '--', 'true']), {}, '/'), { message: /-e UNSET: UNSET is not set in this environment/ }, 'a name the shell does not have is an error, not an empty variable');
  t.throws(() => runOptions(parse(['-e', '1BAD=x', '--', 'true']), {}, '/'), UsageError);
  t.throws(() => runOptions(parse(['-e', '=x', '--', 'true']), {}, '/'), UsageError);
});

t.test('the current directory is the default workdir, except / and (as root) a root-owned one', async (t) => {
  const dir = tempDir('sluice-cwd-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) fs.chownSync(dir, 65534, 65534);
  const own = runOptions(parse(['--', 'true']), {}, dir);
  t.equal(own.workdir, dir, "a directory that is not root's (or, not as root, one you can write) is mounted");
  t.same(own.notes, []);
  t.equal(runOptions(parse(['--workdir', 'sub', '--', 'true']), {}, dir).workdir, path.join(dir, 'sub'), '--workdir is resolved against the current directory');
  const slash = runOptions(parse(['--', 'true']), {}, '/');
  t.equal(slash.workdir, undefined, '/ is never the workdir');
  t.match(slash.notes, [/the current directory is \/: no workdir is mounted/]);
  if (asRoot) {
    fs.chownSync(dir, 0, 0);
    const rootOwned = runOptions(parse(['--', 'true']), {}, dir);
    t.equal(rootOwned.workdir, undefined, "as root, a root-owned current directory is not lent without being asked");
    t.match(rootOwned.notes, [new RegExp(`the current directory ${dir} is root's: not mounted.*give --workdir ${dir}`)]);
    t.equal(runOptions(parse(['--workdir', dir, '--', 'true']), {}, '/').workdir, dir, 'asked for, it is');
  }
});

t.test('--mount-install finds the install directory of an npm-installed agent', async (t) => {
  const dir = tempDir('sluice-install-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  // a global install: prefix/lib/node_modules/@scope/agent/cli.js, linked from prefix/bin/agent
  const pkg = path.join(dir, 'lib/node_modules/@scope/agent');
  fs.mkdirSync(pkg, { recursive: true });
  fs.mkdirSync(path.join(dir, 'bin'));
  fs.writeFileSync(path.join(pkg, 'cli.js'), '#!/usr/bin/env node\n', { mode: 0o755 });
  fs.symlinkSync('../lib/node_modules/@scope/agent/cli.js', path.join(dir, 'bin/agent'));
  const global = installDirOf('agent', `/nonexistent:${path.join(dir, 'bin')}`, '/');
  t.same(global, { dir: path.join(dir, 'lib/node_modules'), executable: path.join(pkg, 'cli.js') }, 'the whole node_modules (dependencies are hoisted beside the package); the link outside it is replaced by its target');

  // a project's node_modules/.bin link stays as given: it is inside the mounted tree
  const project = path.join(dir, 'project');
  fs.mkdirSync(path.join(project, 'node_modules/.bin'), { recursive: true });
  fs.symlinkSync('../@scope/agent/cli.js', path.join(project, 'node_modules/.bin/agent'));
  fs.mkdirSync(path.join(project, 'node_modules/@scope'));
  fs.symlinkSync(pkg, path.join(project, 'node_modules/@scope/agent'));
  const local = installDirOf('node_modules/.bin/agent', '', project);
  t.same(local, { dir: path.join(dir, 'lib/node_modules'), executable: path.join(pkg, 'cli.js') }, 'symlinks are followed to where the files are');

  // a self-contained binary: its own directory
  fs.mkdirSync(path.join(dir, 'opt-agent'));
  fs.writeFileSync(path.join(dir, 'opt-agent/agent'), '', { mode: 0o755 });
  t.same(installDirOf(path.join(dir, 'opt-agent/agent'), '', '/'), { dir: path.join(dir, 'opt-agent'), executable: path.join(dir, 'opt-agent/agent') });

  t.match(installDirOf('sh', '/bin:/usr/bin', '/'), { problem: /among the system's own files in \/(usr\/)?bin/ }, 'never a system directory');
  t.match(installDirOf('no-such-agent', '/nonexistent', '/'), { problem: 'no-such-agent not found on PATH' });
  const opts = runOptions(parse(['--mount-install', '--', 'agent', '-p', 'hi']), { PATH: path.join(dir, 'bin') }, '/');
  t.same(opts.readOnly, [path.join(dir, 'lib/node_modules')]);
  t.same(opts.command, [path.join(pkg, 'cli.js'), '-p', 'hi'], 'the sandbox runs the resolved file with the same arguments');
  t.throws(() => runOptions(parse(['--mount-install', '--', 'sh']), { PATH: '/usr/bin:/bin' }, '/'), { message: /--mount-install: sh is/ });
});
