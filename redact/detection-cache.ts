import { createHash } from 'node:crypto';
import { PER_SPAN } from './detector.js';
import type { PackedSpans } from './detector.js';
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
  /** The detector's packed spans of `text`: read them before the next call (see Detector.detectPacked). */
  detect(text: string): PackedSpans;
  /**
   * The remembered spans of `text`, or the key to remember them under once found (none for a text too short to
   * remember): for callers that find them elsewhere, such as on a worker thread.
   */
  lookup(text: string): { spans: Int32Array } | { key?: string };
  /** Remembers spans found for the key lookup() gave. */
  remember(key: string, spans: Int32Array): void;
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

export function createDetectionCache(detect: (text: string, utf8?: Buffer) => PackedSpans, limits: DetectionCacheLimits = DEFAULT_CACHE_LIMITS): DetectionCache {
  // Map order is recency order: a hit moves its entry to the end. Spans are kept as the detector packs them, in one
  // typed array per text, not as objects: the cache outlives requests, and thousands of small objects would be what
  // every garbage collection copies and walks.
  const remembered = new Map<string, Int32Array>();
  const encode = createUtf8Encoder();
  let spans = 0;
  let hits = 0;
  let misses = 0;

  function keyOf(text: string, utf8: Buffer): string {
    // The first byte keeps the two encodings' keys apart.
    const hash = createHash('sha256');
    return (wellFormed(text, utf8) ? hash.update(UTF8).update(utf8) : hash.update(UTF16).update(text, 'utf16le')).digest('base64');
  }

  function recall(key: string): Int32Array | undefined {
    const known = remembered.get(key);
    if (known === undefined) return undefined;
    hits++;
    remembered.delete(key);
    remembered.set(key, known);
    return known;
  }

  function remember(key: string, data: Int32Array): void {
    if (remembered.has(key)) return;
    remembered.set(key, data);
    spans += data.length / PER_SPAN;
    if (remembered.size > limits.maxTexts || spans > limits.maxSpans) {
      for (const [oldest, entry] of remembered) {
        if (remembered.size <= limits.maxTexts && spans <= limits.maxSpans) break;
        remembered.delete(oldest);
        spans -= entry.length / PER_SPAN;
      }
    }
  }

  return {
    detect(text) {
      if (text.length < limits.minChars) return detect(text);
      const utf8 = encode(text);
      const key = keyOf(text, utf8);
      const known = recall(key);
      if (known !== undefined) return { data: known, count: known.length / PER_SPAN };
      misses++;
      const found = detect(text, utf8);
      remember(key, found.data.slice(0, PER_SPAN * found.count));
      return found;
    },
    lookup(text) {
      if (text.length < limits.minChars) return {};
      const key = keyOf(text, encode(text));
      const known = recall(key);
      if (known !== undefined) return { spans: known };
      misses++;
      return { key };
    },
    remember,
    get hits() {
      return hits;
    },
    get misses() {
      return misses;
    },
  };
}
