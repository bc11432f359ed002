import { SluiceError } from '../core/index.js';

/** Decoded query parameters: every value of each name, in order. */
export type QueryParams = ReadonlyMap<string, readonly string[]>;

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

function decodeComponent(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2b) {
      bytes.push(0x20);
    } else if (c === 0x25) {
      const hi = hex(text.charCodeAt(i + 1));
      const lo = hex(text.charCodeAt(i + 2));
      if (i + 2 >= text.length || hi < 0 || lo < 0) throw bad('malformed percent-escape in the query string');
      bytes.push((hi << 4) | lo);
      i += 2;
    } else if (c < 0x80) {
      bytes.push(c);
    } else {
      bytes.push(...Buffer.from(text[i]!, 'utf8'));
    }
  }
  try {
    return UTF8.decode(Uint8Array.from(bytes));
  } catch {
    throw bad('a query component is not valid UTF-8 once decoded');
  }
}

function bad(why: string): SluiceError {
  return new SluiceError('SLUICE_PATH_INVALID', `invalid request target: ${why}`, { reason: why });
}

/**
 * Parses a raw query string as OpenShell does (l7/rest.rs parse_query_params): pairs split on
 * `&`, name and value on the first `=`, `+` is a space, escapes decoded; a malformed escape or
 * invalid UTF-8 refuses the request instead of being read one way here and another upstream.
 */
export function parseQuery(query: string): QueryParams {
  const params = new Map<string, string[]>();
  if (query === '') return params;
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decodeComponent(eq < 0 ? pair : pair.slice(0, eq));
    const value = decodeComponent(eq < 0 ? '' : pair.slice(eq + 1));
    const list = params.get(name);
    if (list) list.push(value);
    else params.set(name, [value]);
  }
  return params;
}
