import { z } from 'zod';
import { compileDotGlob } from './glob.js';
import type { Glob } from './glob.js';
import { oneOf } from './l7-schema.js';
import { hostMatches, parseHostPattern } from './host-pattern.js';

/**
 * OpenShell's `network_middlewares`: ordered request middleware selected by destination host.
 * Sluice runs no OpenShell middleware; it maps what has a Sluice equivalent and says so for the
 * rest, never silently:
 * - `openshell/regex` (mode redact: replaces API keys in request bodies) becomes Sluice's egress
 *   DLP in redact mode on the selected hosts, which covers that key type and every other one.
 * - any other middleware cannot run here: with `on_error: fail_closed` (the default) requests to
 *   the selected hosts are refused, as OpenShell refuses them when the middleware fails; with
 *   `fail_open` they pass without it. Both are reported as load warnings.
 */
export const MAX_MIDDLEWARES = 10;
export const MAX_SELECTOR_PATTERNS = 32;
const BUILTINS = new Set(['openshell/regex']);

const selectorPattern = z.string().superRefine((p, ctx) => {
  const problem = selectorProblem(p);
  if (problem) ctx.addIssue({ code: 'custom', message: `endpoint selector pattern '${p}' is invalid: ${problem}` });
});

function selectorProblem(pattern: string): string | undefined {
  if (pattern === '') return 'host pattern must not be empty';
  if (/\s/.test(pattern)) return 'host pattern must not contain whitespace';
  if (/[{}]/.test(pattern)) return 'host pattern must not contain brace alternates; list each host pattern separately';
  if (pattern.split('.').some((l) => l === '')) return 'host pattern must not contain empty DNS labels';
  try {
    compileDotGlob(pattern.toLowerCase());
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}

export const middlewareSchema = z
  .strictObject({
    name: z.string().optional(),
    middleware: z.string().min(1, 'middleware must not be empty'),
    order: z.int().optional(),
    config: z.record(z.string(), z.unknown()).optional(),
    on_error: oneOf(['fail_closed', 'fail_open'], 'on_error').optional(),
    endpoints: z.strictObject({
      include: z.array(selectorPattern).min(1, 'endpoint selector must include at least one host pattern'),
      exclude: z.array(selectorPattern).optional(),
    }, { error: 'endpoint selector is required: endpoints: { include: [host patterns] }' }),
  })
  .superRefine((m, ctx) => {
    const count = m.endpoints.include.length + (m.endpoints.exclude?.length ?? 0);
    if (count > MAX_SELECTOR_PATTERNS) ctx.addIssue({ code: 'custom', path: ['endpoints'], message: `too many selector patterns (${count} > ${MAX_SELECTOR_PATTERNS})` });
    if (m.middleware.startsWith('openshell/') && !BUILTINS.has(m.middleware)) {
      ctx.addIssue({ code: 'custom', path: ['middleware'], message: `unknown built-in middleware '${m.middleware}' (built-ins: ${[...BUILTINS].join(', ')})` });
    }
    if (m.middleware === 'openshell/regex') {
      const extra = Object.keys(m.config ?? {}).filter((k) => k !== 'mode');
      const mode = m.config?.mode;
      if (extra.length > 0 || (mode !== undefined && mode !== 'redact')) {
        ctx.addIssue({ code: 'custom', path: ['config'], message: 'invalid openshell/regex config; it supports only mode: redact' });
      }
    }
  });

export const middlewaresSchema = z.record(z.string().min(1, 'middleware name must not be empty'), middlewareSchema).superRefine((all, ctx) => {
  const names = Object.keys(all);
  if (names.length > MAX_MIDDLEWARES) ctx.addIssue({ code: 'custom', message: `too many middleware configs (${names.length} > ${MAX_MIDDLEWARES})` });
  const orders = new Map<number, string>();
  for (const name of names.sort()) {
    const order = all[name]!.order ?? 0;
    const first = orders.get(order);
    if (first !== undefined) ctx.addIssue({ code: 'custom', path: [name, 'order'], message: `middleware configs '${first}' and '${name}' use duplicate order ${order}` });
    else orders.set(order, name);
  }
});

export type Middleware = z.output<typeof middlewareSchema>;

export interface MiddlewareSelector {
  readonly key: string;
  readonly name: string;
  readonly failClosed: boolean;
  /** 'redact' when it maps onto Sluice's DLP; 'unsupported' when Sluice cannot run it. */
  readonly kind: 'redact' | 'unsupported';
  readonly middleware: string;
  matches(host: string): boolean;
  /** The include patterns that are plain host names. */
  readonly literals: readonly string[];
  /** Could some host match both this selector and the endpoint host pattern? (conservative) */
  overlaps(hostPattern: string): boolean;
}

export function compileMiddlewares(all: Record<string, Middleware> | undefined): MiddlewareSelector[] {
  return Object.entries(all ?? {})
    .sort(([, a], [, b]) => (a.order ?? 0) - (b.order ?? 0))
    .map(([key, m]) => {
      const include: Glob[] = m.endpoints.include.map((p) => compileDotGlob(p.toLowerCase()));
      const exclude: Glob[] = (m.endpoints.exclude ?? []).map((p) => compileDotGlob(p.toLowerCase()));
      const includeText = m.endpoints.include.map((p) => p.toLowerCase());
      return {
        key,
        literals: includeText.filter((p) => !/[*?[\]]/.test(p)),
        name: m.name || key,
        failClosed: (m.on_error ?? 'fail_closed') === 'fail_closed',
        kind: m.middleware === 'openshell/regex' ? ('redact' as const) : ('unsupported' as const),
        middleware: m.middleware,
        matches: (host: string) => include.some((g) => g.test(host)) && !exclude.some((g) => g.test(host)),
        // A selector pattern written like the endpoint's own wildcard covers it.
        overlaps: (hostPattern: string) => includeText.includes(hostPattern) || include.some((g) => g.test(hostPattern)),
      };
    });
}

/**
 * A fail-closed middleware whose selector can cover a `tls: skip` endpoint is refused, as OpenShell
 * refuses it: that traffic can never be inspected, so the middleware could never run on it.
 */
export function findMiddlewareTlsSkipConflicts(policy: {
  network_policies: Record<string, { name?: string | undefined; endpoints: ReadonlyArray<{ host?: string | undefined; tls?: string | undefined }> }>;
  network_middlewares?: Record<string, Middleware> | undefined;
}): Array<{ path: Array<string | number>; message: string }> {
  const out: Array<{ path: Array<string | number>; message: string }> = [];
  const selectors = compileMiddlewares(policy.network_middlewares);
  for (const [key, np] of Object.entries(policy.network_policies)) {
    np.endpoints.forEach((ep, i) => {
      if (ep.tls !== 'skip' || !ep.host) return;
      // A wildcard endpoint is probed with a representative name for each of its wildcard labels.
      const probe = ep.host.toLowerCase().replace(/^\*\*\./, 'x.').replaceAll('*', 'x');
      for (const m of selectors) {
        let pattern: ReturnType<typeof parseHostPattern> | undefined;
        try {
          pattern = parseHostPattern(ep.host);
        } catch {
          pattern = undefined;
        }
        const literalHit = pattern !== undefined && m.literals.some((l) => hostMatches(pattern!, l, 0));
        if (!m.failClosed || !(literalHit || m.matches(probe) || m.matches(ep.host.toLowerCase()) || m.overlaps(ep.host.toLowerCase()))) continue;
        out.push({ path: ['network_middlewares', m.key], message: `middleware config '${m.key}' selects network policy '${np.name || key}' tls: skip endpoint '${ep.host}' (endpoints[${i}]): that traffic cannot be inspected; use on_error: fail_open or narrow the selector` });
      }
    });
  }
  return out;
}
