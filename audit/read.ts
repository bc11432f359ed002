import fs from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { SluiceEvent } from '../core/index.js';
import { eventFromOcsf } from './parse.js';

/**
 * Reads the audit log back: the rotated files oldest first (file.N … file.1), then the file,
 * line by line, and with `follow` keeps reading what is appended, across rotations. The
 * source of `sluice logs` and `sluice policy suggest`; a gateway's event stream will be another.
 */
export interface AuditEntry {
  /** The line as stored (one OCSF record). */
  line: string;
  event: SluiceEvent;
}

export interface ReadAuditOptions {
  /** Skip events before this time (ms since the epoch); whole rotated files older than it are not opened. */
  since?: number;
  follow?: boolean;
  signal?: AbortSignal;
  /** Rotated files looked for (file.1 … file.N). Default 5, the audit log's default. */
  maxFiles?: number;
  /** How often a followed file is checked when no change notification arrives (ms). */
  pollMs?: number;
}

const CHUNK = 64 * 1024;

export async function* readAuditLog(file: string, opts: ReadAuditOptions = {}): AsyncGenerator<AuditEntry> {
  const since = opts.since ?? -Infinity;
  const rotated: string[] = [];
  for (let i = opts.maxFiles ?? 5; i >= 1; i--) rotated.push(`${file}.${i}`);
  for (const old of rotated) {
    const st = await stat(old).catch(() => undefined);
    if (st && st.mtimeMs >= since) yield* wholeFile(old, since);
  }
  yield* opts.follow ? entries(follow(file, opts), since) : wholeFile(file, since);
}

/** Every entry of one file as it is now; a file that is missing (not written yet, rotated away) has none. */
async function* wholeFile(file: string, since: number): AsyncGenerator<AuditEntry> {
  const handle = await open(file, 'r').catch(() => undefined);
  if (!handle) return;
  try {
    yield* entries(readLines(handle, { position: 0 }), since);
  } finally {
    await handle.close();
  }
}

async function* entries(lines: AsyncIterable<string>, since: number): AsyncGenerator<AuditEntry> {
  for await (const line of lines) {
    if (line.trim() === '') continue;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      continue; // a line cut by a crash: the rest of the log is still worth reading
    }
    const event = eventFromOcsf(record);
    if (event && event.time >= since) yield { line, event };
  }
}

/** Complete lines from `position` to the end of the file; a trailing partial line is left in `state`. */
async function* readLines(handle: FileHandle, state: { position: number; partial?: string }): AsyncGenerator<string> {
  const buffer = Buffer.alloc(CHUNK);
  let partial = state.partial ?? '';
  while (true) {
    const { bytesRead } = await handle.read(buffer, 0, CHUNK, state.position);
    if (bytesRead === 0) break;
    state.position += bytesRead;
    const text = partial + buffer.toString('utf8', 0, bytesRead);
    const lines = text.split('\n');
    partial = lines.pop() ?? '';
    yield* lines;
  }
  state.partial = partial;
}

/** The live file: read to its end, then wait for appends or a rotation (a new inode at the path). */
async function* follow(file: string, opts: ReadAuditOptions): AsyncGenerator<string> {
  const pollMs = opts.pollMs ?? 250;
  let handle: FileHandle | undefined;
  let inode: number | undefined;
  const state = { position: 0, partial: '' };
  let wake: (() => void) | undefined;
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const watcher = fs.watch(dir, { persistent: false }, () => wake?.());
  watcher.on('error', () => undefined);
  const onAbort = () => wake?.();
  opts.signal?.addEventListener('abort', onAbort);
  try {
    while (!opts.signal?.aborted) {
      if (!handle) {
        handle = await open(file, 'r').catch(() => undefined);
        inode = handle ? (await handle.stat()).ino : undefined;
        state.position = 0;
        state.partial = '';
      }
      if (handle) yield* readLines(handle, state);
      const current = await stat(file).catch(() => undefined);
      if (handle && (!current || current.ino !== inode)) {
        // Rotated: what was appended to the old file before the rename has been read above.
        yield* readLines(handle, state);
        if (state.partial) yield state.partial;
        await handle.close();
        handle = undefined;
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    watcher.close();
    await handle?.close();
  }
}
