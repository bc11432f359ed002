import type { Provider } from './keyring.js';
import type { PlaceholderMinter, PlaceholderShape } from './placeholders.js';
import { inAlphabet, shapePattern, shapeTotalLength } from './placeholders.js';

/** A placeholder found in some text: issued to this sandbox (provider set) or ours but not issued here. */
export interface Occurrence {
  start: number;
  end: number;
  provider: Provider | undefined;
}

export interface PlaceholderFinder {
  /** Non-overlapping occurrences, in order. */
  find(text: string): Occurrence[];
  /** Length of the longest suffix of `text` that could still grow into a candidate. */
  holdLength(text: string): number;
}

export function createPlaceholderFinder(
  shapes: readonly PlaceholderShape[],
  issued: ReadonlyMap<string, Provider>,
  minter: PlaceholderMinter,
): PlaceholderFinder {
  const compiled = shapes.map((shape) => ({ shape, re: new RegExp(shapePattern(shape), 'g'), total: shapeTotalLength(shape) }));

  return {
    find(text) {
      const found: Occurrence[] = [];
      for (const { shape, re } of compiled) {
        if (!text.includes(shape.prefix)) continue;
        re.lastIndex = 0;
        for (let m = re.exec(text); m !== null; m = re.exec(text)) {
          const candidate = m[0];
          const provider = issued.get(candidate);
          if (provider !== undefined || minter.isOurs(shape, candidate)) {
            found.push({ start: m.index, end: m.index + candidate.length, provider });
          } else {
            // The prefix may reappear inside a run of alphabet characters: look again one step on.
            re.lastIndex = m.index + 1;
          }
        }
      }
      found.sort((a, b) => a.start - b.start);
      const out: Occurrence[] = [];
      for (const o of found) if (out.length === 0 || o.start >= out[out.length - 1]!.end) out.push(o);
      return out;
    },
    holdLength(text) {
      let longest = 0;
      for (const { shape, total } of compiled) {
        for (let i = Math.max(0, text.length - (total - 1)); i < text.length; i++) {
          if (text.length - i <= longest) break;
          if (isPartialCandidate(shape, text, i)) {
            longest = text.length - i;
            break;
          }
        }
      }
      return longest;
    },
  };
}

function isPartialCandidate(shape: PlaceholderShape, text: string, from: number): boolean {
  for (let j = from; j < text.length; j++) {
    const k = j - from;
    if (k < shape.prefix.length ? text.charCodeAt(j) !== shape.prefix.charCodeAt(k) : !inAlphabet(shape, text.charCodeAt(j))) return false;
  }
  return true;
}
