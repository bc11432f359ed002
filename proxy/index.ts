export { createProxyServer, DEFAULT_LIMITS } from './server.js';
export type { ProxyServer, ProxyServerOptions, ProxyLimits } from './server.js';
export { createForwarder } from './forward.js';
export type { Forwarder } from './forward.js';
export { createResolver, checkAddress, embeddedIPv4 } from './ssrf.js';
export type { Resolver, ResolvedAddress } from './ssrf.js';
export { filterStream, filterBuffer } from './body-filters.js';
