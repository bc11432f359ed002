import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);

/**
 * A dependency required on first use and kept: large libraries (ws, graphql, dockerode; undici through core/undici.ts)
 * that an idle Sluice, or a command that never needs them, should not carry. The getter is called
 * on request paths, so the module is looked up once, not resolved again per call.
 */
export function lazyModule<T>(specifier: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= load(specifier) as T);
}
