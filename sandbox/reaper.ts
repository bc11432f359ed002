import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import path from 'node:path';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { currentProcess, processStart, type ProcessIdentity } from './owner.js';
import { sluiceRunDir } from './sandbox-files.js';

export interface Reaper {
  readonly identity: ProcessIdentity;
  /** The owner cleaned up itself: the reaper has nothing to do. */
  stop(): void;
}

/** The compiled entry point (dist/sandbox/reaper-main.js), also when this module runs from source. */
function reaperEntry(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'reaper-main.js'), path.join(here, '..', 'dist', 'sandbox', 'reaper-main.js')];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`sandbox reaper not found (looked in ${candidates.join(', ')}; run \`npm run build\`)`);
  return found;
}

/**
 * A watcher that removes the sandbox the moment its owner dies, however it dies (`kill -9`, an
 * OOM kill, a crash): a detached shell blocked reading a pipe whose only writer is the owner.
 * The kernel closes that end when the owner exits; the read returns and the shell execs the
 * clean-up (reaper-main.ts), which acts only if the owner is really gone. It costs one idle
 * `sh` while the sandbox runs; Node starts only when there is something to do. A reaper that is
 * itself killed leaves the job to the next `sluice run` or `sluice ps` (cleanupLeftovers).
 */
export function startReaper(name: string): Reaper {
  return spawnReaper([name]);
}

/**
 * One reaper for everything a long-lived owner (the gateway) makes: when the owner dies it runs
 * the clean-up `sluice ps` runs, which removes every sandbox and warm network of a dead owner.
 * Why one: Node forks its whole process to spawn, which blocks a gateway's event loop for
 * 15-80 ms per spawn (more the larger it is, and at load); one per sandbox was one more spawn on
 * every create. Its sandboxes do not list it: removing one must not stop it.
 */
export function startOwnerReaper(): Reaper {
  const me = currentProcess();
  return spawnReaper([OWNER_FLAG, String(me.pid), String(me.start)]);
}

export const OWNER_FLAG = '--owner';

function spawnReaper(args: string[]): Reaper {
  const log = openSync(path.join(sluiceRunDir(), 'reaper.log'), 'a', 0o600);
  const child = spawn('/bin/sh', ['-c', 'read _ignored; exec "$@"', 'sluice-reaper', process.execPath, reaperEntry(), ...args], {
    detached: true,
    // not the owner's: a temporary directory it ran in may be gone by the time the reaper runs
    cwd: '/',
    stdio: ['pipe', 'ignore', log],
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...(process.env.SLUICE_RUN_DIR ? { SLUICE_RUN_DIR: process.env.SLUICE_RUN_DIR } : {}) },
  });
  closeSync(log);
  child.on('error', () => undefined);
  child.stdin?.on('error', () => undefined);
  // neither the child nor our end of its pipe may keep this process alive
  child.unref();
  (child.stdin as unknown as Socket | null)?.unref();
  const pid = child.pid ?? 0;
  return {
    identity: { pid, start: processStart(pid) ?? 0 },
    stop() {
      child.kill('SIGKILL');
      child.stdin?.destroy();
    },
  };
}
