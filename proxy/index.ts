export { startSluice, PolicyLoadError } from './sluice.js';
export type { Sluice, SluiceOptions, ReloadResult } from './sluice.js';
export type { Stage, RequestContext, ConnectContext, BodyFilter, StageResponse, ResponseHead } from './stage.js';
export { createResolver, checkAddress, CONTROL_PLANE_PORTS } from './ssrf.js';
export { embeddedIPv4, embeddedIPv4s } from './embedded-ipv4.js';
export type { Resolver, ResolvedAddress } from './ssrf.js';
export { DEFAULT_LIMITS } from './server.js';
export type { ProxyLimits } from './server.js';
export { filterStream, filterBuffer } from './body-filters.js';
