import fs from 'node:fs';
import path from 'node:path';
import type { SandboxDriver } from '../sandbox/index.js';

/**
 * What the gateway knows about each sandbox it made, kept under
 * `<home>/gateway/sandboxes/<name>/` (0700): `sandbox.json` (this record), `policy.yaml` (the
 * policy text as last set) and `output.log` (see output-log.ts). Records outlive the gateway, so
 * that after a crash the next one knows what it owned, and `sluice ps` still shows how each ended.
 */
export type SandboxState = 'creating' | 'running' | 'exited' | 'stopped' | 'failed' | 'lost';

export interface SandboxRecord {
  name: string;
  driver: SandboxDriver;
  command: string[];
  image?: string;
  workdir?: string;
  /** Names of the variables the caller added (values are not kept: they may be sensitive). */
  env: string[];
  stdin: boolean;
  state: SandboxState;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number | null;
  reason?: string;
  /** The gateway process that ran it (after a crash: which one died). */
  gatewayPid: number;
  /** Where the sandbox reaches its own proxy listener. */
  proxy?: { host: string; port: number };
  policyRevision: number;
  policyUpdatedAt: string;
  /** Folder relative `file:` credential sources of its policy are read from. */
  policyDir?: string;
}

export const ACTIVE: ReadonlySet<SandboxState> = new Set(['creating', 'running']);

export function sandboxesDir(home: string): string {
  return path.join(home, 'gateway', 'sandboxes');
}

export function recordDir(home: string, name: string): string {
  return path.join(sandboxesDir(home), name);
}

/** Claims the name: fails with EEXIST when a record (live or ended) already has it. */
export function claimRecordDir(home: string, name: string): string {
  const root = sandboxesDir(home);
  fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  const dir = recordDir(home, name);
  fs.mkdirSync(dir, { mode: 0o700 });
  return dir;
}

/** Atomic (write then rename): a crash leaves the old record or the new one, never half. */
export function writeRecord(home: string, record: SandboxRecord): void {
  const file = path.join(recordDir(home, record.name), 'sandbox.json');
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

export function writePolicyText(home: string, name: string, text: string): void {
  const file = path.join(recordDir(home, name), 'policy.yaml');
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

export function readPolicyText(home: string, name: string): string | undefined {
  try {
    return fs.readFileSync(path.join(recordDir(home, name), 'policy.yaml'), 'utf8');
  } catch {
    return undefined;
  }
}

export function outputFile(home: string, name: string): string {
  return path.join(recordDir(home, name), 'output.log');
}

/** Every readable record; unreadable ones are reported, not guessed at. */
export function readRecords(home: string): { records: SandboxRecord[]; unreadable: string[] } {
  const records: SandboxRecord[] = [];
  const unreadable: string[] = [];
  let entries: string[];
  try {
    entries = fs.readdirSync(sandboxesDir(home));
  } catch {
    return { records, unreadable };
  }
  for (const entry of entries) {
    try {
      const record = JSON.parse(fs.readFileSync(path.join(sandboxesDir(home), entry, 'sandbox.json'), 'utf8')) as SandboxRecord;
      if (record.name !== entry) throw new Error('name does not match its folder');
      records.push(record);
    } catch (err) {
      unreadable.push(`${entry}: ${(err as Error).message}`);
    }
  }
  return { records, unreadable };
}

export function removeRecordDir(home: string, name: string): void {
  fs.rmSync(recordDir(home, name), { recursive: true, force: true });
}
