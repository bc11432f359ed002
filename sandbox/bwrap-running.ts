import type { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { PassThrough, type Readable } from 'node:stream';
import { descendants, killAll } from './owner.js';
import type { RunningSandbox } from './types.js';

/**
 * bwrap's info fd names the sandbox's PID 1, which is bwrap itself acting as init: the kernel
 * drops signals to a namespace's init that it has no handler for, so CMD (its child) is signalled.
 */
function commandProcesses(initPid: number): number[] {
  try {
    return readFileSync(`/proc/${initPid}/task/${initPid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export function runningBwrap(opts: {
  name: string;
  child: ReturnType<typeof spawn>;
  infoFd: number;
  reachable: { host: string; port: number };
  exitNotes: () => Promise<string[]>;
  cleanup: () => Promise<void>;
}): RunningSandbox {
  const { child } = opts;
  let commandPid: number | undefined;
  let initKnown: (pid: number | undefined) => void = () => undefined;
  const initPid = new Promise<number | undefined>((resolve) => (initKnown = resolve));
  // bwrap reports the host pid of the sandbox's init on --info-fd; CMD is its child.
  const info = child.stdio[opts.infoFd] as Readable | null;
  let infoText = '';
  info?.on('data', (chunk: Buffer) => {
    infoText += chunk.toString();
    const match = /"child-pid"\s*:\s*(\d+)/.exec(infoText);
    if (match) initKnown((commandPid = Number(match[1])));
  });
  info?.on('error', () => undefined);
  const exited = new Promise<number>((resolve) => {
    child.on('error', () => {
      initKnown(undefined);
      resolve(127);
    });
    child.on('exit', (code, signal) => {
      initKnown(undefined);
      resolve(code ?? 128 + (signal ? (os.constants.signals[signal] ?? 0) : 0));
    });
  });
  let removed: Promise<void> | undefined;
  // Node resumes (drains into nothing) the output pipes of a child that exits while nobody reads them, so a
  // fast CMD lost its output when the caller attached its listeners a moment after start() returned (under
  // load; it failed the start-up test in two clean-clone CI runs of twelve). Piped into streams of our own from
  // the start, the output waits for its reader.
  const stdout = child.stdout?.pipe(new PassThrough()) ?? null;
  const stderr = child.stderr?.pipe(new PassThrough()) ?? null;
  return {
    name: opts.name,
    driver: 'bwrap',
    proxyAddress: opts.reachable,
    stdin: child.stdin,
    stdout,
    stderr,
    wait: () => exited,
    // bwrap itself is the init (pid 1 inside), a supervisor of the sandbox, not one of its programs.
    init: async () => {
      const pid = child.exitCode === null && child.signalCode === null ? await initPid : undefined;
      return pid === undefined ? undefined : { pid, supervisor: true };
    },
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      const targets = commandPid ? commandProcesses(commandPid) : [];
      if (targets.length === 0 && child.pid) targets.push(child.pid);
      killAll(targets, signal);
    },
    exitNotes: opts.exitNotes,
    remove() {
      removed ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          // the whole tree from the host, which nothing inside can resist or delay (a stopped
          // or traced init included); --die-with-parent does not cover a sandbox still being set up
          killAll(child.pid ? descendants(child.pid) : []);
          child.kill('SIGKILL');
          await exited;
        }
        await opts.cleanup();
      })();
      return removed;
    },
  };
}
