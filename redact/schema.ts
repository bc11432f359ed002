import RE2 from 're2';
import { z } from 'zod';
import { BUILTIN_TYPES, isKnownTypeName } from './entities.js';

/**
 * `privacy:` section of the policy file (owned by redact/).
 *
 * ```yaml
 * privacy:
 *   redact: [email, phone, credit_card, api_key, private_key]   # or `all` (the default)
 *   mode: pseudonymize          # default operator: pseudonymize | mask | hash | remove | block
 *   operators:                  # per entity type (or group), overrides `mode`
 *     credit_card: mask
 *     private_key: block        # the request is refused (403 naming the types, never the values)
 *   allow: [support@example.com]   # values never redacted (case-insensitive, exact)
 *   threshold: 0.5              # minimum recognizer score (context words add 0.35)
 *   recognizers:                # custom recognizers, always active
 *     - { name: employee_id, pattern: 'EMP-[0-9]{6}', context: [employee], score: 0.9 }
 *     - { name: account, pattern: '[0-9]{12}', validator: luhn }
 *   egress:                     # DLP on requests to hosts that are not LLM endpoints
 *     default: block            # block | redact | off
 *     types: [api_key, private_key]
 *   vault: { max_conversations: 1000, max_entries: 10000, ttl_seconds: 3600 }
 * ```
 *
 * Entity types: email, phone, credit_card, us_ssn, iban, ip_address, url_credentials, aws_access_key,
 * aws_secret_key, github_token, openai_key, anthropic_key, slack_token, stripe_key, google_api_key, jwt,
 * generic_secret, private_key. Groups: pii, api_key (every token type), secrets (api_key + private_key), ip, ssn.
 * Custom recognizer names are entity types too (placeholder label = upper-cased name).
 */
export const OPERATORS = ['pseudonymize', 'mask', 'hash', 'remove', 'block'] as const;
export type Operator = (typeof OPERATORS)[number];

export const VALIDATORS = ['luhn', 'iban', 'us_ssn', 'entropy'] as const;
export type ValidatorName = (typeof VALIDATORS)[number];

/** A pattern re2 cannot compile (or that matches the empty string) is a policy error, with its location. */
const re2Pattern = z
  .string()
  .min(1)
  .max(4096)
  .superRefine((pattern, ctx) => {
    let re: RE2;
    try {
      re = new RE2(pattern, 'u');
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `re2 cannot compile this pattern: ${(err as Error).message}` });
      return;
    }
    if (re.test('')) ctx.addIssue({ code: 'custom', message: 'pattern matches the empty string' });
  });

export const recognizerSchema = z.strictObject({
  /** Entity type name: lower-case, digits and `_`. */
  name: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,39}$/, 'lower-case letters, digits and _ (starting with a letter)')
    .refine((n) => !isKnownTypeName(n) && n !== 'placeholder', 'name is a built-in entity type or group'),
  /** RE2 syntax; `(?i)` for case-insensitive. */
  pattern: re2Pattern,
  validator: z.enum(VALIDATORS).optional(),
  /** Words that raise the score when they appear shortly before the value. */
  context: z.array(z.string().min(1).max(64)).max(64).optional(),
  /** 0..1, default 0.85. */
  score: z.number().min(0).max(1).optional(),
});
export type RecognizerConfig = z.infer<typeof recognizerSchema>;

const typeName = z.string().min(1).max(64);

export const privacySchema = z
  .strictObject({
    redact: z.union([z.literal('all'), z.array(typeName)]).optional(),
    mode: z.enum(OPERATORS).optional(),
    operators: z.record(typeName, z.enum(OPERATORS)).optional(),
    allow: z.array(z.string().min(1)).optional(),
    threshold: z.number().min(0).max(1).optional(),
    recognizers: z.array(recognizerSchema).max(256).optional(),
    egress: z
      .strictObject({
        default: z.enum(['block', 'redact', 'off']).optional(),
        types: z.array(typeName).optional(),
      })
      .optional(),
    vault: z
      .strictObject({
        max_conversations: z.number().int().min(1).max(1_000_000).optional(),
        max_entries: z.number().int().min(1).max(1_000_000).optional(),
        ttl_seconds: z.number().int().min(1).max(7 * 24 * 3600).optional(),
      })
      .optional(),
  })
  .superRefine((cfg, ctx) => {
    const custom = new Set((cfg.recognizers ?? []).map((r) => r.name));
    const known = (n: string) => isKnownTypeName(n) || custom.has(n);
    const hint = `known: ${BUILTIN_TYPES.join(', ')}, pii, api_key, secrets`;
    if (Array.isArray(cfg.redact)) {
      cfg.redact.forEach((n, i) => {
        if (!known(n)) ctx.addIssue({ code: 'custom', path: ['redact', i], message: `unknown entity type "${n}" (${hint})` });
      });
    }
    for (const n of Object.keys(cfg.operators ?? {})) {
      if (!known(n)) ctx.addIssue({ code: 'custom', path: ['operators', n], message: `unknown entity type "${n}" (${hint})` });
    }
    (cfg.egress?.types ?? []).forEach((n, i) => {
      if (!known(n)) ctx.addIssue({ code: 'custom', path: ['egress', 'types', i], message: `unknown entity type "${n}" (${hint})` });
    });
    const seen = new Set<string>();
    (cfg.recognizers ?? []).forEach((r, i) => {
      if (seen.has(r.name)) ctx.addIssue({ code: 'custom', path: ['recognizers', i, 'name'], message: `duplicate recognizer "${r.name}"` });
      seen.add(r.name);
    });
  });

export type PrivacyConfig = z.infer<typeof privacySchema>;
