import type * as Undici from 'undici';
import { lazyModule } from './lazy-module.js';

/** The part of undici the proxy's forwarder and the router's backends use. */
export interface UndiciPool {
  Pool: typeof Undici.Pool;
  buildConnector: typeof Undici.buildConnector;
}

const dispatcher = lazyModule<{ prototype: object }>('undici/lib/dispatcher/dispatcher.js');
const api = lazyModule<object>('undici/lib/api/index.js');
const pool = lazyModule<typeof Undici.Pool>('undici/lib/dispatcher/pool.js');
const connector = lazyModule<typeof Undici.buildConnector>('undici/lib/core/connect.js');

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
  // What undici's index does on load: request(), stream(), pipeline(), upgrade() and connect() are methods of
  // every dispatcher. Done again if the index is loaded too (a client in the same process): the same functions.
  const proto = dispatcher().prototype;
  if (!('request' in proto)) Object.assign(proto, api());
  return (loaded = { Pool: pool(), buildConnector: connector() });
}
