import type { Detector } from './detector.js';

/**
 * Secrets out of the strings Sluice logs: paths, host names and reasons copied from requests
 * can carry a key, and the audit log must never hold one. Each secret found is replaced by
 * `[REDACTED:<type>]`.
 *
 * The text is read the ways a secret could hide in it: percent-decoded (`%41KIA…`); with `/`
 * read as a space (the recognizers count `/` as part of a token, so that base64 blobs are not
 * cut into false keys, but in a path it separates segments); and upper-cased, since host names
 * arrive lowercased and keys such as AWS's `AKIA…` are recognised in capitals only.
 */
export interface LogScrubber {
  scrub(value: string): string;
}

/** Shorter than any secret the recognizers know (a URL with credentials is the shortest). */
const MIN_LENGTH = 8;

export function createLogScrubber(detector: Detector): LogScrubber {
  return {
    scrub(value) {
      if (value.length < MIN_LENGTH) return value;
      const { text, origin } = decodePercent(value);
      const spaced = text.replaceAll('/', ' ');
      const spans = detector.detect(spaced);
      const upper = spaced.toUpperCase();
      // Upper-casing keeps the length of ASCII text; anything else is left to the first reading.
      if (upper.length === spaced.length && upper !== spaced) spans.push(...detector.detect(upper));
      if (spans.length === 0) return value;
      spans.sort((a, b) => a.start - b.start || b.end - a.end);
      let out = '';
      let at = 0;
      for (const s of spans) {
        const start = origin[s.start]!;
        const end = origin[s.end]!;
        if (start < at) {
          at = Math.max(at, end); // overlapping readings: the marker already written covers both
          continue;
        }
        out += `${value.slice(at, start)}[REDACTED:${s.type}]`;
        at = end;
      }
      return out + value.slice(at);
    },
  };
}

/**
 * Percent-escapes decoded one byte to one character (latin1, so nothing can fail), with the
 * offset in `value` of each character of the result and of its end.
 */
function decodePercent(value: string): { text: string; origin: number[] } {
  const origin: number[] = [];
  if (!value.includes('%')) {
    for (let i = 0; i <= value.length; i++) origin.push(i);
    return { text: value, origin };
  }
  let text = '';
  for (let i = 0; i < value.length; i++) {
    origin.push(i);
    if (value[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(value.slice(i + 1, i + 3))) {
      text += String.fromCharCode(parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      text += value[i];
    }
  }
  origin.push(value.length);
  return { text, origin };
}
