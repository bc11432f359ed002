import { createLiteralSearch, escapeRegExp } from '../core/index.js';
import type { Provider } from './keyring.js';
import type { PlaceholderMinter, PlaceholderShape } from './placeholders.js';
import { inAlphabet, shapePattern, shapeTotalLength } from './placeholders.js';

/** A placeholder found in some text: issued to this sandbox (provider set) or ours but not issued here. */
export interface Occurrence {
  start: number;
  end: number;
  provider: Provider | undefined;
  /** For OpenShell's `openshell:resolve:env:KEY` form: KEY (then `provider` is the one whose env is KEY, if any). */
  alias?: string;
}

/**
 * OpenShell's placeholder grammar, an alias of Sluice's own: `openshell:resolve:env:KEY` stands
 * for the placeholder Sluice puts in the sandbox's variable KEY, so it is replaced by the same
 * provider's real value at the same injection points, under the same endpoint binding. A KEY no
 * provider sets is refused (never passed through: it would leak the variable's name upstream).
 */
export const OPENSHELL_PREFIX = 'openshell:resolve:env:';
const KEY_MAX = 256;
const ALIAS_RE = new RegExp(`${OPENSHELL_PREFIX}([A-Za-z_][A-Za-z0-9_]{0,${KEY_MAX - 1}})`, 'g');
const KEY_CHAR = /[A-Za-z0-9_]/;

export interface PlaceholderFinder {
  /** Non-overlapping occurrences, in order. */
  find(text: string): Occurrence[];
  /** Length of the longest suffix of `text` that could still grow into a candidate. */
  holdLength(text: string): number;
  /**
   * `find` and `holdLength` of a body's bytes read as latin1. A body with no prefix in it (most of
   * them) is never read as a string: its occurrences are none, and what it may hold back depends on
   * its last few hundred bytes only (as far back as `holdLength` ever reads).
   */
  scan(bytes: Buffer): { found: Occurrence[]; hold: number };
}

/** The most `holdLength` ever looks back from the end of a text (an alias's prefix and the longest KEY). */
const HOLD_WINDOW = OPENSHELL_PREFIX.length + KEY_MAX;

export function createPlaceholderFinder(
  shapes: readonly PlaceholderShape[],
  issued: ReadonlyMap<string, Provider>,
  minter: PlaceholderMinter,
): PlaceholderFinder {
  const compiled = shapes.map((shape) => ({ shape, re: new RegExp(shapePattern(shape), 'g'), total: shapeTotalLength(shape) }));
  const byEnv = new Map<string, Provider>();
  for (const provider of issued.values()) for (const name of provider.env) byEnv.set(name, provider);

  const prefixes = neededPrefixes([...compiled.map((c) => c.shape.prefix), OPENSHELL_PREFIX]);
  const anyPrefix = new RegExp(prefixes.map(escapeRegExp).join('|'));
  // The schema keeps prefixes at 2 characters or more; an empty one would be in every text.
  const anyPrefixIn = prefixes.includes('') ? undefined : createLiteralSearch(prefixes);
  // holdLength looks back at most max(HOLD_WINDOW, a shape's whole length - 1) characters.
  const window = Math.max(HOLD_WINDOW, ...compiled.map((c) => c.total - 1));

  /** The occurrences in a text known to hold some prefix. */
  function occurrences(text: string): Occurrence[] {
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
    if (text.includes(OPENSHELL_PREFIX)) {
      ALIAS_RE.lastIndex = 0;
      for (let m = ALIAS_RE.exec(text); m !== null; m = ALIAS_RE.exec(text)) {
        found.push({ start: m.index, end: m.index + m[0].length, provider: byEnv.get(m[1]!), alias: m[1]! });
      }
    }
    found.sort((a, b) => a.start - b.start);
    const out: Occurrence[] = [];
    for (const o of found) if (out.length === 0 || o.start >= out[out.length - 1]!.end) out.push(o);
    return out;
  }

  // Every chunk of every body asks holdLength of its last few hundred bytes: a candidate can only start
  // where its prefix's first character is, so the loops jump from one to the next (indexOf) instead of
  // asking at every position.
  function holdLength(text: string): number {
    let longest = 0;
    for (const { shape, total } of compiled) {
      const from = Math.max(0, text.length - (total - 1));
      const first = shape.prefix.charAt(0);
      for (let i = first === '' ? from : text.indexOf(first, from); i >= 0 && i < text.length; i = first === '' ? i + 1 : text.indexOf(first, i + 1)) {
        if (text.length - i <= longest) break;
        if (isPartialCandidate(shape, text, i)) {
          longest = text.length - i;
          break;
        }
      }
    }
    // A body split inside an alias: hold from a partial prefix, or from a whole one whose KEY may go on.
    const aliasFrom = Math.max(0, text.length - (OPENSHELL_PREFIX.length + KEY_MAX));
    for (let i = text.indexOf('o', aliasFrom); i >= 0 && i < text.length - longest; i = text.indexOf('o', i + 1)) {
      const tail = text.slice(i);
      const partial = tail.length <= OPENSHELL_PREFIX.length ? OPENSHELL_PREFIX.startsWith(tail) : tail.startsWith(OPENSHELL_PREFIX) && [...tail.slice(OPENSHELL_PREFIX.length)].every((c) => KEY_CHAR.test(c));
      if (partial) {
        longest = tail.length;
        break;
      }
    }
    return longest;
  }

  return {
    find(text) {
      // Most text holds no prefix at all: one pass of one expression says so (per-prefix `includes`
      // took ~3x as long on prose, code or JSON: their first letters are common ones).
      return anyPrefix.test(text) ? occurrences(text) : [];
    },
    holdLength,
    scan(bytes) {
      // The byte search has said whether a prefix is there: the text is not searched for one again.
      if (anyPrefixIn === undefined || anyPrefixIn.firstIn(bytes) >= 0) {
        const text = bytes.toString('latin1');
        return { found: occurrences(text), hold: holdLength(text) };
      }
      return { found: [], hold: holdLength(bytes.toString('latin1', Math.max(0, bytes.length - window))) };
    },
  };
}

/**
 * The prefixes a search for any of `prefixes` must look for: one that holds a shorter one adds nothing
 * (an empty prefix leaves only itself, which every text holds).
 */
function neededPrefixes(prefixes: readonly string[]): string[] {
  const all = [...new Set(prefixes)];
  return all.filter((p) => !all.some((q) => q !== p && p.includes(q)));
}

function isPartialCandidate(shape: PlaceholderShape, text: string, from: number): boolean {
  for (let j = from; j < text.length; j++) {
    const k = j - from;
    if (k < shape.prefix.length ? text.charCodeAt(j) !== shape.prefix.charCodeAt(k) : !inAlphabet(shape, text.charCodeAt(j))) return false;
  }
  return true;
}
