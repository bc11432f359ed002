import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { commandLibraries } from '../../sandbox/command-libraries.js';
import { buildBaseImage, ensureDocker } from '../../sandbox/index.js';
import { missingLibraryNote, watchLoaderErrors } from '../../sandbox/loader-errors.js';
import { cliEnv, SLUICE_BIN, spawnGateway, uniqueName } from '../helpers/gateway.js';
import { tempDir } from '../helpers/sluice.js';

// Builds an image and runs real containers: the wall time follows the shared machine's load.
t.setTimeout(600_000);

/**
 * Issue 15 item 7: a command that links a library the docker image lacks. A real program is
 * compiled here against libjansson (nftables' JSON library: on every host Sluice runs on as
 * root, and not among the base image's libraries); under docker it cannot start, `sluice run`
 * names the library and the fix, and `sluice image build --for` makes an image it runs in.
 */
const work = tempDir('sluice-libs-');
fs.chmodSync(work, 0o755);
const binDir = path.join(work, 'bin');
fs.mkdirSync(binDir, { mode: 0o755 });
const program = path.join(binDir, 'jansson-version');
const jansson = ['/lib/x86_64-linux-gnu/libjansson.so.4', '/usr/lib/x86_64-linux-gnu/libjansson.so.4', '/lib/aarch64-linux-gnu/libjansson.so.4'].find((p) => fs.existsSync(p));
t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));

t.test('the compiler and the library are here (CI installs both: build-essential for the addon, nftables for the firewall)', async (t) => {
  t.ok(jansson, 'libjansson.so.4 present');
  const source = path.join(work, 'jansson-version.c');
  fs.writeFileSync(source, '#include <stdio.h>\nconst char *jansson_version_str(void);\nint main(void) { printf("jansson %s\\n", jansson_version_str()); return 0; }\n');
  execFileSync('gcc', ['-o', program, source, '-l:libjansson.so.4']);
  fs.chmodSync(program, 0o755);
  t.match(execFileSync(program, { encoding: 'utf8' }), /^jansson \d+\.\d+/, 'runs on the host');
});

t.test('commandLibraries: the executable, a script\'s interpreter, an npm package\'s native parts', async (t) => {
  const direct = await commandLibraries(program);
  t.ok(direct.libraries.some((l) => path.basename(l) === 'libjansson.so.4'), 'the program\'s own library');
  t.ok(direct.libraries.some((l) => path.basename(l) === 'libc.so.6'), 'and libc');
  t.same(direct.unresolved, []);

  const onPath = await commandLibraries('jansson-version', `/nonexistent:${binDir}`);
  t.same(onPath.libraries, direct.libraries, 'found on PATH as by name');

  const script = path.join(work, 'script');
  fs.writeFileSync(script, '#!/usr/bin/env -S node --no-warnings\nconsole.log(1)\n', { mode: 0o755 });
  const viaEnv = await commandLibraries(script);
  t.same(viaEnv.executables, [fs.realpathSync(execFileSync('which', ['node'], { encoding: 'utf8' }).trim())], 'the interpreter /usr/bin/env names');

  // an npm-installed command: a node script in node_modules/.bin, a prebuilt binary beside it
  const pkg = path.join(work, 'proj', 'node_modules', 'tool');
  fs.mkdirSync(path.join(pkg, 'prebuilt'), { recursive: true });
  fs.mkdirSync(path.join(work, 'proj', 'node_modules', '.bin'));
  fs.writeFileSync(path.join(pkg, 'cli.js'), '#!/usr/bin/env node\n', { mode: 0o755 });
  fs.copyFileSync(program, path.join(pkg, 'prebuilt', 'helper'));
  fs.chmodSync(path.join(pkg, 'prebuilt', 'helper'), 0o755);
  fs.symlinkSync('../tool/cli.js', path.join(work, 'proj', 'node_modules', '.bin', 'tool'));
  const npm = await commandLibraries(path.join(work, 'proj', 'node_modules', '.bin', 'tool'));
  t.ok(npm.executables.includes(path.join(fs.realpathSync(pkg), 'prebuilt', 'helper')), 'the native part is read');
  t.ok(npm.libraries.some((l) => path.basename(l) === 'libjansson.so.4'), 'and what it links is carried');

  await t.rejects(commandLibraries('no-such-command-sluice', '/usr/bin'), /no-such-command-sluice not found on PATH/);
  const text = path.join(work, 'notes.txt');
  fs.writeFileSync(text, 'plain text\n');
  await t.rejects(commandLibraries(text), /neither a dynamically linked program nor a script/);
});

t.test('the loader\'s own message is recognised, wherever its line falls in the stream', async (t) => {
  const real = 'jansson-version: error while loading shared libraries: libjansson.so.4: cannot open shared object file: No such file or directory\n';
  const watch = watchLoaderErrors();
  // the attach stream's frame header, then the line split across two chunks
  watch.see(Buffer.concat([Buffer.from([2, 0, 0, 0, 0, 0, 0, real.length]), Buffer.from(real.slice(0, 40))]));
  t.equal(watch.missing(), undefined, 'not yet');
  watch.see(Buffer.from(real.slice(40)));
  t.equal(watch.missing(), 'libjansson.so.4');
  t.equal(watchLoaderErrors().missing(), undefined, 'nothing said, nothing found');
  t.match(missingLibraryNote('libx.so.1', '/opt/x', 'sluice-base:latest'), /`sluice image build --force --for \/opt\/x`/);
  t.match(missingLibraryNote('libx.so.1', '/opt/x', 'mine:1'), /`sluice image build --force --tag mine:1 --for \/opt\/x`/);
});

const run = (args: string[], home: string) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(SLUICE_BIN, args, { env: cliEnv({ SLUICE_HOME: home }), cwd: work, timeout: 180_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });

t.test('under docker: the missing library is named with its fix; an image built --for the program runs it', { skip: process.getuid?.() !== 0 ? 'needs root (dockerd)' : false }, async (t) => {
  await ensureDocker();
  await buildBaseImage();
  const home = tempDir('sluice-libs-home-');
  t.teardown(() => fs.rmSync(home, { recursive: true, force: true }));
  const expected = new RegExp(`sluice run: ${program.replace(/[/.]/g, '\\$&')} could not start: it links libjansson\\.so\\.4, which the image sluice-base:latest does not carry\\. Run \`sluice image build --force --for ${program.replace(/[/.]/g, '\\$&')}\``);

  const own = await run(['run', '-q', '--no-gateway', '--driver', 'docker', '--mount-install', '--', program], home);
  t.equal(own.code, 127, 'the loader\'s exit code is kept');
  t.match(own.stderr, /error while loading shared libraries: libjansson\.so\.4/, 'the loader\'s own line still shows');
  t.match(own.stderr, expected, 'a Sluice of its own names the library and the fix');

  const gw = await spawnGateway(home);
  t.teardown(async () => {
    await gw.agent.close();
    const exited = new Promise((r) => gw.child.once('exit', r));
    gw.child.kill('SIGTERM');
    await exited;
  });
  const viaGateway = await run(['run', '-q', '--driver', 'docker', '--mount-install', '--', program], home);
  t.equal(viaGateway.code, 127);
  t.match(viaGateway.stderr, expected, 'so does the gateway');

  const fine = await run(['run', '-q', '--driver', 'docker', '--', 'true'], home);
  t.equal(fine.code, 0);
  t.notMatch(fine.stderr, /could not start/, 'a command that starts gets no such note');

  const tag = `sluice-base:${uniqueName('libs')}`;
  const docker = await ensureDocker();
  t.teardown(() => docker.getImage(tag).remove({ force: true }).catch(() => undefined));
  const built = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(SLUICE_BIN, ['image', 'build', '--tag', tag, '--for', program], { env: cliEnv({ SLUICE_HOME: home }), timeout: 400_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
  t.equal(built.code, 0, built.stderr.slice(-500));
  t.match(built.stderr, new RegExp(`${program.replace(/[/.]/g, '\\$&')}: \\d+ shared libraries from 1 executable`));
  const again = await run(['image', 'build', '--tag', tag, '--for', program], home);
  t.match(again.stdout, /already present/, 'the same commands make the same recipe');

  const ok = await run(['run', '-q', '--driver', 'docker', '--image', tag, '--mount-install', '--', program], home);
  t.equal(ok.code, 0, ok.stderr.slice(-500));
  t.match(ok.stdout, /^jansson \d+\.\d+/, 'the program runs in the image built for it');

  const missing = await run(['image', 'build', '--tag', tag, '--for', 'no-such-command-sluice'], home);
  t.not(missing.code, 0);
  t.match(missing.stderr, /sluice image build --for no-such-command-sluice: no-such-command-sluice not found on PATH/);
});
