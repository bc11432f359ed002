export { createProxyServer, DEFAULT_LIMITS } from './server.js';
export type { ProxyServer, ProxyServerOptions, ProxyLimits } from './server.js';
export { createForwarder } from './forward.js';
export type { Forwarder } from './forward.js';
export { createResolver, checkAddress, CONTROL_PLANE_PORTS } from './ssrf.js';
export { embeddedIPv4, embeddedIPv4s } from './embedded-ipv4.js';
export type { Resolver, ResolvedAddress } from './ssrf.js';
export { filterStream, filterBuffer } from './body-filters.js';
