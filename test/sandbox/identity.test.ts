import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { buildBaseImage, ensureDocker, type SandboxDriver } from '../../sandbox/index.js';
import { assertWorkdirWritable, chooseSandboxUser, NOBODY } from '../../sandbox/sandbox-user.js';
import { tempDir } from '../helpers/sluice.js';
import { sluiceCli } from './sluice-cli.js';

// Who the sandboxed command runs as when Sluice runs as root: never the host's root.

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
  const nobody = await chooseSandboxUser({ driver: 'docker', ...asRoot });
  t.same([nobody.uid, nobody.gid], [NOBODY, NOBODY], 'no workdir, no sudo: nobody');
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
  t.same([groupOnly.uid, groupOnly.gid], [NOBODY, 3300], 'run_as_group alone applies to the default user');
  await t.rejects(
    chooseSandboxUser({ driver: 'bwrap', process: { run_as_group: '3300' }, callerUid: 1234, callerGid: 1234, env: {} }),
    /switching users needs root/,
    'bwrap without root cannot take another group either',
  );
  if (process.getuid?.() === 0) {
    fs.chmodSync(rootOwned, 0o700);
    await t.rejects(assertWorkdirWritable(rootOwned, nobody), /not writable by the sandbox's user, uid 65534 \(nobody.*\)\. The sandbox never runs as the host's root: give the directory/s);
    fs.chmodSync(rootOwned, 0o1777);
    await t.resolves(assertWorkdirWritable(rootOwned, nobody), 'a world-writable directory is fine');
  }
});

if (process.getuid?.() !== 0) {
  t.test('started by root', { skip: 'needs root (CI runs it as root)' }, async () => undefined);
} else {
  t.setTimeout(600_000); // several `sluice run`s on shared CI cores
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

      const noWorkdir = await sluiceCli([...common, '--', 'sh', '-c', 'id -u; id -g'], { env: { SUDO_UID: '', SUDO_GID: '' } }).done;
      t.equal(noWorkdir.stdout, `${NOBODY}\n${NOBODY}\n`, `no workdir and no sudo: nobody (${noWorkdir.stderr})`);

      const viaSudo = await sluiceCli([...common, '--', 'id', '-u'], { env: { SUDO_UID: '1777', SUDO_GID: '1777' } }).done;
      t.equal(viaSudo.stdout, '1777\n', 'run through sudo: the user who ran it');

      fs.chmodSync(workdir, 0o700);
      const refused = await sluiceCli([...common, '--workdir', workdir, '--', 'touch', 'x'], { env: { SUDO_UID: '' } }).done;
      t.equal(refused.code, 125, 'a root-owned workdir the sandbox user cannot write is refused');
      t.match(refused.stderr, /the workdir .* is not writable by the sandbox's user, uid 65534.*chown -R USER DIR/s, refused.stderr);
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
