/**
 * app/: the composition root. Builds a Sluice from a policy (the stages in order, the listener,
 * reload); the only module that knows every other one.
 */
export { startSluice, PolicyLoadError, loadPolicy } from './sluice.js';
export type { Sluice, SluiceOptions } from './sluice.js';
export type { ReloadResult, Tenant, TenantOptions } from './tenant.js';
export type { Runtime, RuntimeOptions } from './runtime.js';
export type { Pipeline, PipelineOptions } from './pipeline.js';
export { startGateway } from './gateway.js';
export type { Gateway, GatewayOptions } from './gateway.js';
export { sluiceVersion } from './version.js';
export { explain } from './explain.js';
export { effectiveInference, routedKeys } from './inference.js';
export type { RoutedKeys } from './inference.js';
export type { ExplainOptions, Explanation } from './explain.js';
