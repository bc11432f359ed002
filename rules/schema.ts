import { z } from 'zod';
import type { SluiceError } from '../core/index.js';
import { inferenceSchema } from '../privacy/index.js';
import { privacySchema } from '../redact/index.js';
import { providersSchema } from '../credentials/index.js';
import { parseHostPattern } from './host-pattern.js';
import { parseCidr } from './cidr.js';
import { compileGlob } from './glob.js';
import { normalizeEncoding } from './path.js';
import { findEndpointConflicts } from './conflicts.js';

/**
 * The one schema of the policy file: types, validation and docs come from here.
 *
 * The network part follows NVIDIA OpenShell's policy schema (field names and meaning), so an
 * OpenShell policy's REST endpoints load unchanged. Deliberate differences, each fail-closed:
 * - `enforcement` defaults to `enforce` (OpenShell: `audit`), so a rule you write is a rule that holds.
 * - `access`/`rules`/`deny_rules` without `protocol: rest` are errors (OpenShell ignores them silently).
 * - wildcard hosts need their last two labels literal (OpenShell accepts `api.*.com`).
 * - `protocol` is `rest` or `tcp`; websocket, graphql, mcp and json-rpc are not inspected yet.
 * - OpenShell's credential fields, endpoint `path` and `network_middlewares` are unknown keys
 *   here; Sluice has `providers` for credentials.
 * - `tls: terminate` and `tls: passthrough` (older OpenShell spellings) are accepted:
 *   terminate = the default (intercept), passthrough = `skip`.
 * Sluice adds `inference`, `privacy` and `providers`, owned by privacy/, redact/ and credentials/.
 */

function refine<T>(check: (value: T) => void) {
  return (value: T, ctx: z.RefinementCtx) => {
    try {
      check(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  };
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T, what: string) {
  return z.enum(values, {
    error: (issue) => `${what} must be one of ${values.join(', ')}; got ${JSON.stringify(issue.input)}`,
  });
}

const portSchema = z.int({ error: 'port must be an integer from 1 to 65535' }).min(1, 'port must be from 1 to 65535').max(65535, 'port must be from 1 to 65535');

/** `*` or an upper-case HTTP token; upper case because methods are case-sensitive on the wire. */
export const methodSchema = z
  .string()
  .refine((m) => m === '*' || /^[A-Z][A-Z0-9_-]{0,31}$/.test(m), {
    error: (issue) => `method must be an upper-case HTTP method such as GET, or "*"; got ${JSON.stringify(issue.input)}`,
  });

/** A path glob; checked (and later compiled) in the canonical percent-encoding request paths are compared in. */
export const pathGlobSchema = z.string().superRefine(refine<string>((glob) => {
  if (!glob.startsWith('/')) throw new Error(`path glob must start with "/"; got ${JSON.stringify(glob)}`);
  let normalized: string;
  try {
    normalized = normalizeEncoding(glob, true, '*?[]');
  } catch (err) {
    throw new Error(`path glob ${JSON.stringify(glob)}: ${String((err as SluiceError).context?.reason ?? (err as Error).message)}`, { cause: err });
  }
  if (normalized.split('/').some((s) => s === '.' || s === '..')) throw new Error('path glob must not contain "." or ".." segments');
  if (normalized.includes('//')) throw new Error('path glob must not contain "//" (request paths are compared with "//" collapsed)');
  compileGlob(normalized, '/');
}));

const queryGlobSchema = z.string().superRefine(refine<string>((glob) => void compileGlob(glob, '.')));

export const queryMatcherSchema = z.union([queryGlobSchema, z.strictObject({ any: z.array(queryGlobSchema).min(1) })], {
  error: 'query matcher must be a glob string or { any: [globs] }',
});

/** REST matcher fields; `rules` wrap them in `allow`, `deny_rules` list them directly (as OpenShell does). */
export const restMatcherSchema = z.strictObject({
  method: methodSchema,
  path: pathGlobSchema,
  query: z.record(z.string().min(1), queryMatcherSchema).optional(),
});

export const hostSchema = z.string().superRefine(refine<string>((host) => void parseHostPattern(host)));

const cidrSchema = z.string().superRefine(refine<string>((cidr) => void parseCidr(cidr)));

export const endpointSchema = z
  .strictObject({
    host: hostSchema.describe('Exact name, IP address, or wildcard: "*" is one label, "**" (whole first label only) one or more; the last two labels must be literal.'),
    port: portSchema.optional().describe('TCP port. Set port or ports.'),
    ports: z.array(portSchema).min(1, 'ports must list at least one port').optional().describe('TCP ports, instead of port.'),
    protocol: oneOf(['rest', 'tcp'], 'protocol').optional().describe('rest: every request is checked against access or rules. tcp: relayed raw, never inspected.'),
    tls: oneOf(['skip', 'terminate', 'passthrough'], 'tls').optional().describe('skip (or legacy passthrough): tunnel raw without interception. Default (or legacy terminate): intercept.'),
    enforcement: oneOf(['enforce', 'audit'], 'enforcement').default('enforce').describe('enforce refuses requests that break the rules; audit allows and logs them. Sluice defaults to enforce (OpenShell: audit).'),
    access: oneOf(['read-only', 'read-write', 'full'], 'access').optional().describe('Preset: read-only = GET, HEAD, OPTIONS; read-write adds POST, PUT, PATCH; full = every method. Any path.'),
    rules: z.array(z.strictObject({ allow: restMatcherSchema })).min(1, 'rules must not be empty').optional().describe('Allow rules: { allow: { method, path, query? } }. Not with access.'),
    deny_rules: z.array(restMatcherSchema).optional().describe('Deny rules ({ method, path, query? }); they win over every allow.'),
    allowed_ips: z.array(cidrSchema).min(1, 'allowed_ips must not be empty').optional().describe('CIDRs (or addresses) the host may resolve to, private ranges included.'),
    allow_encoded_slash: z.boolean().default(false).describe('Accept %2F inside path segments (npm scoped packages, GitLab). Sluice addition to the OpenShell field of the same name.'),
    dlp: oneOf(['block', 'redact', 'off'], 'dlp')
      .optional()
      .describe('Sluice addition: egress DLP for requests to this endpoint (secrets in query strings and bodies): block | redact | off. Default: privacy.egress.default (block).'),
  })
  .superRefine((ep, ctx) => {
    const issue = (message: string, key: string) => ctx.addIssue({ code: 'custom', message, path: [key] });
    if (ep.port !== undefined && ep.ports !== undefined) issue('set port or ports, not both', 'ports');
    if (ep.port === undefined && ep.ports === undefined) ctx.addIssue({ code: 'custom', message: 'endpoint needs port or ports' });
    if (ep.ports && new Set(ep.ports).size !== ep.ports.length) issue('ports must not repeat', 'ports');
    if (ep.access !== undefined && ep.rules !== undefined) issue('access and rules cannot be combined; use one', 'rules');
    const skip = ep.tls === 'skip' || ep.tls === 'passthrough';
    if (ep.protocol === 'rest') {
      if (ep.access === undefined && ep.rules === undefined) issue('protocol: rest needs access or rules', 'protocol');
      if (skip) issue(`tls: ${ep.tls} cannot be combined with protocol: rest (requests cannot be inspected)`, 'tls');
    } else {
      for (const key of ['access', 'rules', 'deny_rules'] as const) {
        if (ep[key] === undefined) continue;
        issue(ep.protocol === 'tcp' ? `${key} is not allowed with protocol: tcp (never inspected)` : `${key} needs protocol: rest`, key);
      }
    }
    if (ep.deny_rules !== undefined && ep.access === undefined && ep.rules === undefined && ep.protocol === 'rest') {
      issue('deny_rules need access or rules', 'deny_rules');
    }
  });

export const networkPolicySchema = z.strictObject({
  name: z.string().min(1).optional().describe('Display name in decisions and logs; defaults to the key.'),
  endpoints: z.array(endpointSchema).default([]).describe('Destinations this policy allows.'),
  // A host-side proxy cannot see which binary opened a connection, so this is not enforced yet.
  binaries: z
    .array(z.strictObject({ path: z.string().min(1, 'binary path must not be empty') }))
    .optional()
    .describe('Executables the policy applies to (OpenShell). Parsed and validated; not enforced by Sluice yet.'),
});

const fsPathSchema = z.string().superRefine(refine<string>((p) => {
  if (Buffer.byteLength(p) > 4096) throw new Error('path longer than 4096 bytes');
  if (!p.startsWith('/')) throw new Error(`path must be absolute; got ${JSON.stringify(p)}`);
  if (p.split('/').includes('..')) throw new Error(`path must not contain ".."; got ${JSON.stringify(p)}`);
}));

/**
 * Paths the sandboxed workload may read or write; fixed when a sandbox starts. As in OpenShell,
 * `include_workdir` defaults to true when the section is absent and false when it is present;
 * the sandbox driver applies that.
 */
export const filesystemPolicySchema = z
  .strictObject({
    include_workdir: z.boolean().optional(),
    read_only: z.array(fsPathSchema).optional(),
    read_write: z.array(fsPathSchema).optional(),
  })
  .superRefine((fs, ctx) => {
    const count = (fs.read_only?.length ?? 0) + (fs.read_write?.length ?? 0);
    if (count > 256) ctx.addIssue({ code: 'custom', message: `at most 256 filesystem paths; got ${count}` });
    fs.read_write?.forEach((p, i) => {
      if (typeof p === 'string' && /^\/+$/.test(p)) {
        ctx.addIssue({ code: 'custom', message: 'read_write cannot contain "/"', path: ['read_write', i] });
      }
    });
  });

export const landlockSchema = z.strictObject({
  compatibility: oneOf(['best_effort', 'hard_requirement'], 'compatibility').optional(),
});

/** `sandbox` or a numeric id from 1 to 4294967294 (root is refused), as OpenShell documents. */
const identitySchema = z
  .union([z.string(), z.int()], { error: 'must be "sandbox" or a numeric id' })
  .transform((v) => String(v))
  .refine((v) => v === 'sandbox' || (/^[0-9]{1,10}$/.test(v) && Number(v) >= 1 && Number(v) <= 4294967294), {
    error: (issue) => `must be "sandbox" or a numeric id from 1 to 4294967294 (not root); got ${JSON.stringify(issue.input)}`,
  });

export const processSchema = z.strictObject({
  run_as_user: identitySchema.optional(),
  run_as_group: identitySchema.optional(),
});

const policyNameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, {
  error: 'policy names use letters, digits, "_", "-" and "." (at most 128), starting with a letter or digit',
});

export const policySchema = z
  .strictObject({
    version: z.literal(1, { error: 'must be 1' }).describe('Schema version; must be 1.'),
    network_policies: z.record(policyNameSchema, networkPolicySchema).default({}).describe('Named network policies; anything none of them allows is denied. Reloaded live.'),
    filesystem_policy: filesystemPolicySchema.optional().describe('Paths the workload may read and write. Fixed when a sandbox starts.'),
    landlock: landlockSchema.optional().describe('Landlock behaviour. Fixed when a sandbox starts.'),
    process: processSchema.optional().describe('User and group the workload runs as. Fixed when a sandbox starts.'),
    inference: inferenceSchema.optional().describe('LLM backends and routes (privacy router). Reloaded live.'),
    privacy: privacySchema.optional().describe('What to redact from LLM calls, and how. Reloaded live.'),
    providers: providersSchema.optional().describe('Credentials injected at the wire. Reloaded live.'),
  })
  .superRefine((policy, ctx) => {
    for (const conflict of findEndpointConflicts(policy.network_policies)) {
      ctx.addIssue({ code: 'custom', message: conflict.message, path: ['network_policies', ...conflict.path] });
    }
  });

/** JSON Schema of the policy file (for editors: yaml-language-server, and for docs). */
export function policyJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(policySchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}

export type Policy = z.output<typeof policySchema>;
export type NetworkPolicy = z.output<typeof networkPolicySchema>;
export type Endpoint = z.output<typeof endpointSchema>;
export type RestMatcher = z.output<typeof restMatcherSchema>;
export type QueryMatcher = z.output<typeof queryMatcherSchema>;
