import { mkdir, open, rename, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';

export interface RotatingFileOptions {
  file: string;
  /** Rotate before a write would take the file past this size. */
  maxBytes: number;
  /** Rotated files kept: file.1 (newest) … file.N (oldest). */
  maxFiles: number;
  /** Lines waiting for the disk beyond this are dropped (and counted) rather than held in memory. */
  maxQueuedBytes?: number;
  /** Called when writing fails; once per failure streak, not once per line. */
  onError?: (err: Error) => void;
}

/** An append-only line log that never blocks its caller: lines queue in memory and one loop writes them. */
export interface RotatingFile {
  /** Queues one line (a newline is appended). Never throws. */
  write(line: string): void;
  /** Resolves once every line queued so far has been written (or dropped after an error). */
  flush(): Promise<void>;
  /** Flushes, then closes the file; later writes are dropped. */
  close(): Promise<void>;
  /** Lines lost to write errors or a full queue. */
  readonly dropped: number;
}

interface Line {
  /** The line without its newline. */
  data: string;
  /** Its UTF-8 length with the newline. */
  bytes: number;
}

const MAX_BATCH_BYTES = 1 << 20;
/**
 * Lines are gathered this long before one write: each write is a hand-off to libuv's thread pool
 * (a wake-up that competes with the request path for the cores), so per line it cost more than the
 * line. A crash can lose this much more than the lines already waiting for the disk.
 */
const BATCH_MS = 5;
/** …unless this much is waiting: then it goes at once. */
const BATCH_BYTES = 64 << 10;

export function createRotatingFile(opts: RotatingFileOptions): RotatingFile {
  const { file, maxBytes, maxFiles } = opts;
  const maxQueuedBytes = opts.maxQueuedBytes ?? 64 << 20;
  const onErrorOption = opts.onError ?? ((err: Error) => process.emitWarning(`sluice audit log ${file}: ${err.message}`));
  // A throwing error callback must not turn into an unhandled rejection of the write loop.
  const onError = (err: Error): void => {
    try {
      onErrorOption(err);
    } catch {
      // Nothing left to tell.
    }
  };
  const queue: Line[] = [];
  let queuedBytes = 0;
  let handle: FileHandle | undefined;
  let size = 0;
  let draining: Promise<void> | undefined;
  let failing = false;
  let queueFullReported = false;
  let dropped = 0;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;

  /** A write soon: at once when a batch is full, else when the batch window ends. */
  function schedule(): void {
    if (draining) return;
    if (queuedBytes >= BATCH_BYTES) {
      kick();
      return;
    }
    timer ??= setTimeout(kick, BATCH_MS);
  }

  function kick(): void {
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (draining) return;
    draining = drain().finally(() => {
      draining = undefined;
      // Lines queued during the last write: the next batch window (or at once, if a batch is full).
      if (queue.length > 0) schedule();
    });
  }

  /**
   * Writes a batch, and goes on only while full ones wait: lines queued during a write wait for the
   * next batch window (see kick's caller) rather than follow it a few at a time. Under steady load
   * the loop had become one write per one to three lines.
   */
  async function drain(): Promise<void> {
    if (queue.length === 0) return;
    do {
      let batch: Line[] = [];
      try {
        await ensureOpen();
        const first = queue[0]!;
        if (size > 0 && size + first.bytes > maxBytes) await rotate();
        batch = takeBatch(Math.min(Math.max(maxBytes - size, 0), MAX_BATCH_BYTES));
        const data = `${batch.map((l) => l.data).join('\n')}\n`;
        await handle!.write(data);
        size += batch.reduce((n, l) => n + l.bytes, 0);
        failing = false;
        queueFullReported = false;
      } catch (err) {
        // The lines in hand are lost; say so once, drop the handle, and try afresh with the next batch.
        if (batch.length === 0) batch = takeBatch(MAX_BATCH_BYTES);
        dropped += batch.length;
        if (!failing) onError(err as Error);
        failing = true;
        await handle?.close().catch(() => undefined);
        handle = undefined;
      }
    } while (queuedBytes >= BATCH_BYTES);
  }

  /** Takes whole lines up to `room` bytes, and always at least one so oversized lines still get out. */
  function takeBatch(room: number): Line[] {
    let count = 0;
    let bytes = 0;
    while (count < queue.length && (count === 0 || bytes + queue[count]!.bytes <= room)) {
      bytes += queue[count]!.bytes;
      count += 1;
    }
    queuedBytes -= bytes;
    return queue.splice(0, count);
  }

  async function ensureOpen(): Promise<void> {
    if (handle) return;
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    handle = await open(file, 'a', 0o600);
    size = (await handle.stat()).size;
  }

  async function rotate(): Promise<void> {
    await handle?.close();
    handle = undefined;
    if (maxFiles < 1) {
      await unlink(file).catch(ignoreMissing);
    } else {
      for (let i = maxFiles - 1; i >= 1; i--) await rename(`${file}.${i}`, `${file}.${i + 1}`).catch(ignoreMissing);
      await rename(file, `${file}.1`).catch(ignoreMissing);
    }
    await ensureOpen();
  }

  /** Everything queued, now rather than at the end of the batch window. */
  async function writeOut(): Promise<void> {
    while (queue.length > 0 || draining) {
      if (!draining) kick();
      await draining;
    }
  }

  return {
    write(line) {
      if (closed) {
        dropped += 1;
        return;
      }
      // The newline is added when the batch is joined: a copy of every line fewer.
      const data = line;
      const bytes = Buffer.byteLength(line) + 1;
      if (queuedBytes + bytes > maxQueuedBytes) {
        dropped += 1;
        if (!queueFullReported) onError(new Error(`audit queue full (${maxQueuedBytes} bytes waiting for the disk); dropping events`));
        queueFullReported = true;
        return;
      }
      queue.push({ data, bytes });
      queuedBytes += bytes;
      schedule();
    },
    flush: writeOut,
    async close() {
      closed = true;
      await writeOut();
      await handle?.close().catch(() => undefined);
      handle = undefined;
    },
    get dropped() {
      return dropped;
    },
  };
}

function ignoreMissing(err: NodeJS.ErrnoException): void {
  if (err.code !== 'ENOENT') throw err;
}
