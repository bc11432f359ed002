import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { explainSpawnError } from '../../sandbox/index.js';
import { tempDir } from '../helpers/sluice.js';
import { runCli } from './io.js';

// doctor runs the programs it finds on PATH. Here PATH holds only stand-ins: this machine's
// packages and daemons are never touched, and what doctor would install is what the stand-in
// apt-get records (and "installs" by writing stand-ins of its own).
const isRoot = process.getuid?.() === 0;

function stand(dir: string, name: string, body: string): void {
  fs.writeFileSync(path.join(dir, name), body, { mode: 0o755 });
}

/** A Docker engine stand-in: answers /_ping on the socket DOCKER_HOST names, 404 for anything else. */
const FAKE_DOCKERD = `#!/usr/bin/env node
const http = require('node:http');
const fs = require('node:fs');
const socket = process.env.DOCKER_HOST.replace('unix://', '');
fs.writeFileSync(socket + '.pid', String(process.pid));
http.createServer((req, res) => {
  if (req.url.endsWith('/_ping')) { res.writeHead(200, { 'content-type': 'text/plain' }); res.end('OK'); return; }
  res.writeHead(404, { 'content-type': 'application/json' }); res.end('{"message":"not here"}');
}).listen(socket);
`;

t.test('doctor: each missing piece with the command that fixes it; --fix runs them and checks again', { skip: isRoot ? false : 'doctor checks what root needs (nft, ip) only as root' }, async (t) => {
  const dir = tempDir();
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  const home = path.join(dir, 'home');
  const socket = path.join(dir, 'docker.sock');
  t.teardown(() => {
    const pid = Number(fs.readFileSync(`${socket}.pid`, 'utf8'));
    if (pid) process.kill(pid, 'SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  stand(bin, 'bwrap', '#!/bin/sh\nexit 0\n');
  stand(bin, 'dockerd', FAKE_DOCKERD);
  const apt = path.join(dir, 'apt-get.log');
  stand(bin, 'apt-get', `#!/bin/sh\necho "$*" >> ${apt}\nif [ "$1" = install ]; then for t in nft ip nsenter setfacl; do printf '#!/bin/sh\\nexit 0\\n' > ${bin}/$t; /bin/chmod 755 ${bin}/$t; done; fi\n`);
  const env = { PATH: bin, DOCKER_HOST: `unix://${socket}`, HOME: dir };

  const before = await runCli(['doctor', '--home', home], env);
  t.equal(before.code, 1, 'exit 1 while something sluice run needs is missing');
  t.match(before.stdout, /FAIL +nftables \(nft\) +nft not found on PATH; needed for sluice run as root/);
  t.match(before.stdout, /fix: apt-get install -y nftables/);
  t.match(before.stdout, /FAIL +iproute2 \(ip\) .*\n.*fix: apt-get install -y iproute2/);
  t.match(before.stdout, /warn +acl \(setfacl\) +setfacl not found on PATH; needed for sluice run as root in a root-owned workdir.*\n.*fix: apt-get install -y acl/);
  t.match(before.stdout, /ok +bubblewrap \(bwrap\) +.*\/bin\/bwrap/);
  t.match(before.stdout, /ok +user namespaces/);
  t.match(before.stdout, /warn +Docker engine answering +nothing answers at unix:\/\/.*docker\.sock/);
  t.match(before.stdout, /warn +curl trusts Sluice's CA +curl not on PATH; not checked/);
  t.match(before.stdout, /`sluice doctor --fix` \(as root\) runs the fixes/);
  t.notOk(fs.existsSync(apt), 'without --fix nothing is run');

  const fixed = await runCli(['doctor', '--fix', '--home', home], env);
  t.equal(fixed.code, 0, fixed.stdout + fixed.stderr);
  t.same(fs.readFileSync(apt, 'utf8').trim().split('\n'), ['update', 'install -y --no-install-recommends nftables iproute2 util-linux acl'], 'one apt-get install of the packages that were missing');
  const after = fixed.stdout.slice(fixed.stdout.indexOf('after the fixes:'));
  t.match(after, /ok +nftables \(nft\)/);
  t.match(after, /ok +iproute2 \(ip\)/);
  t.match(after, /ok +acl \(setfacl\)/);
  t.match(after, /ok +Docker engine answering/, 'dockerd was started and answered');
  t.match(after, /warn +sluice-base image +not built/, 'then the image is the next thing to do');
  t.notMatch(fixed.stderr, /update-ca-certificates/, 'the CA is never put in the system store without the operator');
});

t.test('a missing program is a sentence naming its Debian package, not "spawn nft ENOENT"', async (t) => {
  const empty = tempDir();
  t.teardown(() => fs.rmSync(empty, { recursive: true, force: true }));
  for (const [command, pkg] of [['nft', 'nftables'], ['bwrap', 'bubblewrap'], ['ip', 'iproute2'], ['dockerd', 'docker.io']] as const) {
    const err = await new Promise<unknown>((resolve) => execFile(command, ['--version'], { env: { PATH: empty } }, (e) => resolve(e)));
    t.match(String((err as Error).message), /ENOENT/, `${command}: the raw error is ENOENT`);
    t.match(explainSpawnError(err), new RegExp(`^${command} is not installed: it is in the Debian package ${pkg.replace('.', '\\.')}, needed for .*apt-get install -y ${pkg.replace('.', '\\.')}`));
  }
  t.equal(explainSpawnError(new Error('something else')), undefined);
});
