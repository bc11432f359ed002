import { createRequire } from 'node:module';
import type * as Undici from 'undici';

/** The part of undici the proxy's forwarder and the router's backends use. */
export interface UndiciPool {
  Pool: typeof Undici.Pool;
  buildConnector: typeof Undici.buildConnector;
}

let loaded: UndiciPool | undefined;

/**
 * undici's connection pool (with its request API) and its connector, required on first use: the package's index
 * also loads fetch, WebSocket, EventSource, the cache and mock agents and the interceptors — 110 modules, ~70 ms
 * of compiling and ~6 MB of heap on the event loop of the first request that needed a pool, stalling every
 * other connection meanwhile; these are 30 modules, ~23 ms and ~2.5 MB. The files are undici's own (it has no
 * exports map); the pinned version's layout is what the forwarding tests run.
 */
export function undiciPool(): UndiciPool {
  if (loaded) return loaded;
  const load = createRequire(import.meta.url);
  const Dispatcher = load('undici/lib/dispatcher/dispatcher.js') as { prototype: object };
  const api = load('undici/lib/api/index.js') as object;
  // What undici's index does on load: request(), stream(), pipeline(), upgrade() and connect() are methods of
  // every dispatcher. Done again if the index is loaded too (a client in the same process): the same functions.
  if (!('request' in Dispatcher.prototype)) Object.assign(Dispatcher.prototype, api);
  return (loaded = {
    Pool: load('undici/lib/dispatcher/pool.js') as typeof Undici.Pool,
    buildConnector: load('undici/lib/core/connect.js') as typeof Undici.buildConnector,
  });
}
