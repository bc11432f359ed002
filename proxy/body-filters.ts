import { Transform } from 'node:stream';
import type { BodyFilter } from '../core/index.js';

/**
 * How a chain of BodyFilters runs — in one place, for streams and for buffered bodies alike:
 * every chunk passes the filters in order, and at the end each filter's tail passes the filters
 * after it before that filter's own flush output is appended.
 */
export async function throughAll(filters: readonly BodyFilter[], chunk: Buffer): Promise<Buffer> {
  let out = chunk;
  for (const f of filters) out = await f.transform(out);
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
      throughAll(filters, chunk).then((out) => cb(null, out), (err: Error) => cb(err));
    },
    flush(cb) {
      flushAll(filters).then((tail) => cb(null, tail.length ? tail : undefined), (err: Error) => cb(err));
    },
  });
}

/** A whole body through the chain, as if it had arrived in one chunk. */
export async function filterBuffer(filters: readonly BodyFilter[], body: Buffer): Promise<Buffer> {
  if (filters.length === 0) return body;
  const head = await throughAll(filters, body);
  const tail = await flushAll(filters);
  return tail.length ? Buffer.concat([head, tail]) : head;
}
