import type * as Diff from 'diff';
import { z } from 'zod';
import { lazyModule } from '../core/index.js';
import { advise } from '../rules/index.js';
import type { MetricsSource } from './metrics.js';
import type { Route } from './route.js';
import type { RouteContext } from './routes.js';
import * as s from './schemas.js';

// Loaded on the first advice asked for: a gateway at rest does not carry jsdiff.
const diff = lazyModule<typeof Diff>('diff');

/**
 * What `sluice status` and the dashboard read, and the policy advisor over the API: given the
 * refusals a client saw (from /v1/events), the smallest policy change that admits them, as the
 * full new document and a diff. Proposing changes nothing (read scope): a human reads the diff
 * and applies it with PUT /v1/policy or PUT /v1/sandboxes/{name}/policy, which validate again.
 */
export interface ObserveContext extends Pick<RouteContext, 'manager' | 'defaults' | 'version'> {
  source: MetricsSource;
  /** The shared proxy listener's URL. */
  url: string;
  auditFile: string;
}

const observedSchema = z.strictObject({
  code: z.string().min(1).max(64),
  host: z.string().min(1).max(253),
  port: z.int().min(1).max(65535),
  method: z.string().min(1).max(32).optional(),
  path: z.string().min(1).max(8192).startsWith('/').optional(),
  address: z.string().min(2).max(64).optional(),
});
export const suggestSchema = z.strictObject({
  sandbox: z.string().min(1).max(63).optional().describe("The sandbox whose policy to change; default: the gateway's default policy."),
  denials: z.array(observedSchema).min(1).max(1000).describe('Refusals as the event stream reports them (OCSF dst_endpoint, http_request, unmapped.code).'),
});
const suggestionSchema = z.object({
  target: z.string().describe('`default` or the sandbox name'),
  changed: z.boolean(),
  yaml: z.string().describe('The whole proposed policy (the current one when nothing changes)'),
  diff: z.string().describe('Unified diff from the current policy'),
  changes: z.array(z.string()),
  notes: z.array(z.string()).describe('Refusals not turned into policy, each with why'),
});
const statusSchema = z.object({
  version: z.string(),
  audit_file: z.string(),
  listeners: z.array(z.object({ name: z.string(), url: z.string().optional(), open_tunnels: z.int(), backends: z.record(z.string(), z.object({ healthy: z.boolean(), models: z.array(z.string()).optional(), checked_at: z.string().optional(), error: z.string().optional() })) })),
  sandboxes: z.array(s.sandboxSchema.pick({ name: true, driver: true, state: true, command: true })),
});

export function observeRoutes(ctx: ObserveContext): Route[] {
  return [
    {
      method: 'GET', path: '/v1/status', scope: 'read', tags: ['gateway'], summary: 'The gateway: its listeners (tunnels, backend health) and sandboxes',
      responses: { 200: { description: 'status', schema: statusSchema }, 401: { description: 'no valid token', schema: s.errorSchema } },
      handle: () => {
        const listeners = ctx.source.listeners().map((l) => ({
          name: l.name,
          ...(l.name === 'default' ? { url: ctx.url } : {}),
          open_tunnels: l.openTunnels,
          backends: Object.fromEntries(Object.entries(l.health).map(([name, h]) => [name, { healthy: h.healthy, ...(h.models ? { models: h.models } : {}), ...(h.checkedAt ? { checked_at: new Date(h.checkedAt).toISOString() } : {}), ...(h.error ? { error: h.error } : {}) }])),
        }));
        const sandboxes = ctx.manager.list().map((r) => ({ name: r.name, driver: r.driver, state: r.state, command: r.command }));
        return { status: 200, json: { version: ctx.version, audit_file: ctx.auditFile, listeners, sandboxes } };
      },
    },
    {
      method: 'POST', path: '/v1/policy/suggest', scope: 'read', tags: ['policies'], summary: 'Propose the smallest policy change that admits these refusals (changes nothing)',
      body: { description: 'the refusals, and whose policy', contentTypes: ['application/json'], schema: suggestSchema },
      responses: { 200: { description: 'the proposal', schema: suggestionSchema }, ...Object.fromEntries([400, 401, 404, 415].map((c) => [c, { description: 'error', schema: s.errorSchema }])) },
      handle: async (req) => {
        const body = await req.json(suggestSchema);
        const target = body.sandbox === undefined ? 'default' : ctx.manager.get(body.sandbox).name;
        const before = body.sandbox === undefined ? ctx.defaults.get().text : ctx.manager.policy(target).text;
        const label = target === 'default' ? 'policy.yaml' : `${target}.policy.yaml`;
        const advice = advise(before, label, body.denials);
        const changed = advice.changes.length > 0;
        // jsdiff's `Index:` line and `=` rule are not part of a unified diff.
        const patch = changed ? diff().createTwoFilesPatch(label, label, advice.before, advice.after, undefined, undefined, { context: 3 }).replace(/^Index: .*\n=+\n/, '') : '';
        return { status: 200, json: { target, changed, yaml: changed ? advice.after : before, diff: patch, changes: advice.changes, notes: advice.notes } };
      },
    },
  ];
}
