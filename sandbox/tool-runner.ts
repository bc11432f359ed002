import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { missingToolMessage } from './host-tools.js';
import type { CommandResult } from './run-command.js';
import { sluiceRunDir } from './sandbox-files.js';

/**
 * Runs host tools (ip, nft) for a long-lived process through a small shell it started once.
 *
 * Why: Node forks the whole parent to spawn a program, and the copy costs more the larger the
 * parent is (a 45 MB Node spawns `true` in ~30 ms at load, a 144 MB one in ~50-70 ms, measured
 * on the shared 2-core machine). A gateway spawns ip and nft several times per sandbox; the
 * shell forks in well under a millisecond whatever the gateway's size.
 *
 * How: each request is a directory under a root-only (0700) directory holding the argv as a
 * script of single-quoted words (`exec 'ip' '-batch' '-'`: no expansion, no injection) and its
 * input; its id goes down the shell's stdin, the shell runs it in the background under
 * `timeout` and answers "id status" on its stdout. The shell reads only ids of that form from a
 * pipe only this process holds, and exits when the pipe closes: it dies with its owner.
 * A runner whose shell is gone answers every request with an error (the caller fails closed),
 * and the next request starts a new shell.
 */
export interface ToolRunner {
  run(file: string, args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<CommandResult>;
  close(): void;
}

const LOOP = [
  'dir=$1',
  'while IFS= read -r id; do',
  '  case $id in *[!0-9a-f]*|"") continue;; esac',
  '  r=$dir/$id',
  '  { read -r secs <"$r/timeout"; timeout -s KILL "$secs" /bin/sh "$r/cmd" <"$r/in" >"$r/out" 2>"$r/err"; echo "$id $?"; } &',
  'done',
  'wait',
].join('\n');

type Refable = { ref?: () => void; unref?: () => void };
function refs(child: ChildProcess, on: boolean): void {
  for (const stream of [child.stdin, child.stdout] as unknown as Refable[]) {
    if (on) stream?.ref?.();
    else stream?.unref?.();
  }
}

const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

const RUNNER_DIR = /^\.tools-(\d+)-[0-9a-f]+$/;

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Request directories of runners whose owner died without closing them (a gateway killed -9). */
function sweepOrphans(runDir: string): void {
  let entries: string[];
  try {
    entries = readdirSync(runDir);
  } catch {
    return;
  }
  for (const entry of entries) {
    const owner = RUNNER_DIR.exec(entry)?.[1];
    if (owner !== undefined && !alive(Number(owner))) rmSync(path.join(runDir, entry), { recursive: true, force: true });
  }
}

export function startToolRunner(): ToolRunner {
  sweepOrphans(sluiceRunDir());
  const dir = path.join(sluiceRunDir(), `.tools-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pending = new Map<string, (status: number | Error) => void>();
  let shell: ChildProcess | undefined;
  let closed = false;

  const helper = (): ChildProcess => {
    if (shell && shell.exitCode === null && shell.signalCode === null) return shell;
    const child = spawn('/bin/sh', ['-c', LOOP, 'sluice-tools', dir], {
      stdio: ['pipe', 'pipe', 'ignore'],
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    });
    child.on('error', () => undefined);
    child.stdin!.on('error', () => undefined);
    // the helper may not keep its owner alive; its pipe ends when the owner does
    child.unref();
    refs(child, false);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const [id, status] = line.split(' ');
      const done = id ? pending.get(id) : undefined;
      if (done) done(Number(status));
    });
    child.once('exit', () => {
      for (const done of pending.values()) done(new Error('the host tool runner exited before answering'));
    });
    shell = child;
    return child;
  };

  return {
    async run(file, args, opts = {}) {
      if (closed) throw new Error('the host tool runner is closed');
      const timeoutMs = opts.timeoutMs ?? 30_000;
      const id = randomBytes(8).toString('hex');
      const req = path.join(dir, id);
      await mkdir(req, { mode: 0o700 });
      try {
        await Promise.all([
          writeFile(path.join(req, 'cmd'), `exec ${[file, ...args].map(quote).join(' ')}\n`),
          writeFile(path.join(req, 'in'), opts.input ?? ''),
          writeFile(path.join(req, 'timeout'), `${Math.ceil(timeoutMs / 1000)}\n`),
        ]);
        const status = await new Promise<number | Error>((resolve) => {
          pending.set(id, resolve);
          const child = helper();
          // an answer awaited keeps this process alive; an idle helper does not
          refs(child, true);
          child.stdin!.write(`${id}\n`);
        });
        pending.delete(id);
        if (pending.size === 0 && shell) refs(shell, false);
        if (status instanceof Error) throw status;
        const [stdout, stderr] = await Promise.all([readFile(path.join(req, 'out'), 'utf8'), readFile(path.join(req, 'err'), 'utf8')]);
        if (status === 0) return { stdout, stderr };
        const command = `${file} ${args.join(' ')}`;
        if (status === 137) throw new Error(`${command}: no answer after ${timeoutMs} ms`);
        if (status === 127 && /not found/.test(stderr)) throw new Error(missingToolMessage(file));
        throw new Error(`${command}: ${stderr.trim() || `exit status ${status}`}`);
      } finally {
        pending.delete(id);
        await rm(req, { recursive: true, force: true });
      }
    },
    close() {
      closed = true;
      shell?.stdin?.end();
      for (const done of pending.values()) done(new Error('the host tool runner was closed'));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
