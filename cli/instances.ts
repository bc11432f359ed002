import fs from 'node:fs';
import path from 'node:path';
import type { BackendHealth } from '../privacy/index.js';

/**
 * Running Sluices announce themselves in `<home>/run/` (one small JSON file each, refreshed while
 * they run, removed when they stop), so `sluice status` can list them from another terminal.
 * The gateway's API will answer the same questions; this file is its stand-in until then.
 */
export interface InstanceInfo {
  pid: number;
  kind: 'up' | 'run';
  url: string;
  policyFile?: string;
  auditFile: string;
  sandbox?: string;
  enforcement: 'enforce' | 'audit';
  startedAt: string;
  updatedAt: string;
  backends: Record<string, BackendHealth>;
  openTunnels: number;
  openConnections: number;
}

export interface LiveSource {
  health(): Record<string, BackendHealth>;
  openTunnels(): number;
  openConnections(): number;
}

const REFRESH_MS = 5_000;

function runDir(home: string): string {
  return path.join(home, 'run');
}

export function registerInstance(home: string, info: Omit<InstanceInfo, 'pid' | 'startedAt' | 'updatedAt' | 'backends' | 'openTunnels' | 'openConnections'>, live: LiveSource): { close(): void } {
  const dir = runDir(home);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, `sluice-${process.pid}-${info.url.replace(/[^A-Za-z0-9]+/g, '_')}.json`);
  const startedAt = new Date().toISOString();
  const write = () => {
    const record: InstanceInfo = { ...info, pid: process.pid, startedAt, updatedAt: new Date().toISOString(), backends: live.health(), openTunnels: live.openTunnels(), openConnections: live.openConnections() };
    try {
      fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(record)}\n`, { mode: 0o600 });
      fs.renameSync(`${file}.tmp`, file);
    } catch {
      // Status is a convenience: a full disk must not take the proxy down.
    }
  };
  write();
  const timer = setInterval(write, REFRESH_MS);
  timer.unref();
  return {
    close() {
      clearInterval(timer);
      fs.rmSync(file, { force: true });
    },
  };
}

/**
 * The Sluices running with this home; files left by ones that died are removed. `isRunning` is the
 * sandbox module's (passed in: `sluice up`, which registers here, should not load the sandbox drivers).
 */
export function readInstances(home: string, isRunning: (process: { pid: number }) => boolean): InstanceInfo[] {
  const dir = runDir(home);
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => n.startsWith('sluice-') && n.endsWith('.json'));
  } catch {
    return [];
  }
  const out: InstanceInfo[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    try {
      const info = JSON.parse(fs.readFileSync(file, 'utf8')) as InstanceInfo;
      if (isRunning({ pid: info.pid })) out.push(info);
      else fs.rmSync(file, { force: true });
    } catch {
      // Being rewritten or not ours: skip it.
    }
  }
  return out.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}
