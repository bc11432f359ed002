import { z } from 'zod';
import { inferenceSchema } from '../privacy/index.js';
import { privacySchema } from '../redact/index.js';
import { providersSchema } from '../credentials/index.js';
import { parseHostPattern } from './host-pattern.js';
import { parseCidr } from './cidr.js';
import { pathGlob } from './request-matcher.js';
import { findEndpointConflicts } from './conflicts.js';
import { allowRuleSchema, graphqlOperationSchema, oneOf, protocolSchema, queryMatcherSchema, refine, ruleFieldsSchema } from './l7-schema.js';
import { checkEndpoint } from './openshell-checks.js';
import { findMiddlewareTlsSkipConflicts, middlewaresSchema } from './middleware.js';

/**
 * The one schema of the policy file: types, validation and docs come from here.
 *
 * The network part is NVIDIA OpenShell's policy schema (every field, with OpenShell's checks:
 * rules/openshell-checks.ts), so an OpenShell policy loads unchanged. Deliberate differences are
 * listed in the README's table; the ones visible here, each fail-closed:
 * - `enforcement` defaults to `enforce` (OpenShell: `audit`), except where an overlapping endpoint
 *   sets it and for `protocol: sql`, which OpenShell only audits.
 * - wildcard hosts need their last two labels literal (OpenShell accepts `api.example.*`).
 * - REST and WebSocket rules need both method and path (OpenShell loads them and never matches).
 * - malformed globs are errors (OpenShell warns, then fails the match at run time).
 * - `tls: terminate` and `tls: passthrough` are deprecated aliases of the default (intercept).
 * Sluice adds `inference`, `privacy` and `providers`, owned by privacy/, redact/ and credentials/,
 * and the endpoint field `dlp`.
 */

const portSchema = z.int({ error: 'port must be an integer from 1 to 65535' }).min(1, 'port must be from 1 to 65535').max(65535, 'port must be from 1 to 65535');

/** A path glob (rules and endpoint `path`): checked by compiling it as requests will be matched. */
export const pathGlobSchema = z.string().superRefine(refine<string>((glob) => {
  if (glob !== '**' && !glob.startsWith('/')) throw new Error(`path glob must start with "/" or be "**"; got ${JSON.stringify(glob)}`);
  pathGlob(glob);
}));

export { queryMatcherSchema };

export const hostSchema = z.string().superRefine(refine<string>((host) => {
  if (host !== '') parseHostPattern(host);
}));

const cidrSchema = z.string().superRefine(refine<string>((cidr) => void parseCidr(cidr)));

const positive = (what: string) => z.int({ error: `${what} must be a positive integer` }).min(1, `${what} must be a positive integer`);

const endpointShape = z.strictObject({
  host: hostSchema.optional().describe('Exact name, IP address, or wildcard ("*" one label, "**" whole first label: one or more); the last two labels must be literal. May be omitted when allowed_ips names the destinations.'),
  path: pathGlobSchema.optional().describe('HTTP path glob selecting this endpoint among L7 endpoints on the same host and port (REST under /repos/**, GraphQL at /graphql).'),
  port: portSchema.optional().describe('TCP port. Set port or ports (ports wins when both are set, as in OpenShell).'),
  ports: z.array(portSchema).min(1, 'ports must list at least one port').optional().describe('TCP ports.'),
  protocol: protocolSchema.optional().describe('rest | websocket | graphql | json-rpc | mcp: every request (or message) is checked against access or rules. sql: relayed raw and audited (as in OpenShell). tcp: relayed raw, never inspected.'),
  tls: oneOf(['skip', 'terminate', 'passthrough'], 'tls').optional().describe('skip: tunnel raw without interception. terminate and passthrough are deprecated OpenShell aliases of the default (intercept).'),
  enforcement: oneOf(['enforce', 'audit'], 'enforcement').optional().describe('enforce refuses requests that break the rules; audit allows and logs them. Default enforce (OpenShell: audit).'),
  access: oneOf(['read-only', 'read-write', 'full'], 'access').optional().describe('Preset. REST: read-only = GET, HEAD, OPTIONS; read-write adds POST, PUT, PATCH; full = all. WebSocket: upgrade; + text messages; all. GraphQL: query; + mutation; all.'),
  rules: z.array(allowRuleSchema).optional().describe('Allow rules: { allow: { method, path, query? } } (REST, WebSocket), { allow: { operation_type, operation_name?, fields? } } (GraphQL), { allow: { method, tool?, params? } } (JSON-RPC, MCP), { allow: { command } } (SQL).'),
  deny_rules: z.array(ruleFieldsSchema).optional().describe('Deny rules, same fields without the allow wrapper; they win over every allow.'),
  allowed_ips: z.array(cidrSchema).min(1, 'allowed_ips must not be empty').optional().describe('CIDRs (or addresses) the destination may resolve to; with them, private ranges are reachable and nothing outside them is.'),
  allow_encoded_slash: z.boolean().optional().describe('Accept %2F inside path segments (npm scoped packages, GitLab project ids).'),
  websocket_credential_rewrite: z.boolean().optional().describe('OpenShell: rewrite credential placeholders in client WebSocket text messages.'),
  request_body_credential_rewrite: z.boolean().optional().describe('OpenShell: rewrite credential placeholders in request bodies.'),
  allow_uninspected_credentials: z.boolean().optional().describe('OpenShell: allow provider credentials on traffic that cannot be inspected.'),
  persisted_queries: oneOf(['deny', 'allow_registered'], 'persisted_queries').optional().describe('GraphQL hash-only requests: deny (default) or allow_registered (looked up in graphql_persisted_queries).'),
  graphql_persisted_queries: z.record(z.string().min(1), graphqlOperationSchema).optional().describe('Trusted persisted queries by hash or saved-query id: { operation_type, operation_name?, fields? }.'),
  graphql_max_body_bytes: positive('graphql_max_body_bytes').optional().describe('Largest GraphQL request body inspected (default 65536); larger ones are refused.'),
  credential_signing: oneOf(['sigv4', 'sigv4:body', 'sigv4:no_body'], 'credential_signing').optional().describe('OpenShell: AWS SigV4 re-signing at the proxy.'),
  signing_service: z.string().optional().describe('OpenShell: AWS service name for SigV4.'),
  signing_region: z.string().optional().describe('OpenShell: AWS region for SigV4.'),
  credential_binding: z.strictObject({ provider: z.string().min(1, 'credential_binding.provider must not be empty') }).optional().describe('OpenShell: bind an attached provider\'s credentials to this endpoint.'),
  json_rpc: z.strictObject({ max_body_bytes: positive('json_rpc.max_body_bytes').optional() }).optional().describe('JSON-RPC options: max_body_bytes (default 65536).'),
  mcp: z
    .strictObject({
      max_body_bytes: positive('mcp.max_body_bytes').optional(),
      strict_tool_names: z.boolean({ error: 'mcp.strict_tool_names must be boolean' }).optional(),
      allow_all_known_mcp_methods: z.boolean({ error: 'mcp.allow_all_known_mcp_methods must be boolean' }).optional(),
    })
    .optional()
    .describe('MCP options: max_body_bytes, strict_tool_names (default true), allow_all_known_mcp_methods (default false).'),
  dlp: oneOf(['block', 'redact', 'off'], 'dlp').optional().describe('Sluice addition: egress DLP for requests to this endpoint (secrets in query strings and bodies): block | redact | off. Default: privacy.egress.default (block).'),
});

export type EndpointInput = z.output<typeof endpointShape>;

export const endpointSchema = endpointShape.superRefine((ep, ctx) => {
  checkEndpoint(ep, (kind, message, path) => {
    if (kind === 'error') ctx.addIssue({ code: 'custom', message, ...(path ? { path } : {}) });
  });
});

export const binarySchema = z.strictObject({
  path: z.string().min(1, 'binary path must not be empty'),
  harness: z.boolean().optional().describe('Deprecated OpenShell field; ignored.'),
});

export const networkPolicySchema = z.strictObject({
  name: z.string().optional().describe('Display name in decisions and logs; defaults to the key.'),
  endpoints: z.array(endpointSchema).default([]).describe('Destinations this policy allows.'),
  binaries: z.array(binarySchema).optional().describe('Executables the policy applies to (path globs; ancestors count). Enforced for sandboxes Sluice runs; for other clients the policy applies to every client, with a warning.'),
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

const positiveInt = (max: number, what: string) =>
  z.int({ error: `must be a whole number of ${what}` }).min(1, { error: `must be at least 1` }).max(max, { error: `must be at most ${max}` });

/** Sluice's addition: the sandbox's resource limits (defaults in sandbox/limits.ts, documented in README). */
export const limitsSchema = z.strictObject({
  processes: positiveInt(4_194_304, 'processes').optional().describe('Processes and threads at once (default 1024).'),
  memory_mb: positiveInt(16_777_216, 'MiB').optional().describe('Memory in MiB, page cache and tmpfs included, no swap beyond it (default: half the host, at most 8192).'),
  cpus: z.number({ error: 'must be a number of CPUs' }).positive({ error: 'must be above 0' }).max(4096).optional().describe('CPU time in CPUs, e.g. 1.5 (default: every CPU but one, at least 1).'),
  open_files: positiveInt(1_048_576, 'files').optional().describe('Open files per process (default 16384).'),
});

export const processSchema = z.strictObject({
  run_as_user: identitySchema.optional(),
  run_as_group: identitySchema.optional(),
  root_inside: z
    .boolean({ error: 'must be true or false' })
    .optional()
    .describe("Sluice's addition: the command runs as uid 0 inside the sandbox's user namespace, mapped to an unprivileged host user (never the host's root); bwrap only."),
  limits: limitsSchema.optional().describe("Sluice's addition: the sandbox's resource limits."),
});

const policyNameSchema = z.string().regex(/^[\x21-\x7e]{1,128}$/, {
  error: 'policy names are 1 to 128 printable ASCII characters without spaces',
});

export const policySchema = z
  .strictObject({
    version: z.literal(1, { error: 'must be 1' }).describe('Schema version; must be 1.'),
    network_policies: z.record(policyNameSchema, networkPolicySchema).default({}).describe('Named network policies; anything none of them allows is denied. Reloaded live.'),
    filesystem_policy: filesystemPolicySchema.optional().describe('Paths the workload may read and write. Fixed when a sandbox starts.'),
    landlock: landlockSchema.optional().describe('Landlock behaviour. Fixed when a sandbox starts.'),
    process: processSchema.optional().describe('User and group the workload runs as, and its resource limits. Fixed when a sandbox starts.'),
    inference: inferenceSchema.optional().describe('LLM backends and routes (privacy router). Reloaded live.'),
    privacy: privacySchema.optional().describe('What to redact from LLM calls, and how. Reloaded live.'),
    providers: providersSchema.optional().describe('Credentials injected at the wire. Reloaded live.'),
    network_middlewares: middlewaresSchema.optional().describe('OpenShell middleware by destination host: openshell/regex maps onto Sluice DLP redaction; others are refused or skipped per on_error, with a warning.'),
  })
  .superRefine((policy, ctx) => {
    for (const conflict of findEndpointConflicts(policy.network_policies)) {
      ctx.addIssue({ code: 'custom', message: conflict.message, path: ['network_policies', ...conflict.path] });
    }
    for (const conflict of findMiddlewareTlsSkipConflicts(policy)) {
      ctx.addIssue({ code: 'custom', message: conflict.message, path: conflict.path });
    }
  });

/** JSON Schema of the policy file (for editors: yaml-language-server, and for docs). */
export function policyJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(policySchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}

export type Policy = z.output<typeof policySchema>;
export type NetworkPolicy = z.output<typeof networkPolicySchema>;
export type Endpoint = z.output<typeof endpointSchema>;
export type RestMatcher = z.output<typeof ruleFieldsSchema>;
export type QueryMatcher = z.output<typeof queryMatcherSchema>;
