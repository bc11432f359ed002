import { createHash } from 'node:crypto';
import type { Span } from './detector.js';
import { createUtf8Encoder, wellFormed } from './utf8.js';

/**
 * Detections of long texts, remembered under a SHA-256 of the text's UTF-8 bytes (which the detector scans, so
 * they are converted once), or of its UTF-16 code units when it has lone surrogates (which UTF-8 cannot tell
 * apart). LLM APIs are stateless,
 * so an agent sends the conversation's whole history on every turn: with this, only the messages that are new
 * get scanned, and the old ones cost a hash (about 1 µs per KB, against 10–40 µs per KB to scan) plus their
 * pseudonym lookups. It holds positions and types only, never text; which placeholder a span becomes is still
 * the vault's business, so an evicted value gets a fresh number exactly as without the cache.
 */
export interface DetectionCache {
  detect(text: string): readonly Span[];
  readonly hits: number;
  readonly misses: number;
}

export interface DetectionCacheLimits {
  /** Shorter texts are scanned every time: hashing them costs about as much. */
  readonly minChars: number;
  /** Texts remembered (least recently used go first). */
  readonly maxTexts: number;
  /** Spans remembered over all texts. */
  readonly maxSpans: number;
}

export const DEFAULT_CACHE_LIMITS: DetectionCacheLimits = { minChars: 512, maxTexts: 4096, maxSpans: 256 * 1024 };

const UTF8 = Buffer.of(1);
const UTF16 = Buffer.of(2);

/** Fields per span in a remembered Float64Array. */
const START = 0;
const END = 1;
const TYPE = 2;
const SCORE = 3;
const PRIORITY = 4;
const FIELDS = 5;

export function createDetectionCache(detect: (text: string, utf8?: Buffer) => Span[], limits: DetectionCacheLimits = DEFAULT_CACHE_LIMITS): DetectionCache {
  // Map order is recency order: a hit moves its entry to the end. Spans are kept as numbers in one typed array
  // per text, not as objects: the cache outlives requests, and thousands of small objects would be what every
  // garbage collection copies and walks.
  const remembered = new Map<string, Float64Array>();
  const types: string[] = [];
  const typeIndex = new Map<string, number>();
  const encode = createUtf8Encoder();
  let spans = 0;
  let hits = 0;
  let misses = 0;

  function pack(found: readonly Span[]): Float64Array {
    const packed = new Float64Array(found.length * FIELDS);
    for (let i = 0; i < found.length; i++) {
      const s = found[i]!;
      let type = typeIndex.get(s.type);
      if (type === undefined) typeIndex.set(s.type, (type = types.push(s.type) - 1));
      const e = i * FIELDS;
      packed[e + START] = s.start;
      packed[e + END] = s.end;
      packed[e + TYPE] = type;
      packed[e + SCORE] = s.score;
      packed[e + PRIORITY] = s.priority;
    }
    return packed;
  }

  function unpack(packed: Float64Array): Span[] {
    const out: Span[] = [];
    for (let e = 0; e < packed.length; e += FIELDS) {
      out.push({ type: types[packed[e + TYPE]!]!, start: packed[e + START]!, end: packed[e + END]!, score: packed[e + SCORE]!, priority: packed[e + PRIORITY]! });
    }
    return out;
  }

  return {
    detect(text) {
      if (text.length < limits.minChars) return detect(text);
      const utf8 = encode(text);
      // The first byte keeps the two encodings' keys apart.
      const hash = createHash('sha256');
      const key = (wellFormed(text, utf8) ? hash.update(UTF8).update(utf8) : hash.update(UTF16).update(text, 'utf16le')).digest('base64');
      const known = remembered.get(key);
      if (known !== undefined) {
        hits++;
        remembered.delete(key);
        remembered.set(key, known);
        return unpack(known);
      }
      misses++;
      const found = detect(text, utf8);
      remembered.set(key, pack(found));
      spans += found.length;
      if (remembered.size > limits.maxTexts || spans > limits.maxSpans) {
        for (const [oldest, entry] of remembered) {
          if (remembered.size <= limits.maxTexts && spans <= limits.maxSpans) break;
          remembered.delete(oldest);
          spans -= entry.length / FIELDS;
        }
      }
      return found;
    },
    get hits() {
      return hits;
    },
    get misses() {
      return misses;
    },
  };
}
