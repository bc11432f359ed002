import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { flag } from './args.js';
import type { Invocation } from './args.js';
import { caChecks, dockerChecks, dockerClientFor, homeCheck, nodeCheck, sandboxChecks } from './doctor-checks.js';
import type { Check, DoctorEnv } from './doctor-checks.js';
import { resolveHome } from './home.js';
import type { CliIO } from './io.js';
import { nativeHeap, nativeLiterals } from '../core/index.js';
import { native } from '../redact/index.js';
import { dockerHost, findOnPath } from '../sandbox/index.js';

async function allChecks(d: DoctorEnv): Promise<Check[]> {
  // The addons are built by the same `node-gyp rebuild` of npm install.
  const build = { display: 'apt-get install -y g++ make python3, then npm rebuild in the Sluice folder', packages: ['g++', 'make', 'python3'] };
  const addonCheck = (name: string, loaded: { addon?: unknown; reason: string }, without: string, built = 'built'): Check =>
    loaded.addon ? { name, status: 'ok', detail: built } : { name, status: 'warn', detail: `${loaded.reason}; ${without}`, fix: build };
  const literals = nativeLiterals();
  return [
    nodeCheck(),
    homeCheck(d),
    addonCheck('native redaction addon', { addon: native.collector, reason: native.reason }, 'redaction runs its slower JavaScript loop'),
    addonCheck('native placeholder search', literals, 'request bodies are searched for placeholders with a RegExp, slower on large uploads', `built (its ${literals.addon?.path} loop)`),
    addonCheck('native memory release', nativeHeap(), '`sluice up` keeps the memory its start-up used ~8 s longer (~11 MB)'),
    ...(await sandboxChecks(d)),
    ...(await dockerChecks(d)),
    ...(await caChecks(d)),
  ];
}

function report(checks: Check[], io: CliIO): { failures: number; warnings: number } {
  const width = Math.max(...checks.map((c) => c.name.length));
  for (const c of checks) {
    const mark = c.status === 'ok' ? 'ok  ' : c.status === 'warn' ? 'warn' : 'FAIL';
    io.stdout.write(`  ${mark}  ${c.name.padEnd(width)}  ${c.detail}\n`);
    if (c.fix && c.status !== 'ok') io.stdout.write(`  ${' '.repeat(4)}  ${' '.repeat(width)}  fix: ${c.fix.display}\n`);
  }
  return { failures: checks.filter((c) => c.status === 'fail').length, warnings: checks.filter((c) => c.status === 'warn').length };
}

function execute(argv: string[], env: NodeJS.ProcessEnv, io: CliIO): Promise<number> {
  const file = argv[0]!.includes('/') ? argv[0]! : findOnPath(argv[0]!, env.PATH);
  if (!file) {
    io.stderr.write(`sluice doctor: ${argv[0]} not found on PATH; cannot run: ${argv.join(' ')}\n`);
    return Promise.resolve(127);
  }
  io.stderr.write(`sluice doctor: running ${argv.join(' ')}\n`);
  return new Promise((resolve) => {
    const child = spawn(file, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d: Buffer) => io.stderr.write(d));
    child.stderr.on('data', (d: Buffer) => io.stderr.write(d));
    child.on('error', () => resolve(127));
    child.on('close', (code) => resolve(code ?? 1));
  });
}

/** Starts a Docker engine the way this machine does it (systemd when it runs), then waits for it. */
async function startDocker(d: DoctorEnv, io: CliIO): Promise<boolean> {
  const socket = dockerHost(d.env);
  if (findOnPath('systemctl', d.env.PATH) && fs.existsSync('/run/systemd/system')) {
    await execute(['systemctl', 'start', 'docker'], d.env, io);
  } else {
    const dockerd = findOnPath('dockerd', d.env.PATH);
    if (!dockerd) return false;
    const log = path.join(d.home, 'dockerd.log');
    const fd = fs.openSync(log, 'a');
    io.stderr.write(`sluice doctor: starting ${dockerd} (log: ${log})\n`);
    const child = spawn(dockerd, [], { env: d.env, detached: true, stdio: ['ignore', fd, fd] });
    child.on('error', () => undefined);
    child.unref();
    fs.closeSync(fd);
  }
  const docker = dockerClientFor(socket);
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
    if (await docker.ping().then(() => true, () => false)) return true;
  }
  io.stderr.write(`sluice doctor: no Docker engine answers at ${socket} after 30 s\n`);
  return false;
}

async function fix(checks: Check[], d: DoctorEnv, io: CliIO): Promise<void> {
  const env = { ...d.env, DEBIAN_FRONTEND: 'noninteractive' };
  const broken = checks.filter((c) => c.status !== 'ok' && c.fix);
  const packages = [...new Set(broken.flatMap((c) => c.fix!.packages ?? []))];
  if (packages.length > 0) {
    await execute(['apt-get', 'update'], env, io);
    await execute(['apt-get', 'install', '-y', '--no-install-recommends', ...packages], env, io);
  }
  for (const c of broken) for (const argv of c.fix!.commands ?? []) await execute(argv, env, io);
  if (broken.some((c) => c.fix!.startDocker)) await startDocker(d, io);
  const manual = broken.filter((c) => !c.fix!.packages && !c.fix!.commands && !c.fix!.startDocker);
  for (const c of manual) io.stderr.write(`sluice doctor: fix by hand: ${c.name}: ${c.fix!.display}\n`);
}

/**
 * `sluice doctor [--fix]`: checks what Sluice needs here and prints the command that fixes each
 * missing piece; `--fix` (root only) runs them and checks again. Exit 1 while something `sluice
 * run` needs is missing; warnings (the Docker driver, trust outside sandboxes) do not count.
 */
export async function doctor(inv: Invocation, io: CliIO): Promise<number> {
  const d: DoctorEnv = { env: io.env, root: process.getuid?.() === 0, home: resolveHome(inv.home, io.env) };
  io.stdout.write(`sluice doctor (${d.root ? 'root' : `uid ${process.getuid?.() ?? '?'}`}, state in ${d.home})\n`);
  let checks = await allChecks(d);
  let { failures, warnings } = report(checks, io);
  if (flag(inv, 'fix') && failures + warnings > 0) {
    if (!d.root) {
      io.stderr.write('sluice doctor: --fix installs packages and starts daemons, which needs root: run it with sudo\n');
      return 1;
    }
    await fix(checks, d, io);
    io.stdout.write('after the fixes:\n');
    checks = await allChecks(d);
    ({ failures, warnings } = report(checks, io));
  }
  const fixable = checks.some((c) => c.status !== 'ok' && c.fix && (c.fix.packages || c.fix.commands || c.fix.startDocker));
  io.stdout.write(
    failures + warnings === 0
      ? 'everything Sluice needs is here\n'
      : `${failures} problem${failures === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}${fixable && !flag(inv, 'fix') ? '; `sluice doctor --fix` (as root) runs the fixes' : ''}\n`,
  );
  return failures > 0 ? 1 : 0;
}
