import { z } from 'zod';

/**
 * `providers:` section of the policy file (owned by credentials/).
 *
 * ```yaml
 * providers:
 *   openai:    { from: env:OPENAI_API_KEY }                  # built-in profile: endpoints, header, placeholder shape
 *   anthropic: { from: file:/run/secrets/anthropic }         # file must not be readable by group or others
 *   github:    { from: env:GITHUB_TOKEN, hosts: [api.github.com] }   # narrower than the built-in endpoints
 *   internal:
 *     from: env:INTERNAL_TOKEN
 *     endpoints: [{ host: "*.corp.example", port: 8443, path: "/api/**" }]   # add allow_cleartext: true for plain HTTP
 *     inject: { basic: { user: ci, password: "{}" } }         # or { header: x-api-key }, { query: key }, { path: true }
 *     env: INTERNAL_TOKEN                                    # the sandbox variable that gets the placeholder
 *     placeholder: { prefix: "itk_", length: 40 }
 *     body: true                                             # also replace placeholders in request bodies
 * ```
 *
 * A provider named after a built-in profile (openai, anthropic, gemini, nvidia, github, copilot,
 * gitlab, huggingface, npm), or with `profile:` naming one, inherits that profile; anything set here
 * overrides it (`endpoints`/`hosts` replace the profile's endpoints). Other providers need `endpoints` or `hosts`.
 */

export const BUILTIN_PROFILE_NAMES = ['openai', 'anthropic', 'gemini', 'nvidia', 'github', 'copilot', 'gitlab', 'huggingface', 'npm'] as const;

const envVarName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name');

/** Host glob: `*` matches within one DNS label, `**` across labels. Path glob: `*` within a segment, `**` across. */
export const credentialEndpointSchema = z.strictObject({
  host: z.string().min(1).regex(/^[A-Za-z0-9*.[\]:_-]+$/, 'host glob may contain letters, digits, . - _ * and [v6] literals'),
  port: z.number().int().min(1).max(65535).optional(),
  ports: z.array(z.number().int().min(1).max(65535)).min(1).optional(),
  path: z.string().startsWith('/').optional(),
  /** The credential may be sent over plain HTTP too (never by default: anyone on the path reads it). */
  allow_cleartext: z.boolean().optional(),
});
export type CredentialEndpointConfig = z.infer<typeof credentialEndpointSchema>;

const template = z.string().refine((s) => !/[\r\n\0]/.test(s), 'must not contain CR, LF or NUL');

export const injectSchema = z.union([
  z.strictObject({
    /** Header name, e.g. authorization or x-api-key. */
    header: z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be an HTTP header name'),
    /** `{}` is the secret; default `{}` (or `Bearer {}` for authorization). */
    format: template.refine((s) => s.split('{}').length === 2, 'format must contain {} exactly once').optional(),
  }),
  z.strictObject({
    basic: z.strictObject({ user: template, password: template })
      .refine((b) => `${b.user}\n${b.password}`.includes('{}'), 'user or password must contain {}'),
  }),
  z.strictObject({ query: z.string().min(1) }),
  /** The placeholder is replaced where it stands in a path segment (APIs such as /bot<token>/sendMessage). */
  z.strictObject({ path: z.literal(true) }),
]);
export type InjectConfig = z.infer<typeof injectSchema>;

export const placeholderAlphabetSchema = z.enum(['alnum', 'base64url', 'alpha', 'hex']);
export type PlaceholderAlphabet = z.infer<typeof placeholderAlphabetSchema>;

export const placeholderConfigSchema = z.strictObject({
  /** At least 2 characters: the prefix is what makes scanning every body for placeholders cheap. */
  prefix: z.string().regex(/^[A-Za-z0-9_.-]{2,32}$/, 'prefix is 2 to 32 letters, digits, _ . -'),
  /** Characters after the prefix. */
  length: z.number().int().min(8).max(512),
  alphabet: placeholderAlphabetSchema.optional(),
});
export type PlaceholderConfig = z.infer<typeof placeholderConfigSchema>;

export const providerSchema = z.strictObject({
  /** `env:VAR` (Sluice's own environment) or `file:PATH` (mode must deny group and others). */
  from: z.string().regex(/^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$/, 'must be env:VAR or file:PATH'),
  profile: z.enum(BUILTIN_PROFILE_NAMES).optional(),
  endpoints: z.array(credentialEndpointSchema).min(1).optional(),
  /** Shorthand for endpoints with only a host (port 443). */
  hosts: z.array(credentialEndpointSchema.shape.host).min(1).optional(),
  inject: injectSchema.optional(),
  /** Opt-in: replace placeholders in request bodies (JSON, form, text) sent to this provider's endpoints. */
  body: z.boolean().optional(),
  /** The sandbox environment variable(s) that receive the placeholder. */
  env: z.union([envVarName, z.array(envVarName).min(1)]).optional(),
  placeholder: placeholderConfigSchema.optional(),
});
export type ProviderConfig = z.infer<typeof providerSchema>;

export const providersSchema = z.record(
  z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'provider names are letters, digits, _ . - (at most 64)'),
  providerSchema,
).superRefine((cfg, ctx) => {
  const envOwner = new Map<string, string>();
  for (const [name, provider] of Object.entries(cfg)) {
    const builtin = provider.profile ?? (BUILTIN_PROFILE_NAMES as readonly string[]).includes(name);
    if (!builtin && !provider.endpoints && !provider.hosts) {
      ctx.addIssue({ code: 'custom', path: [name], message: `provider "${name}" is not a built-in profile (${BUILTIN_PROFILE_NAMES.join(', ')}); it needs endpoints or hosts` });
    }
    const names = provider.env === undefined ? [] : Array.isArray(provider.env) ? provider.env : [provider.env];
    for (const env of names) {
      const other = envOwner.get(env);
      if (other !== undefined) ctx.addIssue({ code: 'custom', path: [name, 'env'], message: `providers "${other}" and "${name}" both set ${env}` });
      envOwner.set(env, name);
    }
  }
});
export type ProvidersConfig = z.infer<typeof providersSchema>;
