import { z } from 'zod';

/**
 * The shapes of L7 rules, one superset for every protocol as OpenShell has it: REST and WebSocket
 * rules use method/path/query, GraphQL rules operation_type/operation_name/fields, JSON-RPC and MCP
 * rules method/tool/params, SQL rules command. Which fields a protocol accepts is checked per
 * endpoint (rules/openshell-checks.ts), with OpenShell's messages.
 */

export function refine<T>(check: (value: T) => void) {
  return (value: T, ctx: z.RefinementCtx) => {
    try {
      check(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  };
}

export function oneOf<const T extends readonly [string, ...string[]]>(values: T, what: string) {
  return z.enum(values, {
    error: (issue) => `${what} must be one of ${values.join(', ')}; got ${JSON.stringify(issue.input)}`,
  });
}

const globTextSchema = z.string({ error: 'expected a glob string' });

/** A glob string, or `{ any: [globs] }` (OpenShell's two matcher shapes). */
export const queryMatcherSchema = z.union([globTextSchema, z.strictObject({ any: z.array(globTextSchema).min(1, 'any: list must not be empty') })], {
  error: 'matcher must be a glob string or { any: [globs] }',
});

/** MCP `params`: only `params.name` (the tool name) is a supported selector, as in OpenShell. */
const paramsSchema = z.record(z.string(), z.unknown()).superRefine((params, ctx) => {
  for (const [key, value] of Object.entries(params)) {
    if (key !== 'name') {
      ctx.addIssue({ code: 'custom', path: [key], message: `params.${key}: MCP tool argument matching is not supported yet; only params.name selects tools` });
    } else if (!queryMatcherSchema.safeParse(value).success) {
      ctx.addIssue({ code: 'custom', path: [key], message: 'params.name must be a glob string or { any: [globs] }' });
    }
  }
});

/** HTTP methods (compared case-insensitively, as OpenShell does; `*` is every method) or RPC method names. */
export const methodSchema = z.string().regex(/^[\x21-\x7e]{1,128}$/, {
  error: (issue) => `method must be a method name such as GET or tools/call (printable ASCII, no spaces), or "*"; got ${JSON.stringify(issue.input)}`,
});

const ruleShape = {
  method: methodSchema.optional(),
  path: z.string().optional(),
  query: z.record(z.string().min(1), queryMatcherSchema).optional(),
  command: z.string().min(1).optional(),
  operation_type: z.string().optional(),
  operation_name: z.string().optional(),
  fields: z.array(z.string({ error: 'fields: all values must be strings' })).optional(),
  tool: queryMatcherSchema.optional(),
  params: paramsSchema.optional(),
};

/** The fields of one rule; `rules` wrap them in `allow`, `deny_rules` list them directly (as OpenShell does). */
export const ruleFieldsSchema = z.strictObject(ruleShape);

export const allowRuleSchema = z.strictObject({ allow: ruleFieldsSchema });

export const graphqlOperationSchema = z.strictObject({
  operation_type: z.string(),
  operation_name: z.string().optional(),
  fields: z.array(z.string()).optional(),
});

export type RuleFields = z.output<typeof ruleFieldsSchema>;
export type QueryMatcher = z.output<typeof queryMatcherSchema>;
export type GraphqlOperationDef = z.output<typeof graphqlOperationSchema>;

/** OpenShell's L7 protocols, plus `tcp` (raw, never inspected). */
export const PROTOCOLS = ['rest', 'websocket', 'graphql', 'sql', 'json-rpc', 'mcp', 'tcp'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export const protocolSchema = z
  .string()
  .transform((p) => p.toLowerCase())
  .pipe(oneOf(PROTOCOLS, 'protocol'));
