import { Transform } from 'node:stream';
import type { BodyFilter } from '../core/index.js';

/**
 * How a chain of BodyFilters runs — in one place, for streams and for buffered bodies alike:
 * every chunk passes the filters in order, and at the end each filter's tail passes the filters
 * after it before that filter's own flush output is appended.
 */
/**
 * The chain over one chunk, without a promise while every filter answers at once (most do: the credential
 * guard, the DLP scanner; a promise and a microtask per chunk cost ~10 % of an upload's CPU per MB); from
 * the first filter that answers with a promise, the rest follow it.
 */
export function throughAll(filters: readonly BodyFilter[], chunk: Buffer): Buffer | Promise<Buffer> {
  let out = chunk;
  for (let i = 0; i < filters.length; i++) {
    const next = filters[i]!.transform(out);
    if (!(next instanceof Uint8Array)) return next.then((b) => throughAll(filters.slice(i + 1), b));
    out = next;
  }
  return out;
}

export async function flushAll(filters: readonly BodyFilter[]): Promise<Buffer> {
  let tail: Buffer = Buffer.alloc(0);
  for (const f of filters) {
    if (tail.length) tail = await f.transform(tail);
    if (f.flush) tail = Buffer.concat([tail, await f.flush()]);
  }
  return tail;
}

export function filterStream(filters: readonly BodyFilter[]): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      let out: Buffer | Promise<Buffer>;
      try {
        out = throughAll(filters, chunk);
      } catch (err) {
        cb(err as Error);
        return;
      }
      if (out instanceof Uint8Array) cb(null, out);
      else out.then((b) => cb(null, b), (err: Error) => cb(err));
    },
    flush(cb) {
      flushAll(filters).then((tail) => cb(null, tail.length ? tail : undefined), (err: Error) => cb(err));
    },
  });
}

/** True when no filter of the chain changes a body's length (see BodyFilter.keepsLength). */
export function keepLength(filters: readonly BodyFilter[]): boolean {
  return filters.every((f) => f.keepsLength === true);
}

/** A whole body through the chain, as if it had arrived in one chunk. */
export async function filterBuffer(filters: readonly BodyFilter[], body: Buffer): Promise<Buffer> {
  if (filters.length === 0) return body;
  const head = await throughAll(filters, body);
  const tail = await flushAll(filters);
  return tail.length ? Buffer.concat([head, tail]) : head;
}
