import RE2 from 're2';

/**
 * OpenShell's glob dialect. OpenShell matches with OPA's `glob.match`, which regorus implements
 * with the globset crate (literal_separator on): `*` and `?` never cross a separator, `**` as a
 * whole component spans any number of components (`/**\/` also zero, `/**` at the end needs one
 * more `/`, `**` alone matches everything), `{a,b}` alternates, `[a-z]`/`[!a-z]` are classes and
 * `\` escapes. The parser below follows globset's token by token so that the same pattern admits
 * the same strings; the result is compiled to RE2, so matching stays linear whatever the pattern.
 *
 * Separators: request paths use `/`. Query values, GraphQL names and host names use regorus's
 * delimiter trick: `.` becomes its own component (`a.b` is matched as `a/./b`) and a real `/` is
 * an ordinary character.
 */
export interface Glob {
  readonly pattern: string;
  test(value: string): boolean;
}

type Token =
  | { t: 'lit'; c: string }
  | { t: 'any' }
  | { t: 'star' }
  | { t: 'rprefix' }
  | { t: 'rsuffix' }
  | { t: 'rzero' }
  | { t: 'class'; negated: boolean; ranges: Array<[string, string]> }
  | { t: 'alt'; branches: Token[][] };

/** globset's parser; throws Error with a readable message where globset returns an error. */
function parse(glob: string): Token[] {
  const chars = [...glob];
  let i = 0;
  let prev: string | undefined;
  let cur: string | undefined;
  const bump = (): string | undefined => {
    prev = cur;
    cur = chars[i++];
    return cur;
  };
  const peek = (): string | undefined => chars[i];
  const stack: number[] = [];
  const branches: Token[][] = [[]];
  const push = (tok: Token) => branches[branches.length - 1]!.push(tok);
  const fail = (why: string): never => {
    throw new Error(`invalid glob ${JSON.stringify(glob)}: ${why}`);
  };
  const isSep = (c: string | undefined) => c === '/';

  const parseStar = () => {
    const before = prev;
    if (peek() !== '*') return push({ t: 'star' });
    bump();
    const last = branches[branches.length - 1]!;
    if (last.length === 0) {
      if (peek() !== undefined && !isSep(peek())) {
        push({ t: 'star' });
        push({ t: 'star' });
      } else {
        push({ t: 'rprefix' });
        bump();
      }
      return;
    }
    if (!isSep(before) && (branches.length <= 1 || (before !== ',' && before !== '{'))) {
      push({ t: 'star' });
      push({ t: 'star' });
      return;
    }
    let suffix: boolean;
    const next = peek();
    if (next === undefined) {
      bump();
      suffix = true;
    } else if ((next === ',' || next === '}') && branches.length >= 2) {
      suffix = true;
    } else if (isSep(next)) {
      bump();
      suffix = false;
    } else {
      push({ t: 'star' });
      push({ t: 'star' });
      return;
    }
    const popped = last.pop()!;
    if (popped.t === 'rprefix' || popped.t === 'rsuffix') push(popped);
    else {
      // globset drops the separator literal it just consumed into the recursive token.
      push(suffix ? { t: 'rsuffix' } : { t: 'rzero' });
    }
  };

  const parseClass = () => {
    const ranges: Array<[string, string]> = [];
    let negated = false;
    if (peek() === '!' || peek() === '^') {
      bump();
      negated = true;
    }
    let first = true;
    let inRange = false;
    for (;;) {
      const c = bump();
      if (c === undefined) fail('unclosed character class');
      if (c === ']') {
        if (first) ranges.push([']', ']']);
        else break;
      } else if (c === '-') {
        if (first) ranges.push(['-', '-']);
        else if (inRange) {
          const r = ranges[ranges.length - 1]!;
          r[1] = '-';
          if (r[1] < r[0]) fail(`invalid range ${r[0]}-${r[1]}`);
          inRange = false;
        } else inRange = true;
      } else if (inRange) {
        const r = ranges[ranges.length - 1]!;
        r[1] = c!;
        if (r[1] < r[0]) fail(`invalid range ${r[0]}-${r[1]}`);
        inRange = false;
      } else {
        ranges.push([c!, c!]);
      }
      first = false;
    }
    if (inRange) ranges.push(['-', '-']);
    push({ t: 'class', negated, ranges });
  };

  for (let c = bump(); c !== undefined; c = bump()) {
    switch (c) {
      case '?':
        push({ t: 'any' });
        break;
      case '*':
        parseStar();
        break;
      case '[':
        parseClass();
        break;
      case '{':
        stack.push(branches.length);
        branches.push([]);
        break;
      case '}': {
        const start = stack.pop();
        if (start === undefined) fail('unopened alternation "}"');
        const alts = branches.splice(start!);
        push({ t: 'alt', branches: alts });
        break;
      }
      case ',':
        if (stack.length === 0) push({ t: 'lit', c: ',' });
        else branches.push([]);
        break;
      case '\\': {
        const next = bump();
        if (next === undefined) fail('dangling escape "\\"');
        push({ t: 'lit', c: next! });
        break;
      }
      default:
        push({ t: 'lit', c });
    }
  }
  if (stack.length > 0) fail('unclosed alternation "{"');
  return branches[0]!;
}

const META = /[\\^$.*+?()[\]{}|/-]/g;

function literal(c: string): string {
  return c.replace(META, '\\$&');
}

function toRegex(tokens: Token[]): string {
  let re = '';
  for (const tok of tokens) {
    switch (tok.t) {
      case 'lit':
        re += literal(tok.c);
        break;
      case 'any':
        re += '[^/]';
        break;
      case 'star':
        re += '[^/]*';
        break;
      case 'rprefix':
        re += '(?:/?|.*/)';
        break;
      case 'rsuffix':
        re += '/.*';
        break;
      case 'rzero':
        re += '(?:/|/.*/)';
        break;
      case 'class':
        re += `[${tok.negated ? '^' : ''}${tok.ranges.map(([a, b]) => (a === b ? literal(a) : `${literal(a)}-${literal(b)}`)).join('')}]`;
        break;
      case 'alt': {
        const parts = tok.branches.map(toRegex).filter((p) => p !== '');
        if (parts.length > 0) re += `(?:${parts.join('|')})`;
        break;
      }
    }
  }
  return re;
}

/** The RE2 source globset builds for a pattern whose separator is `/`. */
export function globToRegexSource(pattern: string): string {
  const tokens = parse(pattern);
  if (tokens.length === 1 && tokens[0]!.t === 'rprefix') return '^.*$';
  return `^${toRegex(tokens)}$`;
}

const PLACEHOLDER = '\0';

/** regorus's delimiter rewrite for `glob.match(pattern, ["."], value)` (and `[]`, which means `.`). */
function dotDelimited(text: string): string {
  return text.replaceAll('/', PLACEHOLDER).replaceAll('.', '/./');
}

function build(pattern: string, subject: (value: string) => string | undefined, source: string, caseInsensitive: boolean): Glob {
  let re: RE2;
  try {
    re = new RE2(source, caseInsensitive ? 'iu' : 'u');
  } catch (err) {
    throw new Error(`invalid glob ${JSON.stringify(pattern)}: ${(err as Error).message}`, { cause: err });
  }
  return {
    pattern,
    test(value) {
      const s = subject(value);
      return s !== undefined && re.test(s);
    },
  };
}

export interface GlobOptions {
  /** Match letters case-insensitively (deny rules judged as a case-insensitive router would read the path). */
  caseInsensitive?: boolean;
}

/** A glob over `/`-separated text (request paths, binary paths). */
export function compilePathGlob(pattern: string, opts: GlobOptions = {}): Glob {
  return build(pattern, (v) => v, globToRegexSource(pattern), opts.caseInsensitive ?? false);
}

/**
 * A glob whose components are separated by `.` (query values, GraphQL names, MCP method names).
 * A value holding a NUL never matches: regorus refuses it (OpenShell then denies).
 */
export function compileDotGlob(pattern: string, opts: GlobOptions = {}): Glob {
  if (pattern.includes(PLACEHOLDER)) throw new Error(`invalid glob ${JSON.stringify(pattern)}: NUL character`);
  const source = globToRegexSource(dotDelimited(pattern));
  return build(pattern, (v) => (v.includes(PLACEHOLDER) ? undefined : dotDelimited(v)), source, opts.caseInsensitive ?? false);
}

/** True when the pattern uses any glob syntax at all (`*`, `?`, classes, alternation, escapes). */
export function hasGlobSyntax(pattern: string): boolean {
  return /[*?[\]{}\\]/.test(pattern);
}
