import os from 'node:os';
import type { RunningSandbox } from '../sandbox/index.js';

/** How long CMD has to exit after SIGTERM/SIGINT before everything in the sandbox is killed. */
export const STOP_GRACE_MS = 5000;

/** The exit status of a command ended by `signal`, as a shell reports it. */
export const signalExit = (signal: NodeJS.Signals): number => 128 + (os.constants.signals[signal] ?? 0);

/**
 * SIGTERM, SIGINT and SIGHUP always end `sluice run`: the first is passed to CMD; if CMD has not
 * exited STOP_GRACE_MS later (it ignores the signal, or its init was stopped), the whole sandbox is
 * killed from the host, where nothing inside can resist it; a second signal kills at once.
 * A signal before CMD starts ends the start-up (a second one exits at once, and the sandbox's
 * reaper removes what was made). With a terminal, Ctrl-C already reaches CMD
 * (same foreground process group), so SIGINT is not forwarded again, only counted.
 */
export function createStopper(current: () => RunningSandbox | undefined, tty: boolean) {
  let resolveStopped: (code: number) => void = () => undefined;
  const stopped = new Promise<number>((resolve) => (resolveStopped = resolve));
  let timer: NodeJS.Timeout | undefined;
  const state = { signal: undefined as NodeJS.Signals | undefined, forced: false };
  const kill = async () => {
    state.forced = true;
    const sandbox = current();
    await sandbox?.remove().catch(() => undefined);
    resolveStopped(sandbox ? await sandbox.wait() : 130);
  };
  const forward = (sandbox: RunningSandbox, signal: NodeJS.Signals) => {
    if (!(tty && signal === 'SIGINT')) sandbox.kill(signal);
    void sandbox.wait().then(resolveStopped);
    timer = setTimeout(() => void kill(), STOP_GRACE_MS);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    const sandbox = current();
    if (state.signal) {
      // a second signal while the sandbox is still being made: leave now, the reaper removes it
      if (!sandbox) {
        process.stderr.write(`sluice run: stopped by ${signal} again before the sandbox was ready: killed; its reaper removes what was made\n`);
        process.exit(signalExit(signal));
      }
      clearTimeout(timer);
      void kill();
      return;
    }
    state.signal = signal;
    if (sandbox) forward(sandbox, signal);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  return {
    stopped,
    get signal() {
      return state.signal;
    },
    get forced() {
      return state.forced;
    },
    /** Ends the start-up when a signal came before CMD started. */
    check() {
      if (state.signal) throw new Error(`stopped by ${state.signal}`);
    },
    /** CMD runs: a signal that came while it was being started is passed on now. */
    started() {
      const sandbox = current();
      if (state.signal && sandbox) forward(sandbox, state.signal);
    },
    dispose() {
      clearTimeout(timer);
      for (const s of signals) process.off(s, onSignal);
    },
  };
}
