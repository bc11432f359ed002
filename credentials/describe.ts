import { resolveProvider } from './profiles.js';
import type { ProvidersConfig } from './schema.js';

/** What a provider binds, for the gateway's API and `sluice`: every field but the secret. */
export interface ProviderBinding {
  name: string;
  /** Where the secret is read: `env:VAR` or `file:PATH` (a reference, never the value). */
  from: string;
  /** Sandbox variables that receive the placeholder. */
  env: string[];
  endpoints: Array<{ host: string; port?: number; ports?: number[]; path?: string }>;
  /** Where the real value is written: a header name, basic auth, or a query parameter name. */
  inject: { header: string } | { basic: true } | { query: string } | { path: true };
  placeholderPrefix: string;
  body: boolean;
}

export function describeProviders(config: ProvidersConfig | undefined): ProviderBinding[] {
  return Object.entries(config ?? {}).map(([name, provider]) => {
    const spec = resolveProvider(name, provider);
    const inject = 'header' in spec.inject ? { header: spec.inject.header } : 'basic' in spec.inject ? { basic: true as const } : 'query' in spec.inject ? { query: spec.inject.query } : { path: true as const };
    return { name, from: spec.from, env: spec.env, endpoints: spec.endpoints, inject, placeholderPrefix: spec.shape.prefix, body: spec.body };
  });
}
