import RE2 from 're2';

/**
 * OpenShell's glob dialect, shared by request paths (separator `/`) and query values
 * (separator `.`): `*` and `?` never cross the separator, a whole-segment `**` spans one or more
 * segments, `**` next to other characters acts like `*`, `[a-z]`/`[!a-z]` are classes.
 * Globs compile to RE2 so matching stays linear whatever the pattern.
 */
export interface Glob {
  readonly pattern: string;
  test(value: string): boolean;
}

const REGEX_META = /[\\^$.*+?()[\]{}|/-]/g;

function escapeRegex(text: string): string {
  return text.replace(REGEX_META, '\\$&');
}

/** Throws Error with a readable message when the pattern is malformed. */
export function globToRegexSource(pattern: string, separator: '/' | '.'): string {
  const sep = escapeRegex(separator);
  const notSep = `[^${sep}]`;
  const parts = pattern.split(separator).map((segment) => {
    if (segment === '**') return '.*';
    let out = '';
    for (let i = 0; i < segment.length; i++) {
      const ch = segment[i]!;
      if (ch === '*') {
        while (segment[i + 1] === '*') i++;
        out += `${notSep}*`;
      } else if (ch === '?') {
        out += notSep;
      } else if (ch === '[') {
        const close = segment.indexOf(']', i + 2);
        if (close < 0) throw new Error(`unclosed "[" in glob "${pattern}"`);
        let body = segment.slice(i + 1, close);
        let negate = false;
        if (body.startsWith('!') || body.startsWith('^')) {
          negate = true;
          body = body.slice(1);
        }
        if (body.length === 0) throw new Error(`empty character class in glob "${pattern}"`);
        if (!/^[\x21-\x7e]+$/.test(body) || body.includes('%') || body.includes('[') || body.includes(separator)) {
          throw new Error(`character class "[${segment.slice(i + 1, close)}]" may hold only printable ASCII other than %, [ and "${separator}"`);
        }
        const escaped = body.replace(/[\\\]^[]/g, '\\$&');
        // A negated class must still refuse the separator, or it would cross segments.
        out += negate ? `[^${sep}${escaped}]` : `[${escaped}]`;
        i = close;
      } else if (ch === ']') {
        throw new Error(`unmatched "]" in glob "${pattern}"`);
      } else {
        out += escapeRegex(ch);
      }
    }
    return out;
  });
  return `^${parts.join(sep)}$`;
}

export function compileGlob(pattern: string, separator: '/' | '.'): Glob {
  const source = globToRegexSource(pattern, separator);
  if (!/[*?[]/.test(pattern)) return { pattern, test: (value) => value === pattern };
  let re: RE2;
  try {
    re = new RE2(source, 'su');
  } catch (err) {
    throw new Error(`invalid glob "${pattern}": ${(err as Error).message}`, { cause: err });
  }
  return { pattern, test: (value) => re.test(value) };
}
