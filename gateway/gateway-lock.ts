import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/**
 * One gateway per state folder. The lock file names the holder by pid and start time (a pid alone
 * could be a new process that inherited the number); a lock whose holder is gone is stale and
 * taken over, which is how a gateway restarted after `kill -9` finds its predecessor's state.
 */
export interface GatewayLock {
  /** The previous holder, when it died without releasing the lock. */
  readonly stale?: { pid: number };
  release(): void;
}

export function gatewayDir(home: string): string {
  return path.join(home, 'gateway');
}

export function socketPathFor(home: string): string {
  return path.join(gatewayDir(home), 'api.sock');
}

function processStart(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  } catch {
    return undefined;
  }
}

export function acquireGatewayLock(home: string): GatewayLock {
  const dir = gatewayDir(home);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
  const file = path.join(dir, 'gateway.lock');
  const mine = JSON.stringify({ pid: process.pid, start: processStart(process.pid) });
  let stale: { pid: number } | undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, mine, { flag: 'wx', mode: 0o600 });
      return { ...(stale ? { stale } : {}), release: () => releaseIfMine(file, mine) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let holder: { pid: number; start?: number } | undefined;
    try {
      holder = JSON.parse(fs.readFileSync(file, 'utf8')) as { pid: number; start?: number };
    } catch {
      holder = undefined;
    }
    if (holder && processStart(holder.pid) !== undefined && processStart(holder.pid) === holder.start) {
      throw new Error(`a gateway is already running for ${home} (pid ${holder.pid}); its API is ${socketPathFor(home)}`);
    }
    stale = { pid: holder?.pid ?? 0 };
    fs.rmSync(file, { force: true });
  }
  throw new Error(`could not take the gateway lock ${file}: another gateway is starting`);
}

function releaseIfMine(file: string, mine: string): void {
  try {
    if (fs.readFileSync(file, 'utf8') === mine) fs.rmSync(file, { force: true });
  } catch {
    // already gone
  }
}

/** True when something accepts connections on the socket (a gateway is serving there). */
export function socketAnswers(socketPath: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(socketPath);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
