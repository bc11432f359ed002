import type { EventBus, SluiceEvent } from '../core/index.js';
import { formatHuman } from './human.js';
import { ocsfLine } from './ocsf.js';
import { createRotatingFile } from './rotating-file.js';
import { scrubEvent } from './scrub-event.js';

export interface AuditLogOptions {
  /** JSONL file, one OCSF record per line. */
  file: string;
  /** Rotate when the file would pass this size. Default 50 MiB. */
  maxBytes?: number;
  /** Rotated files kept (file.1 … file.N). Default 5. */
  maxFiles?: number;
  /** `--verbose`: also write each event as one human line here (e.g. process.stderr). */
  human?: NodeJS.WritableStream;
  /** Secrets out of request-derived strings before anything is written (the composition root's). */
  scrub?: (value: string) => string;
  /** Where write failures are reported; default process.emitWarning. */
  onError?: (err: Error) => void;
}

/** An event as the audit file holds it: scrubbed, and its OCSF line (no newline). */
export type AuditLineListener = (event: SluiceEvent, line: string) => void;

export interface AuditLog {
  readonly file: string;
  /**
   * Every later event as written: other readers (the gateway's event stream) show what the file
   * holds, scrubbed and rendered once. An event that could not be scrubbed never reaches them.
   */
  onLine(listener: AuditLineListener): () => void;
  /** Events lost to write errors or a full queue. */
  readonly dropped: number;
  /** Resolves once every event received so far is on disk. */
  flush(): Promise<void>;
  /** Stops listening, writes what is queued, closes the file. */
  close(): Promise<void>;
}

const DEFAULT_MAX_BYTES = 50 * 1024 * 1024;
const DEFAULT_MAX_FILES = 5;

/**
 * Subscribes to the bus and appends every event to a rotating OCSF JSONL file. The listener
 * only serialises and queues, so the request path never waits for the disk, and it never
 * throws back into the emitter.
 */
export function createAuditLog(bus: EventBus, opts: AuditLogOptions): AuditLog {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxFiles = opts.maxFiles ?? DEFAULT_MAX_FILES;
  if (!(maxBytes > 0)) throw new RangeError(`audit maxBytes must be positive, got ${maxBytes}`);
  if (!Number.isInteger(maxFiles) || maxFiles < 0) throw new RangeError(`audit maxFiles must be a non-negative integer, got ${maxFiles}`);
  const onError = opts.onError ?? ((err: Error) => process.emitWarning(`sluice audit log ${opts.file}: ${err.message}`));
  const report = (err: Error): void => {
    try {
      onError(err);
    } catch {
      // Never let reporting throw back into the emitter.
    }
  };
  const out = createRotatingFile({ file: opts.file, maxBytes, maxFiles, onError: report });
  const human = opts.human;
  // An unhandled 'error' (EPIPE on a closed stderr) would crash the process.
  const ignoreStreamError = (): void => undefined;
  human?.on('error', ignoreStreamError);
  let humanFailed = false;
  const lineListeners = new Set<AuditLineListener>();

  const unsubscribe = bus.on((raw: SluiceEvent) => {
    let event: SluiceEvent;
    try {
      event = opts.scrub ? scrubEvent(raw, opts.scrub) : raw;
    } catch (err) {
      // Fail closed: an event that cannot be scrubbed is not written at all.
      report(new Error(`cannot scrub ${String((raw as { type?: unknown }).type)} event: ${(err as Error).message}`));
      return;
    }
    let line: string | undefined;
    try {
      line = ocsfLine(event);
      out.write(line);
    } catch (err) {
      report(new Error(`cannot record ${String((event as { type?: unknown }).type)} event: ${(err as Error).message}`));
    }
    if (line !== undefined) {
      for (const listener of lineListeners) {
        try {
          listener(event, line);
        } catch {
          // A reader's failure is its own; the file and the other readers go on.
        }
      }
    }
    if (human && !humanFailed) {
      try {
        human.write(`${formatHuman(event)}\n`);
      } catch (err) {
        humanFailed = true;
        report(new Error(`cannot write the human log: ${(err as Error).message}`));
      }
    }
  });

  let closing: Promise<void> | undefined;
  return {
    file: opts.file,
    onLine(listener) {
      lineListeners.add(listener);
      return () => void lineListeners.delete(listener);
    },
    get dropped() {
      return out.dropped;
    },
    flush: () => out.flush(),
    close() {
      closing ??= (async () => {
        unsubscribe();
        await out.close();
        human?.off('error', ignoreStreamError);
      })();
      return closing;
    },
  };
}
