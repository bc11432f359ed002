/**
 * Built-in entity types. The name is what the policy says (`privacy.redact: [email, …]`) and, upper-cased,
 * the label of a pseudonym (`<EMAIL_1>`).
 */
export const PII_TYPES = ['email', 'phone', 'credit_card', 'us_ssn', 'iban', 'ip_address', 'url_credentials'] as const;

/** Secret types with a recognisable shape (gitleaks / detect-secrets rule families). */
export const TOKEN_TYPES = [
  'aws_access_key',
  'aws_secret_key',
  'github_token',
  'openai_key',
  'anthropic_key',
  'slack_token',
  'stripe_key',
  'google_api_key',
  'jwt',
  'generic_secret',
] as const;

export const SECRET_TYPES = [...TOKEN_TYPES, 'private_key'] as const;

export const BUILTIN_TYPES = [...PII_TYPES, ...SECRET_TYPES] as const;
export type BuiltinType = (typeof BUILTIN_TYPES)[number];

/** Names a policy may use for several types at once. */
export const TYPE_GROUPS: Readonly<Record<string, readonly string[]>> = {
  pii: PII_TYPES,
  api_key: TOKEN_TYPES,
  secrets: SECRET_TYPES,
  ip: ['ip_address'],
  ssn: ['us_ssn'],
};

/**
 * Secrets blocked by default on egress to hosts that are not LLM endpoints. JWTs and generic
 * `password=` assignments are left out: they are routinely sent on purpose (bearer flows, login forms).
 */
export const DEFAULT_EGRESS_TYPES: readonly string[] = [
  'aws_access_key',
  'aws_secret_key',
  'github_token',
  'openai_key',
  'anthropic_key',
  'slack_token',
  'stripe_key',
  'google_api_key',
  'private_key',
];

/** Internal type for placeholder look-alikes already present in the input; never reported in counts. */
export const LITERAL_TYPE = 'placeholder';

export function isKnownTypeName(name: string): boolean {
  return (BUILTIN_TYPES as readonly string[]).includes(name) || name in TYPE_GROUPS;
}

/** Expands group names; unknown names pass through (custom recognizers). */
export function expandTypes(names: readonly string[]): string[] {
  const out = new Set<string>();
  for (const n of names) for (const t of TYPE_GROUPS[n] ?? [n]) out.add(t);
  return [...out];
}

export function labelOf(type: string): string {
  return type.toUpperCase();
}
