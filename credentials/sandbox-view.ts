import type { Keyring, Provider } from './keyring.js';
import type { PlaceholderFinder } from './placeholder-finder.js';
import { createPlaceholderFinder } from './placeholder-finder.js';
import type { PlaceholderMinter } from './placeholders.js';

/** What one sandbox holds: its placeholders, and a finder that knows which are its own. */
export interface SandboxView {
  sandbox: string;
  placeholderOf: ReadonlyMap<string, string>;
  issued: ReadonlyMap<string, Provider>;
  finder: PlaceholderFinder;
}

/** Sandbox names come from clients; the cache is bounded so that many names cannot grow it. */
const MAX_CACHED_VIEWS = 256;

export function createViewCache(minter: PlaceholderMinter): { viewFor(keyring: Keyring, sandbox: string): SandboxView } {
  let cachedFor: Keyring | undefined;
  const views = new Map<string, SandboxView>();
  return {
    viewFor(keyring, sandbox) {
      if (cachedFor !== keyring) {
        views.clear();
        cachedFor = keyring;
      }
      let view = views.get(sandbox);
      if (view) return view;
      const placeholderOf = new Map<string, string>();
      const issued = new Map<string, Provider>();
      for (const provider of keyring.providers.values()) {
        const placeholder = minter.mint(provider.shape, provider.name, sandbox);
        placeholderOf.set(provider.name, placeholder);
        issued.set(placeholder, provider);
      }
      view = { sandbox, placeholderOf, issued, finder: createPlaceholderFinder(keyring.shapes, issued, minter) };
      if (views.size >= MAX_CACHED_VIEWS) views.delete(views.keys().next().value!);
      views.set(sandbox, view);
      return view;
    },
  };
}
