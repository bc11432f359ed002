import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A Node addon of Sluice's own, when it loaded, and why it did or did not. */
export interface LoadedAddon<T> {
  readonly addon?: T;
  readonly reason: string;
}

/**
 * Loads `build/Release/<name>.node`, built by `npm install` (binding.gyp), looked for from the
 * calling module's folder up to the package root (sources run by tsx, or dist/). Never throws:
 * callers keep a JavaScript path for when it is missing. SLUICE_NATIVE_COLLECTOR=0 turns every
 * addon off (tests compare the two paths; workers that must not load them set it).
 */
export function loadAddon<T>(name: string, fromUrl: string): LoadedAddon<T> {
  const addon = join('build', 'Release', `${name}.node`);
  if (process.env.SLUICE_NATIVE_COLLECTOR === '0') return { reason: 'disabled by SLUICE_NATIVE_COLLECTOR=0' };
  let dir = dirname(fileURLToPath(fromUrl));
  for (let i = 0; i < 4; i++, dir = dirname(dir)) {
    const file = join(dir, addon);
    if (!existsSync(file)) continue;
    try {
      return { addon: createRequire(fromUrl)(file) as T, reason: `loaded ${file}` };
    } catch (err) {
      return { reason: `${file} did not load: ${(err as Error).message}` };
    }
  }
  return { reason: `${addon} not built (npm install builds it; needs a C++ compiler)` };
}

/** `loadAddon`, done on the first call and kept: what each addon's accessor is. */
export function lazyAddon<T>(name: string, fromUrl: string): () => LoadedAddon<T> {
  let loaded: LoadedAddon<T> | undefined;
  return () => (loaded ??= loadAddon<T>(name, fromUrl));
}
