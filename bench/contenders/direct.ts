import type { Contender } from './contender.js';

/** The baseline: the same client straight to the upstream, no proxy. */
export function createDirectContender(): Contender {
  return {
    name: 'direct',
    capabilities: new Set(['tunnel', 'intercept', 'http']),
    missingReason: '',
    unavailable: async () => undefined,
    start: async () => ({ name: 'direct', close: async () => undefined }),
  };
}
