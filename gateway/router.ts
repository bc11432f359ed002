import { SluiceError } from '../core/index.js';
import type { Method, Route } from './route.js';

export interface Match {
  route: Route;
  params: Record<string, string>;
}

interface Compiled {
  route: Route;
  segments: Array<{ literal: string } | { param: string }>;
}

/**
 * Matches a request path against the route table. Paths are compared segment by segment, with
 * no decoding beyond one percent-decode of parameter values, so `/v1/sandboxes/a%2Fb` is a name
 * that contains a slash (and is then refused by the name check), never a different route.
 */
export function createRouter(routes: readonly Route[]) {
  const compiled: Compiled[] = routes.map((route) => ({
    route,
    segments: route.path.split('/').slice(1).map((s) => (/^\{[a-z_]+\}$/.test(s) ? { param: s.slice(1, -1) } : { literal: s })),
  }));
  const seen = new Set<string>();
  for (const r of routes) {
    const key = `${r.method} ${r.path.replace(/\{[a-z_]+\}/g, '{}')}`;
    if (seen.has(key)) throw new Error(`duplicate route ${r.method} ${r.path}`);
    seen.add(key);
  }

  function matchPath(c: Compiled, parts: string[]): Record<string, string> | undefined {
    if (c.segments.length !== parts.length) return undefined;
    const params: Record<string, string> = {};
    for (let i = 0; i < parts.length; i++) {
      const seg = c.segments[i]!;
      const part = parts[i]!;
      if ('literal' in seg) {
        if (seg.literal !== part) return undefined;
      } else {
        if (part === '') return undefined;
        try {
          params[seg.param] = decodeURIComponent(part);
        } catch {
          return undefined;
        }
      }
    }
    return params;
  }

  return {
    /** The route for method+path; 404 when no path matches, 405 (naming the allowed methods) when only the method is wrong. */
    match(method: string, path: string): Match {
      const parts = path.split('/').slice(1);
      const allowed: Method[] = [];
      // Literal segments win over parameters (`/v1/policy` before `/v1/{x}`), whatever the table's order.
      const candidates = compiled
        .map((c) => ({ c, params: matchPath(c, parts) }))
        .filter((m): m is { c: Compiled; params: Record<string, string> } => m.params !== undefined)
        .sort((a, b) => Object.keys(a.params).length - Object.keys(b.params).length);
      for (const { c, params } of candidates) {
        if (c.route.method === method || (method === 'HEAD' && c.route.method === 'GET')) return { route: c.route, params };
        allowed.push(c.route.method);
      }
      if (allowed.length > 0) {
        throw new SluiceError('SLUICE_API_METHOD', `${method} is not allowed on ${path}`, { reason: `allowed: ${[...new Set(allowed)].join(', ')}`, allow: [...new Set(allowed)].join(', ') });
      }
      throw new SluiceError('SLUICE_API_NOT_FOUND', `no API route ${path}`, { reason: 'see /v1/openapi.json for the routes' });
    },
  };
}
