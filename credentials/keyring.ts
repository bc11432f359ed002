import type { CompiledEndpoint } from './endpoints.js';
import type { MultiMatcher } from './multi-matcher.js';
import { createMultiMatcher } from './multi-matcher.js';
import { compileEndpoint } from './endpoints.js';
import type { PlaceholderShape } from './placeholders.js';
import { shapeTotalLength } from './placeholders.js';
import type { ProviderSpec } from './profiles.js';
import { builtinShapes, resolveProvider } from './profiles.js';
import type { BuiltinProfileName } from './profiles.js';
import type { ProviderConfig, ProvidersConfig } from './schema.js';
import { providersSchema } from './schema.js';
import type { SecretSourceOptions } from './secret-source.js';
import { readSecret } from './secret-source.js';
import type { SecretPattern } from './secret-variants.js';
import { secretVariants } from './secret-variants.js';

export interface Provider extends ProviderSpec {
  /** The real value; undefined when loaded for placeholders only (`sluice env`). */
  secret: string | undefined;
  compiled: CompiledEndpoint[];
  /** Issued only so that an agent finds its key variable: the routes answer its calls (withRouted). */
  routedOnly?: boolean;
}

/** An immutable snapshot of the providers config and its secrets; reload swaps the whole thing. */
export interface Keyring {
  providers: ReadonlyMap<string, Provider>;
  /** Every spelling of every real secret. */
  patterns: readonly SecretPattern[];
  /** One-pass search over `patterns`. */
  matcher: MultiMatcher<SecretPattern>;
  /** Shapes scanned for "ours but not issued here": configured ones plus every built-in. */
  shapes: readonly PlaceholderShape[];
  /** Longest thing a streaming scan must be able to see whole. */
  maxPatternLength: number;
}

// Built-in shapes even with no provider: a placeholder handed out for a routed provider, or one
// whose provider was removed, is still recognised (and refused) wherever it would leave.
export const EMPTY_KEYRING: Keyring = { providers: new Map(), patterns: [], matcher: createMultiMatcher([]), shapes: builtinShapes(), maxPatternLength: Math.max(...builtinShapes().map(shapeTotalLength)) };

export async function buildKeyring(
  config: ProvidersConfig | undefined,
  opts: SecretSourceOptions & { placeholdersOnly?: boolean },
): Promise<Keyring> {
  if (config === undefined || Object.keys(config).length === 0) return EMPTY_KEYRING;
  const parsed = providersSchema.safeParse(config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`providers: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}`);
  }
  const providers = new Map<string, Provider>();
  const envOwner = new Map<string, string>();
  for (const [name, providerConfig] of Object.entries(parsed.data)) {
    const spec = resolveProvider(name, providerConfig);
    for (const env of spec.env) {
      const other = envOwner.get(env);
      if (other !== undefined) throw new Error(`providers "${other}" and "${name}" would both set ${env}; give one of them env:`);
      envOwner.set(env, name);
    }
    const secret = opts.placeholdersOnly ? undefined : await readSecret(name, spec.from, opts);
    providers.set(name, { ...spec, secret, compiled: spec.endpoints.map(compileEndpoint) });
  }

  const patterns: SecretPattern[] = [];
  for (const p of providers.values()) if (p.secret !== undefined) patterns.push(...secretVariants(p.name, p.secret));

  const shapes = new Map<string, PlaceholderShape>();
  for (const shape of [...[...providers.values()].map((p) => p.shape), ...builtinShapes()]) {
    shapes.set(JSON.stringify(shape), shape);
  }
  const maxPatternLength = Math.max(0, ...patterns.map((p) => p.bytes.length), ...[...shapes.values()].map(shapeTotalLength));
  return { providers, patterns, matcher: createMultiMatcher(patterns), shapes: [...shapes.values()], maxPatternLength };
}

/**
 * The keyring plus a provider with no secret for each built-in profile whose calls the routes
 * answer and that no configured provider stands for: its placeholder is issued (an agent finds
 * its key variable set; Claude Code otherwise says "Not logged in"), accepted only on the
 * profile's own endpoints (for OpenAI and Anthropic also the configured LLM `hosts`), where the
 * router answers the call, and never replaced by anything.
 */
export function withRouted(keyring: Keyring, routed: readonly BuiltinProfileName[], hosts: readonly string[] = []): Keyring {
  const taken = new Set([...keyring.providers.values()].flatMap((p) => p.env));
  const extra: Provider[] = [];
  for (const name of routed) {
    if (keyring.providers.has(name)) continue;
    const spec = resolveProvider(name, { from: 'routed' } as ProviderConfig);
    if (spec.env.some((v) => taken.has(v))) continue;
    // Configured LLM hosts serve OpenAI's and Anthropic's shapes: an agent sends those keys there too.
    const endpoints = name === 'openai' || name === 'anthropic' ? [...spec.endpoints, ...hosts.map((host) => ({ host }))] : spec.endpoints;
    extra.push({ ...spec, endpoints, secret: undefined, compiled: endpoints.map(compileEndpoint), routedOnly: true });
  }
  if (extra.length === 0) return keyring;
  return { ...keyring, providers: new Map([...keyring.providers, ...extra.map((p) => [p.name, p] as const)]) };
}
