import RE2 from 're2';
import { pathGlob } from './request-matcher.js';
import type { Glob } from './glob.js';

/**
 * An endpoint's `path` selector, as OpenShell applies it in two places:
 * - choosing which L7 endpoint parses a request when several share a host and port (REST under
 *   `/repos/**`, GraphQL at `/graphql`): Rust's glob crate, where `*` also crosses `/`, `/x/**`
 *   selects `/x` and everything below it, and the most specific selector (most characters other
 *   than `*`) wins;
 * - deciding whether that endpoint's rules apply to the request: the same globset matching as
 *   rule paths.
 * An empty selector, `**` or `/**` selects every path.
 */
export interface EndpointPathSelector {
  readonly text: string;
  readonly specificity: number;
  /** Route selection (glob crate semantics). */
  selects(path: string): boolean;
  /** Whether the endpoint's rules apply (globset semantics). */
  admits(path: string): boolean;
}

const ANY: EndpointPathSelector = { text: '', specificity: 0, selects: () => true, admits: () => true };

function globCrate(pattern: string): ((path: string) => boolean) | undefined {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      while (pattern[i + 1] === '*') i++;
      source += '.*';
    } else if (c === '?') {
      source += '.';
    } else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0) return undefined;
      let body = pattern.slice(i + 1, close);
      const negated = body.startsWith('!');
      if (negated) body = body.slice(1);
      source += `[${negated ? '^' : ''}${body.replace(/[\\\]^[]/g, '\\$&')}]`;
      i = close;
    } else {
      source += c.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
    }
  }
  try {
    const re = new RE2(`^${source}$`, 'su');
    return (path) => re.test(path);
  } catch {
    return undefined;
  }
}

export function endpointPathSelector(text: string): EndpointPathSelector {
  if (text === '' || text === '**' || text === '/**') return { ...ANY, text };
  const specificity = [...text].filter((c) => c !== '*').length;
  let selects: (path: string) => boolean;
  if (text.endsWith('/**')) {
    const prefix = text.slice(0, -3);
    selects = (path) => path === text || path === prefix || path.startsWith(`${prefix}/`);
  } else {
    // An invalid pattern selects only the identical path, as in OpenShell (fail closed).
    const glob = globCrate(text);
    selects = (path) => path === text || (glob?.(path) ?? false);
  }
  const admitted: Glob = pathGlob(text);
  return { text, specificity, selects, admits: (path) => admitted.test(path) };
}
