import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { PER_SPAN } from './detector.js';
import type { PackedSpans } from './detector.js';

/**
 * Detection of a long text a slice at a time, giving the event loop back between slices: a
 * 30 MB prompt is ~0.4 s of scanning, which would otherwise stall every connection the proxy
 * serves. Each slice is scanned with OVERLAP characters of the text on both sides, so that a
 * value crossing a cut, and the context words before it, are seen whole; a span is kept by the
 * slice it starts in. Values longer than OVERLAP (none of the built-in types: a 4096-bit RSA key
 * block is ~3.3 KB) could be cut.
 */
export const SLICE_CHARS = 1 << 20;
const OVERLAP = 8192;

export async function detectSliced(detect: (text: string) => PackedSpans, text: string): Promise<Int32Array> {
  const kept: number[] = [];
  let lastEnd = 0;
  for (let pos = 0; pos < text.length; ) {
    let end = Math.min(text.length, pos + SLICE_CHARS);
    // Never between the halves of a surrogate pair.
    if (end < text.length && isLowSurrogate(text.charCodeAt(end))) end++;
    const from = Math.max(0, pos - OVERLAP);
    const { data, count } = detect(text.slice(from, Math.min(text.length, end + OVERLAP)));
    for (let k = 0; k < count; k++) {
      const start = from + data[PER_SPAN * k + 1]!;
      const stop = from + data[PER_SPAN * k + 2]!;
      if (start < pos || start >= end || start < lastEnd) continue;
      kept.push(data[PER_SPAN * k]!, start, stop);
      lastEnd = stop;
    }
    pos = end;
    if (pos < text.length) await yieldToLoop();
  }
  return Int32Array.from(kept);
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
