import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { buildBaseImage, ensureDocker, type SandboxDriver } from '../../sandbox/index.js';
import { chooseSandboxUser, dedicatedIds, NOBODY, workdirAccess } from '../../sandbox/sandbox-user.js';
import { tempDir } from '../helpers/sluice.js';
import { sluiceCli } from './sluice-cli.js';

// Who the sandboxed command runs as when Sluice runs as root: never the host's root.

// several `sluice run`s on shared cores; set before the first test so that the runner sees it
t.setTimeout(600_000);

t.test("root's first subordinate ids are the sandbox's own", async (t) => {
  t.same(dedicatedIds('alice:100000:65536\nroot:231072:65536\n', 'root:231072:65536\n'), { uid: 231072, gid: 231072 });
  t.same(dedicatedIds('0:300000:10\n', '0:400000:10\n'), { uid: 300000, gid: 400000 }, 'by number too');
  t.equal(dedicatedIds('alice:100000:65536\n', 'root:231072:65536\n'), undefined, 'no range of root: none');
  t.equal(dedicatedIds('root:231072:65536\n', ''), undefined, 'a uid without a gid range: none (nobody instead)');
  t.equal(dedicatedIds('root:0:65536\n', 'root:0:1\n'), undefined, 'never 0');
});

t.test('the choice of user, without starting anything', async (t) => {
  const owned = tempDir('sluice-user-');
  const rootOwned = tempDir('sluice-user-root-');
  t.teardown(() => [owned, rootOwned].forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  if (process.getuid?.() === 0) fs.chownSync(owned, 4242, 0);
  const asRoot = { callerUid: 0, callerGid: 0, env: {} };
  if (process.getuid?.() === 0) {
    const owner = await chooseSandboxUser({ driver: 'bwrap', workdir: owned, ...asRoot });
    t.same([owner.uid, owner.inside.uid], [4242, 4242], "the workdir's owner");
    t.not(owner.gid, 0, 'never the root group, even when the workdir is group root');
  }
  const sudo = await chooseSandboxUser({ driver: 'bwrap', workdir: rootOwned, ...asRoot, env: { SUDO_UID: '1500', SUDO_GID: '1600' } });
  t.same([sudo.uid, sudo.gid], [1500, 1600], 'a root-owned workdir: the user who ran sudo');
  const readOr = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '');
  const fallback = dedicatedIds(readOr('/etc/subuid'), readOr('/etc/subgid')) ?? { uid: NOBODY, gid: NOBODY };
  const nobody = await chooseSandboxUser({ driver: 'docker', ...asRoot });
  t.same([nobody.uid, nobody.gid], [fallback.uid, fallback.gid], "no workdir, no sudo: root's first subordinate ids, else nobody");
  const explicit = await chooseSandboxUser({ driver: 'bwrap', process: { run_as_user: '2500', run_as_group: '2600' }, workdir: rootOwned, ...asRoot });
  t.same([explicit.uid, explicit.gid], [2500, 2600], 'the policy wins');
  const image = await chooseSandboxUser({ driver: 'docker', process: { run_as_user: 'sandbox' }, ...asRoot });
  t.same([image.uid, image.gid], [1000, 1000], "docker's symbolic sandbox user is the image's");
  const inside = await chooseSandboxUser({ driver: 'bwrap', process: { root_inside: true }, ...asRoot, env: { SUDO_UID: '1500' } });
  t.same([inside.uid, inside.inside.uid], [1500, 0], 'root inside: uid 0 in the namespace, the sudo user on the host');
  const caller = await chooseSandboxUser({ driver: 'bwrap', workdir: rootOwned, callerUid: 1234, callerGid: 1234, env: {} });
  t.same([caller.uid, caller.gid], [1234, 1234], 'without root bwrap runs as its caller');
  await t.rejects(
    chooseSandboxUser({ driver: 'bwrap', process: { run_as_user: '2500' }, callerUid: 1234, callerGid: 1234, env: {} }),
    /switching users needs root/,
  );
  await t.rejects(
    chooseSandboxUser({ driver: 'bwrap', process: { run_as_user: '2500', run_as_group: 'root' }, ...asRoot }),
    /root group/,
    'a group that resolves to root is refused',
  );
  await t.rejects(chooseSandboxUser({ driver: 'docker', process: { run_as_user: '2500', run_as_group: '0' }, callerUid: 1234, callerGid: 1234, env: {} }), /root group/, 'docker: never gid 0, whoever asks');
  const groupOnly = await chooseSandboxUser({ driver: 'docker', process: { run_as_group: '3300' }, ...asRoot });
  t.same([groupOnly.uid, groupOnly.gid], [fallback.uid, 3300], 'run_as_group alone applies to the default user');
  await t.rejects(
    chooseSandboxUser({ driver: 'bwrap', process: { run_as_group: '3300' }, callerUid: 1234, callerGid: 1234, env: {} }),
    /switching users needs root/,
    'bwrap without root cannot take another group either',
  );
  if (process.getuid?.() === 0) {
    fs.chmodSync(rootOwned, 0o700);
    t.equal(await workdirAccess(rootOwned, nobody), 'lend', "root's own workdir, as root: lent to the unprivileged user, not refused");
    await t.rejects(
      workdirAccess(rootOwned, explicit, { explicitUser: true }),
      /not writable by the sandbox's user, uid 2500 \(run_as_user.*\)\. The sandbox never runs as the host's root: give the directory/s,
      'a run_as_user the policy names is never lent a directory: refused',
    );
    fs.chownSync(owned, 4242, 0);
    fs.chmodSync(owned, 0o700);
    await t.rejects(workdirAccess(owned, nobody), /not writable/, "someone else's workdir is never lent");
    fs.chmodSync(rootOwned, 0o1777);
    t.equal(await workdirAccess(rootOwned, nobody), 'writable', 'a world-writable directory is fine, and nothing is lent');
  }
});

if (process.getuid?.() !== 0) {
  t.test('started by root', { skip: 'needs root (CI runs it as root)' }, async () => undefined);
} else {
  const drivers: SandboxDriver[] = ['bwrap', 'docker'];
  for (const driver of drivers) {
    t.test(`${driver}: sluice run by root`, async (t) => {
      if (driver === 'docker') {
        await ensureDocker();
        await buildBaseImage();
      }
      const home = tempDir('sluice-id-');
      const workdir = tempDir('sluice-id-wd-');
      t.teardown(() => [home, workdir].forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
      const common = ['run', '--driver', driver, '--home', home];

      const readOr = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '');
      const fallback = dedicatedIds(readOr('/etc/subuid'), readOr('/etc/subgid')) ?? { uid: NOBODY, gid: NOBODY };
      const noWorkdir = await sluiceCli([...common, '--', 'sh', '-c', 'id -u; id -g'], { env: { SUDO_UID: '', SUDO_GID: '' } }).done;
      t.equal(noWorkdir.stdout, `${fallback.uid}\n${fallback.gid}\n`, `no workdir and no sudo: root's first subordinate ids, else nobody (${noWorkdir.stderr})`);

      const viaSudo = await sluiceCli([...common, '--', 'id', '-u'], { env: { SUDO_UID: '1777', SUDO_GID: '1777' } }).done;
      t.equal(viaSudo.stdout, '1777\n', 'run through sudo: the user who ran it');

      fs.chmodSync(workdir, 0o700);
      const named = path.join(home, 'named-user.yaml');
      fs.writeFileSync(named, "version: 1\nprocess: { run_as_user: '2500' }\n");
      const refused = await sluiceCli([...common, '--policy', named, '--workdir', workdir, '--', 'touch', 'x'], { env: { SUDO_UID: '' } }).done;
      t.equal(refused.code, 125, "a root-owned workdir the policy's run_as_user cannot write is refused (lending is for the default user only)");
      t.match(refused.stderr, /the workdir .* is not writable by the sandbox's user, uid 2500.*chown -R USER DIR/s, refused.stderr);
      t.same(fs.readdirSync(workdir), [], 'nothing ran');

      fs.chownSync(workdir, 4343, 4343);
      const owner = await sluiceCli([...common, '--workdir', workdir, '--', 'sh', '-c', 'id -u; touch made-inside'], { env: { SUDO_UID: '1777' } }).done;
      t.equal(owner.stdout, '4343\n', "the workdir's owner comes before the sudo user");
      t.equal(fs.statSync(path.join(workdir, 'made-inside')).uid, 4343, 'and owns what the command creates');

      const policy = path.join(home, 'root-inside.yaml');
      fs.writeFileSync(policy, 'version: 1\nprocess: { root_inside: true }\n');
      const rootInside = await sluiceCli([...common, '--policy', policy, '--workdir', workdir, '--', 'sh', '-c', 'id -u; cat /proc/self/uid_map; touch by-root-inside; echo x > /proc/sys/kernel/core_pattern && echo WROTE'], {
        env: { SUDO_UID: '' },
      }).done;
      if (driver === 'bwrap') {
        t.match(rootInside.stderr, /runs as root inside the sandbox's user namespace, as the policy asks; on the host it is uid 4343 .* not root/, 'said at start');
        t.match(rootInside.stdout, /^0\n\s*0\s+4343\s+1\n/, "uid 0 inside, and the map says it is uid 4343 on the host");
        t.equal(fs.statSync(path.join(workdir, 'by-root-inside')).uid, 4343, "a file made by root inside is the host user's");
        t.notMatch(rootInside.stdout, /WROTE/, 'root inside cannot write the host\'s core_pattern');
      } else {
        t.equal(rootInside.code, 125, 'docker without userns-remap refuses root inside');
        t.match(rootInside.stderr, /root_inside needs a user namespace; this Docker engine does not remap users/);
      }
    });
  }
}
