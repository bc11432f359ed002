import { compileGlob } from './glob.js';
import type { Glob } from './glob.js';
import { normalizeEncoding } from './path.js';
import type { QueryMatcher, RestMatcher } from './schema.js';

/** What an L7 rule looks at: the method as sent, the canonical path, the parsed query. */
export interface RequestFacts {
  method: string;
  path: string;
  query: URLSearchParams;
}

/** mockttp-style: every matcher can say in words why it did or did not match. */
export interface RequestMatcher {
  readonly label: string;
  matches(req: RequestFacts): boolean;
  /** Matches, and names this method and path literally: no `*` method, no glob, no preset. */
  names(req: RequestFacts): boolean;
  explain(req: RequestFacts): string;
}

/** OpenShell's access presets; paths are unrestricted under every preset. */
export const ACCESS_PRESETS = {
  'read-only': ['GET', 'HEAD', 'OPTIONS'],
  'read-write': ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH'],
  full: ['*'],
} as const satisfies Record<string, readonly string[]>;

export type AccessPreset = keyof typeof ACCESS_PRESETS;

/** A rule for GET also admits HEAD, which asks for the same resource without its body. */
function methodAdmits(ruleMethod: string, method: string): boolean {
  return ruleMethod === '*' || ruleMethod === method || (ruleMethod === 'GET' && method === 'HEAD');
}

export function presetMatcher(access: AccessPreset): RequestMatcher {
  const methods: readonly string[] = ACCESS_PRESETS[access];
  const label = access;
  return {
    label,
    matches: (req) => methods.some((m) => methodAdmits(m, req.method)),
    names: () => false,
    explain: (req) =>
      methods.some((m) => methodAdmits(m, req.method))
        ? `access ${access} admits ${req.method}`
        : `access ${access} admits only ${methods.join(', ')}, not ${req.method}`,
  };
}

interface QueryCheck {
  name: string;
  globs: Glob[];
  text: string;
}

function compileQuery(query: Record<string, QueryMatcher> | undefined): QueryCheck[] {
  return Object.entries(query ?? {}).map(([name, matcher]) => {
    const patterns = typeof matcher === 'string' ? [matcher] : matcher.any;
    return { name, globs: patterns.map((p) => compileGlob(p, '.')), text: patterns.join('|') };
  });
}

/**
 * In an allow rule every value of a configured parameter must match (and one must be present),
 * so `?repo=ok&repo=evil` cannot ride on a good value; in a deny rule one matching value per
 * parameter is enough. Both as OpenShell documents.
 */
function queryProblem(checks: QueryCheck[], query: URLSearchParams, kind: 'allow' | 'deny'): string | undefined {
  for (const check of checks) {
    const values = query.getAll(check.name);
    if (values.length === 0) return `query parameter ${check.name} is missing`;
    const ok = (v: string) => check.globs.some((g) => g.test(v));
    if (kind === 'allow') {
      const bad = values.find((v) => !ok(v));
      if (bad !== undefined) return `query parameter ${check.name}=${bad} does not match ${check.text}`;
    } else if (!values.some(ok)) {
      return `no value of query parameter ${check.name} matches ${check.text}`;
    }
  }
  return undefined;
}

export function restMatcher(rule: RestMatcher, kind: 'allow' | 'deny'): RequestMatcher {
  const glob = compileGlob(normalizeEncoding(rule.path, true, '*?[]'), '/');
  const literal = rule.method !== '*' && !/[*?[\]]/.test(rule.path);
  const checks = compileQuery(rule.query);
  const queryLabel = checks.length > 0 ? `?${checks.map((c) => `${c.name}=${c.text}`).join('&')}` : '';
  const label = `${rule.method} ${rule.path}${queryLabel}`;
  const problem = (req: RequestFacts): string | undefined => {
    if (!methodAdmits(rule.method, req.method)) return `method ${req.method} is not ${rule.method}`;
    if (!glob.test(req.path)) return `path ${req.path} does not match ${rule.path}`;
    return queryProblem(checks, req.query, kind);
  };
  return {
    label,
    matches: (req) => problem(req) === undefined,
    names: (req) => literal && req.method === rule.method && problem(req) === undefined,
    explain: (req) => problem(req) ?? `${req.method} ${req.path} matches ${label}`,
  };
}
