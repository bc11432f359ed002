import type http from 'node:http';
import { finished } from 'node:stream';
import type { BodyFilter, StageResponse } from '../core/index.js';
import { flushAll, throughAll } from './body-filters.js';
import { stripHopByHop } from './headers.js';

/**
 * A stage's own answer (the router's, above all) written to the client. A streamed body goes out
 * a chunk as soon as the stage yields it, each through the response filters, with no object-mode
 * Readable and stream.pipeline in between: those cost an AbortController, a DOMException and a
 * few ticks per answer, on the path of an LLM stream's first token. Backpressure is kept (the
 * next chunk is asked for once the client has drained); a client that goes away ends the loop,
 * which returns the stage's iterator (so the router drops its backend request), and the promise
 * rejects as stream.pipeline's did.
 */
export async function writeStageResponse(res: http.ServerResponse, response: StageResponse, filters: readonly BodyFilter[]): Promise<void> {
  res.writeHead(response.status, stripHopByHop(response.headers));
  const body = response.body;
  const chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array> = typeof body === 'string' || body instanceof Uint8Array ? [Buffer.from(body)] : body;
  try {
    for await (const chunk of chunks) {
      if (res.destroyed) throw prematureClose();
      const out = filters.length ? await throughAll(filters, Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)) : chunk;
      if (out.length > 0 && !res.write(out)) await drained(res);
    }
    const tail = filters.length ? await flushAll(filters) : undefined;
    if (res.destroyed) throw prematureClose();
    await new Promise<void>((resolve, reject) => {
      finished(res, (err) => (err ? reject(err) : resolve()));
      res.end(tail?.length ? tail : undefined);
    });
  } catch (err) {
    res.destroy();
    throw err;
  }
}

/** Resolves when the client has taken what was written, or is gone (the loop then sees `destroyed`). */
function drained(res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function prematureClose(): Error {
  return Object.assign(new Error('the client closed the connection before the answer was complete'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
}
