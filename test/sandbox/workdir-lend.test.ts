import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { buildBaseImage, ensureDocker, type SandboxDriver } from '../../sandbox/index.js';
import { isRunning } from '../../sandbox/owner.js';
import { readState } from '../../sandbox/sandbox-state.js';
import { assertAclTools } from '../../sandbox/workdir-acl.js';
import { parseGetfacl } from '../../sandbox/workdir-tree.js';
import { ownRunDir, tempDir } from '../helpers/sluice.js';
import { sluiceCli } from './sluice-cli.js';

// `sluice run` as root (no sudo) in root's own 0700 directory: the command runs as an
// unprivileged user that is lent the workdir with ACL entries for the run, and everything is as
// it was afterwards, except that the files it made are the workdir owner's.

const SECRET = 'root-only-secret-6f1c';

// several `sluice run`s on shared cores; set before the first test so that the runner sees it
t.setTimeout(600_000);

/** Every named ACL entry for `uid` under (and on) the given paths, symlinks not followed. */
function entriesFor(uid: number, paths: string[], recursive = true): string[] {
  const out = execFileSync('getfacl', [...(recursive ? ['-R'] : []), '-P', '-n', '--skip-base', '--absolute-names', '--', ...paths], { encoding: 'utf8' });
  let file = '';
  const found: string[] = [];
  for (const line of out.split('\n')) {
    if (line.startsWith('# file: ')) file = line.slice(8);
    else if (new RegExp(`^(default:)?user:${uid}:`).test(line)) found.push(`${file} ${line}`);
  }
  return found;
}

/** A root-only parent (0700) holding a 0600 secret and a root-owned 0700 workdir with a file and a hard link to the secret. */
function layout(t: Test) {
  const parent = tempDir('sluice-lend-');
  fs.chmodSync(parent, 0o700);
  t.teardown(() => fs.rmSync(parent, { recursive: true, force: true }));
  const secret = path.join(parent, 'secret');
  fs.writeFileSync(secret, SECRET, { mode: 0o600 });
  const workdir = path.join(parent, 'work');
  fs.mkdirSync(workdir, { mode: 0o700 });
  fs.writeFileSync(path.join(workdir, 'root-file'), 'pre-existing\n', { mode: 0o600 });
  fs.mkdirSync(path.join(workdir, 'old-dir'), { mode: 0o700 });
  fs.linkSync(secret, path.join(workdir, 'hardlinked'));
  return { parent, secret, workdir };
}

const shadowBefore = () => execFileSync('getfacl', ['-n', '/etc/shadow'], { encoding: 'utf8' }) + JSON.stringify(fs.statSync('/etc/shadow').uid);

t.test('without setfacl, a clear refusal', async (t) => {
  const empty = tempDir('sluice-noacl-');
  t.teardown(() => fs.rmSync(empty, { recursive: true }));
  t.throws(() => assertAclTools(empty), { code: 'SLUICE_SANDBOX_REFUSED', message: /apt-get install acl/ });
});

t.test("getfacl's names, escapes undone", async (t) => {
  const acls = parseGetfacl('# file: /w/a\\040b\\012c\nuser::rwx\nuser:65534:rwx\ndefault:user::rwx\n\n# file: /w/plain\nuser:7:r--\n');
  t.same([...acls.keys()], ['/w/a b\nc', '/w/plain']);
  t.same([...(acls.get('/w/a b\nc')?.users ?? [])], [65534]);
  t.equal(acls.get('/w/a b\nc')?.hasDefault, true);
  t.equal(acls.get('/w/plain')?.hasDefault, false);
});

if (process.getuid?.() !== 0) {
  t.test('root-owned workdirs', { skip: 'needs root (CI runs it as root)' }, async () => undefined);
} else {
  const drivers: SandboxDriver[] = ['bwrap', 'docker'];
  for (const driver of drivers) {
    t.test(`${driver}: a root-owned 0700 workdir under a root-only parent`, async (t) => {
      if (driver === 'docker') {
        await ensureDocker();
        await buildBaseImage();
      }
      const home = tempDir('sluice-lend-home-');
      t.teardown(() => fs.rmSync(home, { recursive: true, force: true }));
      const { parent, secret, workdir } = layout(t);
      const shadow = shadowBefore();
      const script = [
        'id -u',
        'cat root-file > copy.txt',
        'mkdir -p sub/deeper && echo made > sub/deeper/file && echo x > old-dir/added',
        `ln -s ${secret} planted-secret && ln -s /etc/shadow planted-shadow`,
        `cat ${secret} 2>/dev/null && echo READ-SECRET`,
        'cat hardlinked 2>/dev/null && echo READ-HARDLINK',
        `ln ${secret} my-link 2>/dev/null && echo LINKED-SECRET`,
        `touch ${parent}/outside 2>/dev/null`,
        'cp /bin/true suid && chmod 4755 suid 2>/dev/null; echo done',
      ].join('; ');
      const run = await sluiceCli(['run', '--driver', driver, '--home', home, '--workdir', workdir, '--', 'sh', '-c', script], { env: { SUDO_UID: '', SUDO_GID: '' } }).done;
      t.equal(run.code, 0, run.stderr);
      const uid = Number(run.stdout.split('\n')[0]);
      t.ok(uid > 0, `the command ran as uid ${uid}, not root`);
      t.match(run.stderr, /the workdir .* is root's: lent to the sandbox's user/, 'said at start');
      t.match(run.stderr, /1 file\(s\) with more than one hard link were not lent/, 'the hard link was not lent');
      t.match(run.stdout, /done\n$/, run.stdout);
      t.notMatch(run.stdout, /READ-SECRET|READ-HARDLINK|LINKED-SECRET/, 'nothing outside the workdir was readable');
      // bwrap's view of the parent is a directory of the sandbox's own tmpfs: what matters is the host's
      t.notOk(fs.existsSync(path.join(parent, 'outside')), 'nothing written outside the workdir on the host');
      t.equal(fs.readFileSync(path.join(workdir, 'copy.txt'), 'utf8'), 'pre-existing\n', "it read root's pre-existing file");
      t.equal(fs.readFileSync(path.join(workdir, 'sub/deeper/file'), 'utf8'), 'made\n', 'and wrote files and directories');

      t.same([...entriesFor(uid, ['/', path.dirname(parent), '/etc/shadow'], false), ...entriesFor(uid, [parent])], [], 'no ACL entry for the sandbox user remains anywhere');
      t.same(execFileSync('getfacl', ['-R', '-P', '--skip-base', '--absolute-names', parent], { encoding: 'utf8' }), '', 'no extended ACL at all under the parent, as before');
      for (const rel of ['copy.txt', 'sub', 'sub/deeper', 'sub/deeper/file', 'old-dir/added', 'planted-secret', 'planted-shadow', 'suid']) {
        const st = fs.lstatSync(path.join(workdir, rel));
        t.same([st.uid, st.gid], [0, 0], `${rel} is the workdir owner's`);
        t.equal(st.mode & 0o6000, 0, `${rel} has no setuid/setgid bit`);
      }
      const s = fs.statSync(secret);
      t.same([s.uid, s.mode & 0o7777], [0, 0o600], 'the secret a symlink pointed at: not chowned, not chmodded');
      t.equal(shadowBefore(), shadow, '/etc/shadow, behind a planted symlink: untouched');
    });

    t.test(`${driver}: kill -9 of sluice run, then sluice ps, takes the ACL entries back`, async (t) => {
      const runDir = ownRunDir(t, 'sluice-lend-run-');
      const home = tempDir('sluice-lend-home-');
      t.teardown(() => fs.rmSync(home, { recursive: true, force: true }));
      const env = { SLUICE_RUN_DIR: runDir, SUDO_UID: '', SUDO_GID: '' };
      const { parent, workdir } = layout(t);
      const name = `sluice-lend9-${driver}-${process.pid}`;
      const run = sluiceCli(['run', '--driver', driver, '--home', home, '--workdir', workdir, '--name', name, '--', 'sh', '-c', 'touch made-here; echo ready; sleep 120'], { env });
      await run.waitFor(/ready/, 'stdout');
      const state = await readState(name);
      const uid = state?.acl?.uid ?? -1;
      t.ok(uid > 0 && entriesFor(uid, [parent]).length > 0, `lent to uid ${uid} while it runs`);
      if (state?.reaper && isRunning(state.reaper)) process.kill(state.reaper.pid, 'SIGKILL');
      run.child.kill('SIGKILL');
      await run.done;
      t.ok(entriesFor(uid, [parent]).length > 0, 'the entries outlive a kill -9 with no reaper');
      const ps = await sluiceCli(['ps'], { env }).done;
      t.match(ps.stdout, new RegExp(`${name}\\t${driver}\\t.*orphan, removed now`), ps.stdout);
      t.same([...entriesFor(uid, ['/', path.dirname(parent)], false), ...entriesFor(uid, [parent])], [], 'sluice ps took every entry back');
      t.equal(fs.lstatSync(path.join(workdir, 'made-here')).uid, 0, "and gave the command's file to the workdir's owner");
    });
  }
}
