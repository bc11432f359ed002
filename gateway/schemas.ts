import { z } from 'zod';

/**
 * The API's request and response bodies, once: handlers check requests against them and the
 * OpenAPI document is derived from them. Field names are snake_case, as in the policy file and
 * the OCSF audit records.
 */
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name');

export const createSandboxSchema = z.strictObject({
  name: z.string().min(1).max(63).optional().describe('Sandbox name; `sluice-` is prefixed when missing. Default: a random one.'),
  command: z.array(z.string()).min(1, 'command needs at least the program').max(4096).describe('argv of the command, never a shell string.'),
  driver: z.enum(['bwrap', 'docker']).default('bwrap'),
  image: z.string().min(1).max(256).optional().describe('docker: the image (default sluice-base:latest).'),
  workdir: z.string().startsWith('/', 'workdir must be an absolute host path').optional().describe('Host folder bound read-write at the same path; the working directory.'),
  env: z.record(envName, z.string()).optional().describe('Extra environment. Proxy, CA and placeholder variables win over these.'),
  read_only: z.array(z.string().startsWith('/', 'read_only paths must be absolute host paths')).max(64).optional().describe("Host paths bound read-only at the same path, image trees included (an agent's install directory); one that cannot be mounted refuses the sandbox."),
  policy: z.string().min(1).optional().describe("Policy text (YAML or JSON). Default: the gateway's default policy."),
  policy_file: z.string().startsWith('/').optional().describe('The file `policy` was read from: its errors are reported against it, and relative `file:` credential sources are read from its folder.'),
  stdin: z.boolean().default(false).describe('Keep stdin open for POST /v1/sandboxes/{name}/stdin; otherwise the command reads end-of-file.'),
  auto_remove: z.boolean().default(false).describe('Remove the sandbox once it has ended and its output has been read to the end (or 60 s after the end); an attached `sluice run` sets it.'),
  limits: z.strictObject({ pids: z.int().min(1).optional(), memory_mb: z.int().min(16).optional(), cpus: z.number().positive().optional() }).optional(),
});
export type CreateSandboxBody = z.output<typeof createSandboxSchema>;

export const sandboxSchema = z.object({
  name: z.string(),
  driver: z.enum(['bwrap', 'docker']),
  state: z.enum(['creating', 'running', 'exited', 'stopped', 'failed', 'lost']),
  command: z.array(z.string()),
  image: z.string().optional(),
  workdir: z.string().optional(),
  env: z.array(z.string()).describe('Names of the variables the creator added; values are not kept.'),
  stdin: z.boolean(),
  created_at: z.string(),
  started_at: z.string().optional(),
  finished_at: z.string().optional(),
  exit_code: z.int().nullable().optional().describe('Set once the command has ended; null when the sandbox was lost with a gateway.'),
  reason: z.string().optional(),
  proxy: z.object({ host: z.string(), port: z.int() }).optional().describe("The sandbox's own proxy listener, reachable from that sandbox alone."),
  policy: z.object({ revision: z.int(), updated_at: z.string() }),
});

export const sandboxListSchema = z.object({ sandboxes: z.array(sandboxSchema) });

export const stopSchema = z.strictObject({ grace_ms: z.int().min(0).max(600_000).optional() });
export const killSchema = z.strictObject({ signal: z.enum(['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGKILL', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2']).default('SIGTERM') });

export const waitSchema = z.object({ name: z.string(), state: sandboxSchema.shape.state, exit_code: z.int().nullable() });

export const policyViewSchema = z.object({
  sandbox: z.string().optional().describe('Absent for the gateway default policy.'),
  file: z.string().optional().describe('The policy file the default comes from, when there is one.'),
  revision: z.int().optional(),
  updated_at: z.string().optional(),
  yaml: z.string().describe('The policy text as last set.'),
  static_sections: z.array(z.string()).describe('Fixed when a sandbox is created.'),
  dynamic_sections: z.array(z.string()).describe('Applied at once to a running sandbox.'),
});

export const policyPutResultSchema = z.object({
  sandbox: z.string().optional(),
  revision: z.int().optional(),
  closed_tunnels: z.int(),
  persisted: z.boolean().optional().describe('Default policy: written to its file (false when the gateway runs the embedded default).'),
});

const providerBindingSchema = z.object({
  name: z.string(),
  from: z.string().describe('Where the secret is read (env:VAR or file:PATH); never the value.'),
  env: z.array(z.string()),
  endpoints: z.array(z.object({ host: z.string(), port: z.int().optional(), ports: z.array(z.int()).optional(), path: z.string().optional() })),
  inject: z.union([z.object({ header: z.string() }), z.object({ basic: z.literal(true) }), z.object({ query: z.string() })]),
  placeholder_prefix: z.string(),
  body: z.boolean(),
});
export const providerListSchema = z.object({ sandbox: z.string().optional(), providers: z.array(providerBindingSchema) });

export const providerReloadSchema = z.object({
  provider: z.string(),
  reloaded: z.array(z.object({ listener: z.string().describe('`default` or a sandbox name'), ok: z.boolean(), error: z.string().optional() })),
});

export const healthSchema = z.object({ status: z.literal('ok'), sandboxes: z.object({ running: z.int(), total: z.int() }) });
export const versionSchema = z.object({ version: z.string(), api: z.literal('v1'), node: z.string() });

export const errorSchema = z.object({
  error: z.string().describe('Stable code: unauthorized, forbidden, not_found, conflict, policy_locked, policy_invalid, invalid_request, …'),
  detail: z.string(),
  reason: z.string(),
  sections: z.array(z.string()).optional().describe('policy_locked: the static sections the put would change.'),
  errors: z.array(z.string()).optional().describe('policy_invalid: every problem, file:line:col: message.'),
  problems: z.array(z.string()).optional().describe('invalid_request: every problem with the body.'),
});
