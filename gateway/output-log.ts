import fs from 'node:fs';
import { once } from 'node:events';
import type http from 'node:http';

/**
 * A sandbox's stdout and stderr, kept so that `sluice logs NAME` shows them after the fact and
 * `logs -f` follows them live. Stored and streamed as frames in Docker's attach format: an 8-byte
 * header (stream id, three zero bytes, payload length as a big-endian uint32) then the payload.
 * Stream 1 is stdout, 2 stderr, 3 Sluice's own notes as JSON (the exit code, truncation), so a
 * client learns how the command ended from the same stream, in order after its last output.
 *
 * The file is bounded (`maxBytes`); past it output is no longer stored, but followers attached at
 * that moment still receive it live, and a note in the stream says so.
 */
export const STDOUT = 1;
export const STDERR = 2;
export const SYSTEM = 3;
export type StreamId = typeof STDOUT | typeof STDERR;

export interface FollowOptions {
  streams: ReadonlySet<StreamId>;
  /** frames: the multiplexed format; raw: the payloads of the chosen streams, nothing else. */
  format: 'frames' | 'raw';
  /** Keep the response open until the sandbox's output ends. */
  follow: boolean;
}

export interface OutputLog {
  write(stream: StreamId, chunk: Buffer): void;
  /** The command's output is over: writes the closing note and ends every follower. */
  finish(note: Record<string, unknown>): void;
  readonly ended: boolean;
  /** Resolves once a reader has been given the output to its end (the closing note included). */
  consumed(): Promise<void>;
  serve(res: http.ServerResponse, opts: FollowOptions): Promise<void>;
  close(): Promise<void>;
}

const DEFAULT_MAX_BYTES = 32 * 1024 * 1024;
/** A follower that falls this far behind is disconnected rather than buffered without bound. */
const FOLLOWER_HIGH_WATER = 8 * 1024 * 1024;

export function frame(stream: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

/** Splits a byte stream into frames, carrying partial ones over between chunks. */
export function createFrameParser(onFrame: (stream: number, payload: Buffer, whole: Buffer) => void): (chunk: Buffer) => void {
  let carry = Buffer.alloc(0);
  return (chunk) => {
    let buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    while (buf.length >= 8) {
      const length = buf.readUInt32BE(4);
      if (buf.length < 8 + length) break;
      const whole = buf.subarray(0, 8 + length);
      onFrame(buf[0]!, whole.subarray(8), whole);
      buf = buf.subarray(8 + length);
    }
    carry = Buffer.from(buf);
  };
}

/** Opens (appending) the log of a live sandbox, or an ended one's for reading (`ended: true`). */
export function openOutputLog(file: string, opts: { maxBytes?: number; ended?: boolean } = {}): OutputLog {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  let ended = opts.ended ?? false;
  let size = fs.existsSync(file) ? fs.statSync(file).size : 0;
  let truncated = size >= maxBytes;
  const out = ended ? undefined : fs.createWriteStream(file, { flags: 'a', mode: 0o600 });
  out?.on('error', (err) => process.emitWarning(`sluice gateway: sandbox output ${file}: ${err.message}`));
  const followers = new Set<(whole: Buffer) => void>();
  const enders = new Set<() => void>();
  let readToEnd: () => void = () => undefined;
  const wasReadToEnd = new Promise<void>((resolve) => (readToEnd = resolve));

  const store = (whole: Buffer) => {
    if (!out || truncated) return;
    if (size + whole.length > maxBytes) {
      truncated = true;
      const note = frame(SYSTEM, Buffer.from(JSON.stringify({ notice: `output past ${maxBytes} bytes is not kept; followers attached now still receive it` })));
      out.write(note);
      size += note.length;
      for (const f of followers) f(note);
      return;
    }
    out.write(whole);
    size += whole.length;
  };
  const flushed = () => (out && !out.closed ? new Promise<void>((resolve) => out.write(Buffer.alloc(0), () => resolve())) : Promise.resolve());

  return {
    get ended() {
      return ended;
    },
    consumed: () => wasReadToEnd,
    write(stream, chunk) {
      if (ended || chunk.length === 0) return;
      const whole = frame(stream, chunk);
      store(whole);
      for (const f of followers) f(whole);
    },
    finish(note) {
      if (ended) return;
      const whole = frame(SYSTEM, Buffer.from(JSON.stringify(note)));
      // the closing note is stored even past the cap: it is what `sluice wait` and `run` read
      truncated = false;
      store(whole);
      for (const f of followers) f(whole);
      ended = true;
      out?.end();
      for (const end of [...enders]) end();
    },
    async serve(res, opts) {
      res.writeHead(200, {
        'content-type': opts.format === 'frames' ? 'application/vnd.sluice.stream' : 'application/octet-stream',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
      });
      // a follower of a quiet command must learn at once that it is attached
      res.flushHeaders();
      const pick = (stream: number, payload: Buffer, whole: Buffer): Buffer | undefined => {
        if (stream === SYSTEM) return opts.format === 'frames' ? whole : undefined;
        if (!opts.streams.has(stream as StreamId)) return undefined;
        return opts.format === 'frames' ? whole : payload;
      };
      // Live frames that arrive while the stored ones are read are held, then sent in order.
      let live = false;
      const pending: Buffer[] = [];
      let pendingBytes = 0;
      const onLive = (whole: Buffer) => {
        const out = pick(whole[0]!, whole.subarray(8), whole);
        if (!out) return;
        if (!live) {
          pending.push(out);
          pendingBytes += out.length;
          if (pendingBytes > FOLLOWER_HIGH_WATER) res.destroy();
          return;
        }
        if (res.writableLength > FOLLOWER_HIGH_WATER) {
          res.destroy();
          return;
        }
        res.write(out);
      };
      let endLive: () => void = () => undefined;
      const finished = new Promise<void>((resolve) => {
        endLive = resolve;
      });
      const following = opts.follow && !ended;
      if (following) {
        followers.add(onLive);
        enders.add(endLive);
      }
      try {
        const end = size;
        await flushed();
        if (end > 0) {
          let writesBlocked = false;
          const parse = createFrameParser((stream, payload, whole) => {
            const chosen = pick(stream, payload, whole);
            if (chosen && !res.write(chosen)) writesBlocked = true;
          });
          for await (const chunk of fs.createReadStream(file, { start: 0, end: end - 1 }) as AsyncIterable<Buffer>) {
            parse(chunk);
            if (writesBlocked && !res.destroyed) {
              writesBlocked = false;
              await Promise.race([once(res, 'drain'), once(res, 'close')]);
            }
            if (res.destroyed) return;
          }
        }
        live = true;
        for (const b of pending.splice(0)) res.write(b);
        if (following) await Promise.race([finished, once(res, 'close')]);
        if (ended && !res.destroyed) res.end(readToEnd);
      } finally {
        followers.delete(onLive);
        enders.delete(endLive);
        if (!res.destroyed) res.end();
      }
    },
    async close() {
      if (out && !out.closed) {
        out.end();
        await once(out, 'close').catch(() => undefined);
      }
      for (const end of [...enders]) end();
    },
  };
}
