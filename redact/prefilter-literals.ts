/**
 * The literals a recognizer's prefilter can match, so that a search for literals (core's
 * createLiteralSearch, ~0.1-0.3 ns a byte in C++) can tell that a buffer holds none of them
 * before re2 runs its prefilter sets over every chunk of it (the exfiltration guard's scan of
 * every byte an agent uploads). Exact: a prefilter is expanded only when it is a finite set of
 * literals, and the expansion matches what re2 matches, Unicode case folding included.
 */

/**
 * The characters re2's case folding (UTF-8, `(?i)`) puts with an ASCII letter besides its other
 * case: KELVIN SIGN with k, LATIN SMALL LETTER LONG S with s.
 */
const FOLDS: Readonly<Record<string, string>> = { k: '\u212a', s: '\u017f' };

/** A character as the latin1 string of its UTF-8 bytes (how a buffer is searched). */
const utf8Latin1 = (ch: string): string => Buffer.from(ch, 'utf8').toString('latin1');

function variants(ch: string, caseless: boolean): string[] {
  if (!caseless || !/[A-Za-z]/.test(ch)) return [ch];
  const lower = ch.toLowerCase();
  const fold = FOLDS[lower];
  return [lower, lower.toUpperCase(), ...(fold ? [utf8Latin1(fold)] : [])];
}

class NotLiteral extends Error {}

/**
 * Every string `pattern` (re2 syntax) matches, each as the latin1 string of its UTF-8 bytes, or
 * undefined when it is not a finite set of at most `limit` non-empty literals: quantifiers, `.`,
 * anchors, class escapes (`\d`, `\w`, …), negated classes, flags other than `(?i:`, non-ASCII
 * characters. Literals found inside a longer one are kept (the search finds the leftmost of any).
 */
export function prefilterLiterals(pattern: string, limit = 64): string[] | undefined {
  let at = 0;
  const cross = (left: string[], right: string[]): string[] => {
    if (left.length * right.length > limit) throw new NotLiteral();
    return left.flatMap((l) => right.map((r) => l + r));
  };
  const ascii = (ch: string | undefined): string => {
    if (ch === undefined || ch.charCodeAt(0) > 0x7e || ch.charCodeAt(0) < 0x20) throw new NotLiteral();
    return ch;
  };
  /** After a `\`: a punctuation character stands for itself; a letter or digit names a class, an anchor or a code. */
  const escaped = (): string => {
    const ch = ascii(pattern[at++]);
    if (/[A-Za-z0-9]/.test(ch)) throw new NotLiteral();
    return ch;
  };
  /** One character of a class, escaped or not. */
  const classChar = (): string => {
    const ch = pattern[at++];
    return ch === '\\' ? escaped() : ascii(ch);
  };
  const charClass = (caseless: boolean): string[] => {
    const chars = new Set<string>();
    if (pattern[at] === '^') throw new NotLiteral();
    let first = true;
    while (pattern[at] !== ']' || first) {
      first = false;
      if (pattern[at] === '[') throw new NotLiteral(); // [:alpha:] and the like
      const from = classChar().charCodeAt(0);
      let to = from;
      if (pattern[at] === '-' && pattern[at + 1] !== ']' && pattern[at + 1] !== undefined) {
        at++;
        to = classChar().charCodeAt(0);
        if (to < from || to - from >= limit) throw new NotLiteral();
      }
      for (let c = from; c <= to; c++) for (const v of variants(String.fromCharCode(c), caseless)) chars.add(v);
    }
    at++; // ]
    if (chars.size > limit) throw new NotLiteral();
    return [...chars];
  };
  const alternation = (caseless: boolean): string[] => {
    const out = [...sequence(caseless)];
    while (pattern[at] === '|') {
      at++;
      out.push(...sequence(caseless));
      if (out.length > limit) throw new NotLiteral();
    }
    return out;
  };
  const sequence = (caseless: boolean): string[] => {
    let acc = [''];
    while (at < pattern.length && pattern[at] !== '|' && pattern[at] !== ')') acc = cross(acc, atom(caseless));
    return acc;
  };
  const atom = (caseless: boolean): string[] => {
    const ch = pattern[at++]!;
    let out: string[];
    if (ch === '(') {
      let inner = caseless;
      if (pattern.startsWith('?:', at)) at += 2;
      else if (pattern.startsWith('?i:', at)) {
        at += 3;
        inner = true;
      } else if (pattern[at] === '?') throw new NotLiteral(); // other flags, named groups
      out = alternation(inner);
      if (pattern[at++] !== ')') throw new NotLiteral();
    } else if (ch === '[') out = charClass(caseless);
    else if (ch === '\\') out = variants(escaped(), caseless);
    else if ('.*+?{}^$)'.includes(ch)) throw new NotLiteral();
    else out = variants(ascii(ch), caseless);
    // A quantifier after the atom (`a?`, `b{2}`, `c*`) makes the set another one, or infinite.
    if (at < pattern.length && '*+?{'.includes(pattern[at]!)) throw new NotLiteral();
    return out;
  };
  try {
    const out = alternation(false);
    if (at !== pattern.length) return undefined;
    const unique = [...new Set(out)];
    return unique.length === 0 || unique.length > limit || unique.includes('') ? undefined : unique;
  } catch (err) {
    if (err instanceof NotLiteral) return undefined;
    throw err;
  }
}
