import { Transform } from 'node:stream';
import zlib from 'node:zlib';

/**
 * Content-Encoding for bodies Sluice inspects. Stages see bodies as identity bytes: a secret in
 * a gzip-compressed request body, or a key echoed in a compressed response, is a secret all the
 * same. Where a body is inspected, Sluice decodes it and sends it on decoded; a coding it cannot
 * decode is refused rather than passed on unseen.
 */
type DecoderFactory = () => Transform;

// zstd decoding arrived in Node 22.15; where the runtime has it, it is used.
const createZstd = (zlib as unknown as { createZstdDecompress?: DecoderFactory }).createZstdDecompress;

const DECODERS: ReadonlyMap<string, DecoderFactory> = new Map<string, DecoderFactory>([
  ['gzip', () => zlib.createGunzip()],
  ['x-gzip', () => zlib.createGunzip()],
  ['deflate', inflateEither],
  ['br', () => zlib.createBrotliDecompress()],
  ...(createZstd ? [['zstd', createZstd] as [string, DecoderFactory]] : []),
]);

/** The codings in a Content-Encoding value, in the order they were applied; identity left out. */
export function codingsOf(header: string | string[] | undefined): string[] {
  if (header === undefined) return [];
  const value = Array.isArray(header) ? header.join(',') : header;
  return value.split(',').map((c) => c.trim().toLowerCase()).filter((c) => c !== '' && c !== 'identity');
}

/** Decoders undoing `codings` (last applied, first undone), or the first coding Sluice cannot decode. */
export function decodersFor(codings: readonly string[]): { decoders: Transform[] } | { unsupported: string } {
  const decoders: Transform[] = [];
  for (const coding of [...codings].reverse()) {
    const make = DECODERS.get(coding);
    if (!make) {
      for (const d of decoders) d.destroy();
      return { unsupported: coding };
    }
    decoders.push(make());
  }
  return { decoders };
}

/**
 * An Accept-Encoding value with only the codings Sluice can decode, for a request whose response
 * will be inspected: the upstream then has no reason to send anything Sluice would have to refuse.
 */
export function decodableAcceptEncoding(value: string | string[] | undefined): string {
  if (value === undefined) return 'identity';
  const kept = (Array.isArray(value) ? value.join(',') : value)
    .split(',')
    .map((part) => part.trim())
    .filter((part) => {
      const coding = part.split(';')[0]!.trim().toLowerCase();
      return coding === 'identity' || DECODERS.has(coding);
    });
  return kept.length > 0 ? kept.join(', ') : 'identity';
}

/**
 * "deflate" is zlib-wrapped by RFC 9110, raw in some servers: the first two bytes tell which
 * (a zlib header names method 8 and is a multiple of 31).
 */
function inflateEither(): Transform {
  let inner: zlib.Inflate | zlib.InflateRaw | undefined;
  let head = Buffer.alloc(0);
  const out: Transform = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      let data = chunk;
      if (!inner) {
        head = Buffer.concat([head, chunk]);
        if (head.length < 2) return done();
        const wrapped = (head[0]! & 0x0f) === 8 && ((head[0]! << 8) | head[1]!) % 31 === 0;
        inner = wrapped ? zlib.createInflate() : zlib.createInflateRaw();
        inner.on('data', (d: Buffer) => out.push(d));
        inner.on('error', (err) => out.destroy(err));
        data = head;
      }
      if (inner.write(data)) done();
      else inner.once('drain', () => done());
    },
    flush(done) {
      if (!inner) return done(head.length ? new Error('deflate body too short') : null);
      inner.once('end', () => done());
      inner.end();
    },
  });
  return out;
}
