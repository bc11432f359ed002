import { compileDotGlob, compilePathGlob } from './glob.js';
import type { Glob } from './glob.js';
import { canonicalGlobText, readings, structuralReadings } from './path.js';
import type { QueryMatcher, RestMatcher } from './schema.js';
import type { QueryParams } from './query.js';

/** What an HTTP L7 rule looks at: the method as sent, the canonical path, the decoded query. */
export interface RequestFacts {
  method: string;
  path: string;
  query: QueryParams;
}

/** mockttp-style: every matcher can say in words why it did or did not match. */
export interface RequestMatcher {
  readonly label: string;
  matches(req: RequestFacts): boolean;
  /** Matches, and names this method and path literally: no `*` method, no glob, no preset. */
  names(req: RequestFacts): boolean;
  explain(req: RequestFacts): string;
}

/** OpenShell's REST access presets; paths are unrestricted under every preset. */
export const ACCESS_PRESETS = {
  'read-only': ['GET', 'HEAD', 'OPTIONS'],
  'read-write': ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH'],
  full: ['*'],
} as const satisfies Record<string, readonly string[]>;

export type AccessPreset = keyof typeof ACCESS_PRESETS;

/**
 * As OpenShell: `*` is any method, names compare case-insensitively, and a GET rule admits HEAD
 * (RFC 9110: the same resource without its body).
 */
export function methodAdmits(ruleMethod: string, method: string): boolean {
  const rule = ruleMethod.toUpperCase();
  const actual = method.toUpperCase();
  return rule === '*' || rule === actual || (rule === 'GET' && actual === 'HEAD');
}

export function presetMatcher(access: AccessPreset): RequestMatcher {
  const methods: readonly string[] = ACCESS_PRESETS[access];
  const admits = (m: string) => methods.some((r) => methodAdmits(r, m));
  return {
    label: access,
    matches: (req) => admits(req.method),
    names: () => false,
    explain: (req) => (admits(req.method) ? `access ${access} admits ${req.method}` : `access ${access} admits only ${methods.join(', ')}, not ${req.method}`),
  };
}

interface QueryCheck {
  name: string;
  globs: Glob[];
  text: string;
}

export function matcherPatterns(matcher: QueryMatcher): string[] {
  return typeof matcher === 'string' ? [matcher] : matcher.any;
}

function compileQuery(query: Record<string, QueryMatcher> | undefined, caseInsensitive: boolean): QueryCheck[] {
  return Object.entries(query ?? {}).map(([name, matcher]) => {
    const patterns = matcherPatterns(matcher);
    return { name, globs: patterns.map((p) => compileDotGlob(p, { caseInsensitive })), text: patterns.join('|') };
  });
}

/**
 * In an allow rule every value of a configured parameter must match (and one must be present),
 * so `?repo=ok&repo=evil` cannot ride on a good value; in a deny rule one matching value per
 * parameter is enough, and a parameter that is absent means the deny rule does not apply.
 * Both as OpenShell's Rego does.
 */
function queryProblem(checks: QueryCheck[], query: QueryParams, kind: 'allow' | 'deny'): string | undefined {
  for (const check of checks) {
    const values = query.get(check.name) ?? [];
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

/** A `path` glob as OpenShell reads it: `**` alone is any path, otherwise globset over canonical paths. */
export function pathGlob(pattern: string, caseInsensitive = false): Glob {
  if (pattern === '**') return { pattern, test: () => true };
  return compilePathGlob(canonicalGlobText(pattern), { caseInsensitive });
}

/**
 * An allow rule judges the canonical path and every reading that changes its segments (so an
 * upstream that decodes `%5C` or `%252F` cannot be led outside the rule); a deny rule judges
 * every reading, trailing slash dropped and letters case-folded too, and wins if one matches.
 */
export function restMatcher(rule: RestMatcher, kind: 'allow' | 'deny'): RequestMatcher {
  const deny = kind === 'deny';
  const glob = pathGlob(rule.path ?? '', deny);
  const checks = compileQuery(rule.query, deny);
  // Names one method and one path: no `*` method, no glob, no alternation.
  const literal = rule.method !== undefined && rule.method !== '*' && rule.path !== undefined && rule.path !== '**' && !/[*?[\]{}]/.test(rule.path);
  const queryLabel = checks.length > 0 ? `?${checks.map((c) => `${c.name}=${c.text}`).join('&')}` : '';
  const method = rule.method ?? '';
  const label = `${method} ${rule.path ?? ''}${queryLabel}`;
  const pathProblem = (path: string): string | undefined => {
    if (deny) return readings(path).some((p) => glob.test(p)) ? undefined : `path ${path} does not match ${rule.path}`;
    if (!glob.test(path)) return `path ${path} does not match ${rule.path}`;
    const other = structuralReadings(path).find((p) => !glob.test(p));
    return other === undefined ? undefined : `path ${path} may be read upstream as ${other}, which does not match ${rule.path}`;
  };
  const problem = (req: RequestFacts): string | undefined => {
    if (!methodAdmits(method, req.method)) return `method ${req.method} is not ${method}`;
    return pathProblem(req.path) ?? queryProblem(checks, req.query, kind);
  };
  return {
    label,
    matches: (req) => problem(req) === undefined,
    names: (req) => literal && req.method === rule.method && problem(req) === undefined,
    explain: (req) => problem(req) ?? `${req.method} ${req.path} matches ${label}`,
  };
}
