import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { buildBaseImage, ensureDocker, type SandboxDriver } from '../../sandbox/index.js';
import { tempDir } from '../helpers/sluice.js';
import { sluiceCli } from './sluice-cli.js';

/**
 * The sandbox-escape review's attempts, performed from inside `sluice run` started as root with
 * default settings, on both drivers (escape-probes.py), plus what only the host can check: the
 * host's kernel.core_pattern, the owner and mode of every file the sandbox left, the exit report.
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const CORE_PATTERN = '/proc/sys/kernel/core_pattern';
/** A uid no account has: the workdir's owner, so the sandbox runs as it. */
const OWNER = 4242;

interface Probe {
  name: string;
  held: boolean;
  detail: string;
}

function setUp(t: Test) {
  const home = tempDir('sluice-escape-');
  const workdir = tempDir('sluice-escape-wd-');
  fs.chownSync(workdir, OWNER, OWNER);
  const secrets = tempDir('sluice-escape-ro-');
  fs.chmodSync(secrets, 0o755);
  const secret = path.join(secrets, 'root-only.key');
  fs.writeFileSync(secret, 'TOPSECRET-ROOT-ONLY\n', { mode: 0o600 });
  const policy = path.join(home, 'policy.yaml');
  fs.writeFileSync(policy, `version: 1\nfilesystem_policy:\n  read_only: [${here}, ${secrets}]\n`);
  t.teardown(() => {
    for (const dir of [home, workdir, secrets]) fs.rmSync(dir, { recursive: true, force: true });
  });
  return { home, workdir, secrets, secret, policy };
}

if (process.getuid?.() !== 0) {
  t.plan(0, 'the escape suite runs as root, as the review did (CI runs it as root)');
} else {
  t.setTimeout(600_000); // several `sluice run`s on shared CI cores
  const drivers: SandboxDriver[] = ['bwrap', 'docker'];
  for (const driver of drivers) {
    t.test(`${driver}: every escape attempt from a default sandbox started by root holds`, async (t) => {
      if (driver === 'docker') {
        await ensureDocker();
        await buildBaseImage();
      }
      const { home, workdir, secrets, secret, policy } = setUp(t);
      const corePatternBefore = fs.readFileSync(CORE_PATTERN, 'utf8');
      let result;
      try {
        const run = sluiceCli(['run', '--driver', driver, '--policy', policy, '--home', home, '--workdir', workdir, '--', 'python3', path.join(here, 'escape-probes.py'), secret, secrets], { extraFd: 40 });
        result = await run.done;
      } finally {
        const after = fs.readFileSync(CORE_PATTERN, 'utf8');
        if (after !== corePatternBefore) {
          fs.writeFileSync(CORE_PATTERN, corePatternBefore);
          // eslint-disable-next-line no-unsafe-finally
          throw new Error(`ESCAPE: the sandbox changed the host's kernel.core_pattern to ${JSON.stringify(after)} (restored to ${JSON.stringify(corePatternBefore)})`);
        }
      }
      t.pass(`kernel.core_pattern unchanged (${corePatternBefore.trim()})`);
      const probes = result.stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Probe);
      t.match(result.stdout, /PROBES-DONE/, `every attempt ran: ${result.stderr.slice(-600)}`);
      t.ok(probes.length >= 40, `${probes.length} attempts`);
      for (const p of probes) t.ok(p.held, `${p.name}: ${p.detail}`);

      const byName = new Map(probes.map((p) => [p.name, p]));
      t.match(byName.get('write_core_pattern')?.detail, /EROFS|EACCES/, 'core_pattern: the write was attempted and refused');
      t.match(byName.get('uid_not_root')?.detail, new RegExp(`uid ${OWNER}\\b`), 'the command runs as the workdir\'s owner');
      for (const name of ['chmod_4755', 'chmod_2755', 'fchmod_4755', 'open_create_4755', 'openat_create_2755', 'ptrace_attach_init_0x1', 'ptrace_attach_init_0x100000001', 'unshare_user_namespace', 'keyctl_user_keyring', 'userfaultfd']) {
        t.match(byName.get(name)?.detail, /^EPERM/, `${name} is refused by the seccomp filter (EPERM), not by chance`);
      }
      // runc answers ENOSYS for calls newer than its profile knows (fchmodat2 is Linux 6.6), which glibc treats as absent
      t.match(byName.get('fchmodat2_4755')?.detail, driver === 'bwrap' ? /^EPERM/ : /^(EPERM|ENOSYS)/, 'fchmodat2 with a setuid mode refused');
      t.match(byName.get('openat2_create_4755')?.detail, /^ENOSYS/, 'openat2 answers ENOSYS (its mode is out of the filter\'s sight)');
      t.match(byName.get('io_uring_setup')?.detail, /^ENOSYS/, 'io_uring answers ENOSYS');
      t.match(byName.get('clone3')?.detail, /^ENOSYS/, 'clone3 answers ENOSYS (libc falls back to clone)');
      // docker: the container never holds the user's terminal, and its profile leaves ioctl alone (docker-seccomp.ts)
      if (driver === 'bwrap') t.match(byName.get('ioctl_tiocsti')?.detail, /^EPERM/, 'TIOCSTI refused by the filter');

      // what the host sees afterwards
      const left = fs.readdirSync(workdir).map((f) => ({ f, st: fs.lstatSync(path.join(workdir, f)) }));
      t.ok(left.some((e) => e.f === 'py-copy'), 'the sandbox did write the workdir');
      for (const { f, st } of left) {
        t.equal(st.mode & 0o6000, 0, `${f}: no setuid/setgid bit on the host (mode ${(st.mode & 0o7777).toString(8)})`);
        t.equal(st.uid, OWNER, `${f}: owned by uid ${OWNER}, not root`);
      }
      t.match(result.stderr, /left 1 symlink\(s\) pointing outside[\s\S]*shadow-link -> \/etc\/shadow/, 'the symlink to a host path is reported at exit');
      t.notMatch(result.stdout + result.stderr, /TOPSECRET/, 'the root-only host file was not read');
      t.equal(result.code, 0, 'the probes ran to the end');
    });
  }
}
