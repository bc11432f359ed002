import type { PlaceholderShape } from './placeholders.js';
import { MIN_PLACEHOLDER_BITS, randomBits } from './placeholders.js';
import type { CredentialEndpointConfig, InjectConfig, ProviderConfig } from './schema.js';
import { BUILTIN_PROFILE_NAMES } from './schema.js';

export type BuiltinProfileName = (typeof BUILTIN_PROFILE_NAMES)[number];

export interface Profile {
  endpoints: CredentialEndpointConfig[];
  inject: InjectConfig;
  /** Headers besides `inject`'s in which the provider's own SDKs send the key. */
  alsoHeaders?: string[];
  env: string[];
  shape: PlaceholderShape;
}

const bearer: InjectConfig = { header: 'authorization', format: 'Bearer {}' };

/**
 * Key shapes as the providers issue them (checked against public secret-scanner rules):
 * OpenAI project keys `sk-proj-` + 156 base64url chars; Anthropic `sk-ant-api03-` + 93 + `AA`;
 * Google `AIza` + 35; NVIDIA `nvapi-` + 64; GitHub/npm `ghp_`/`npm_` + 30 base62 + 6 base62 CRC32;
 * GitHub fine-grained `github_pat_` + 82 (gitleaks' `github_pat_\w{82}`; GitHub puts a `_` after
 * the 22nd); Hugging Face
 * `hf_` + 34 letters. GitLab's classic `glpat-` + 20 cannot carry 128 random bits, so the
 * placeholder takes the length of GitLab's routable tokens (37 after the prefix) instead.
 */
export const BUILTIN_PROFILES: Record<BuiltinProfileName, Profile> = {
  openai: {
    endpoints: [{ host: 'api.openai.com' }],
    inject: bearer,
    // Codex's `exec` reads CODEX_API_KEY, not OPENAI_API_KEY.
    env: ['OPENAI_API_KEY', 'CODEX_API_KEY'],
    shape: { prefix: 'sk-proj-', length: 156, alphabet: 'base64url' },
  },
  anthropic: {
    endpoints: [{ host: 'api.anthropic.com' }],
    // The SDK sends x-api-key, or Authorization: Bearer with an auth token; both are replaced.
    inject: { header: 'x-api-key' },
    alsoHeaders: ['authorization'],
    env: ['ANTHROPIC_API_KEY'],
    shape: { prefix: 'sk-ant-api03-', length: 95, alphabet: 'base64url', suffix: 'AA' },
  },
  gemini: {
    endpoints: [{ host: 'generativelanguage.googleapis.com' }],
    // The Gemini SDKs send x-goog-api-key; a `?key=` query carries the placeholder too and is replaced there.
    inject: { header: 'x-goog-api-key' },
    // GEMINI_API_KEY is what Gemini CLI and Google's genai SDKs read (GOOGLE_API_KEY as well, with a warning when both are set).
    env: ['GEMINI_API_KEY'],
    shape: { prefix: 'AIza', length: 35, alphabet: 'base64url' },
  },
  nvidia: {
    endpoints: [{ host: 'integrate.api.nvidia.com' }, { host: 'ai.api.nvidia.com' }, { host: 'build.nvidia.com' }],
    inject: bearer,
    env: ['NVIDIA_API_KEY'],
    shape: { prefix: 'nvapi-', length: 64, alphabet: 'base64url' },
  },
  github: {
    endpoints: [{ host: 'api.github.com' }, { host: 'github.com' }, { host: 'uploads.github.com' }, { host: 'raw.githubusercontent.com' }],
    inject: bearer,
    env: ['GITHUB_TOKEN', 'GH_TOKEN'],
    shape: { prefix: 'ghp_', length: 36, alphabet: 'alnum', checksum: 'crc32' },
  },
  // A GitHub token as GitHub Copilot's clients (Copilot CLI, OpenClaw) use it: only toward Copilot's
  // session endpoints on api.github.com and its model hosts, never the rest of GitHub's API. Copilot
  // CLI refuses classic ghp_ tokens before any request, so the placeholder is fine-grained-shaped.
  copilot: {
    endpoints: [{ host: 'api.github.com', path: '/copilot_internal/**' }, { host: '**.githubcopilot.com' }],
    inject: bearer,
    // Copilot CLI reads COPILOT_GITHUB_TOKEN before GH_TOKEN and GITHUB_TOKEN (the github profile's); OpenClaw only it.
    env: ['COPILOT_GITHUB_TOKEN'],
    shape: { prefix: 'github_pat_', length: 82, alphabet: 'alnum' },
  },
  gitlab: {
    endpoints: [{ host: 'gitlab.com' }],
    inject: bearer,
    env: ['GITLAB_TOKEN'],
    shape: { prefix: 'glpat-', length: 37, alphabet: 'base64url' },
  },
  huggingface: {
    endpoints: [{ host: 'huggingface.co' }, { host: 'hf.co' }],
    inject: bearer,
    env: ['HF_TOKEN'],
    shape: { prefix: 'hf_', length: 34, alphabet: 'alpha' },
  },
  npm: {
    endpoints: [{ host: 'registry.npmjs.org' }],
    inject: bearer,
    env: ['NPM_TOKEN'],
    shape: { prefix: 'npm_', length: 36, alphabet: 'alnum', checksum: 'crc32' },
  },
};

const DEFAULT_SHAPE: PlaceholderShape = { prefix: 'sk-', length: 48, alphabet: 'alnum' };

/**
 * Where a placeholder is replaced by the real value: the configured `inject` point and nowhere
 * else. Header names are lowercase; `authorization` includes its Basic-decoded user and password.
 */
export interface InjectionPoints {
  headers: ReadonlySet<string>;
  query?: string;
  path: boolean;
}

/** A provider with its profile applied; everything but the secret. */
export interface ProviderSpec {
  name: string;
  from: string;
  endpoints: CredentialEndpointConfig[];
  inject: InjectConfig;
  injectsAt: InjectionPoints;
  body: boolean;
  env: string[];
  shape: PlaceholderShape;
}

export function isBuiltinProfile(name: string): name is BuiltinProfileName {
  return (BUILTIN_PROFILE_NAMES as readonly string[]).includes(name);
}

/** Applies the built-in profile (if any) and defaults; throws a message naming the provider on nonsense. */
export function resolveProvider(name: string, config: ProviderConfig): ProviderSpec {
  const profileName = config.profile ?? (isBuiltinProfile(name) ? name : undefined);
  const profile = profileName ? BUILTIN_PROFILES[profileName] : undefined;

  const explicit = [...(config.endpoints ?? []), ...(config.hosts ?? []).map((host) => ({ host }))];
  const endpoints = explicit.length > 0 ? explicit : profile?.endpoints ?? [];
  if (endpoints.length === 0) throw new Error(`provider "${name}": no endpoints (add endpoints or hosts)`);

  const shape: PlaceholderShape = config.placeholder
    ? { prefix: config.placeholder.prefix, length: config.placeholder.length, alphabet: config.placeholder.alphabet ?? 'alnum' }
    : profile?.shape ?? DEFAULT_SHAPE;
  if (randomBits(shape) < MIN_PLACEHOLDER_BITS) {
    throw new Error(`provider "${name}": placeholder too short to be unguessable (${Math.floor(randomBits(shape))} random bits, need ${MIN_PLACEHOLDER_BITS}); raise placeholder.length`);
  }

  let env: string[];
  if (config.env !== undefined) env = Array.isArray(config.env) ? config.env : [config.env];
  else if (profile && profileName === name) env = profile.env;
  else if (config.from.startsWith('env:')) env = [config.from.slice(4)];
  else env = [`${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_TOKEN`];

  let inject = config.inject ?? profile?.inject ?? bearer;
  if ('header' in inject && inject.format === undefined) {
    inject = { header: inject.header, format: inject.header.toLowerCase() === 'authorization' ? 'Bearer {}' : '{}' };
  }

  const headers = new Set<string>();
  if ('header' in inject) headers.add(inject.header.toLowerCase());
  if ('basic' in inject) headers.add('authorization');
  if (config.inject === undefined) for (const h of profile?.alsoHeaders ?? []) headers.add(h);
  const injectsAt: InjectionPoints = { headers, path: 'path' in inject, ...('query' in inject ? { query: inject.query } : {}) };

  return { name, from: config.from, endpoints, inject, injectsAt, body: config.body ?? false, env, shape };
}

/** Says where a provider's placeholder may be replaced, for refusals. */
export function describeInjectionPoints(points: InjectionPoints): string {
  const places = [...[...points.headers].map((h) => `header ${h}`), ...(points.query !== undefined ? [`query parameter ${points.query}`] : []), ...(points.path ? ['path segments'] : [])];
  return places.length ? places.join(', ') : 'the request body only';
}

/** Every built-in shape, so a revoked built-in provider's placeholders are still recognised. */
export function builtinShapes(): PlaceholderShape[] {
  return Object.values(BUILTIN_PROFILES).map((p) => p.shape);
}
