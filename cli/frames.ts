import type { Readable } from 'node:stream';

/**
 * Reads the gateway's log stream (Docker attach framing: stream id, 3 zero bytes, uint32 length,
 * payload; stream 3 carries the gateway's JSON notes, the last one the exit code) and writes
 * stdout and stderr where they belong. The gateway's own writer is gateway/output-log.ts; this
 * reader stays in cli/ so that `sluice run` does not load the gateway's modules to read it.
 */
export async function demuxFrames(source: Readable, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<Array<Record<string, unknown>>> {
  const notes: Array<Record<string, unknown>> = [];
  let carry = Buffer.alloc(0);
  for await (const chunk of source as AsyncIterable<Buffer>) {
    let buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    while (buf.length >= 8) {
      const length = buf.readUInt32BE(4);
      if (buf.length < 8 + length) break;
      const payload = buf.subarray(8, 8 + length);
      const stream = buf[0];
      if (stream === 1) out.write(payload);
      else if (stream === 2) err.write(payload);
      else if (stream === 3) {
        try {
          notes.push(JSON.parse(payload.toString('utf8')) as Record<string, unknown>);
        } catch {
          // a note that is not JSON is not ours to act on
        }
      }
      buf = buf.subarray(8 + length);
    }
    carry = Buffer.from(buf);
  }
  return notes;
}
