/**
 * gateway/: the control-plane API (unix socket, or TCP with TLS and bearer tokens), the
 * lifecycle of sandboxes with a proxy listener and a policy each, and the event stream.
 * app/gateway.ts composes it with a runtime; cli/ talks to it over the socket.
 *
 * To add endpoints (metrics, a dashboard): give `startGateway` extra `Route`s (route.ts); they
 * get the same authentication, scopes, audit and OpenAPI entry as the built-in ones. To read
 * events: `createEventStream` (SSE over the bus) or GET /v1/events.
 */
export { createApiServer } from './api-server.js';
export type { ApiServer, ApiServerOptions } from './api-server.js';
export type { ApiReply, ApiRequest, Caller, Method, Route, Scope } from './route.js';
export { gatewayRoutes, sandboxView } from './routes.js';
export type { DefaultPolicy, RouteContext } from './routes.js';
export { openApiDocument, openApiRoute, OPENAPI_PATH } from './openapi.js';
export { createEventStream, parseFilter, matches, verdictOf, EVENT_TYPES } from './event-stream.js';
export type { EventFilter, EventStream } from './event-stream.js';
export { createMetrics, METRICS_CONTENT_TYPE, METRICS_PATH } from './metrics.js';
export { observeRoutes } from './observe-routes.js';
export { dashboardRoutes, dashboardDir, DASHBOARD_PATH } from './dashboard-routes.js';
export type { ObserveContext } from './observe-routes.js';
export type { Metrics, MetricsSource } from './metrics.js';
export { createSandboxManager } from './sandbox-manager.js';
export type { CreateSpec, ManagerOptions, SandboxListener, SandboxManager, StartListener } from './sandbox-manager.js';
export { createFrameParser, frame, STDOUT, STDERR, SYSTEM } from './output-log.js';
export { STATIC_SECTIONS, DYNAMIC_SECTIONS, changedStaticSections, sandboxLimits } from './policy-sections.js';
export { createToken, listTokens, revokeToken, verifyToken, tokensDir } from './tokens.js';
export type { TokenInfo, TokenScope } from './tokens.js';
export { acquireGatewayLock, gatewayDir, socketPathFor, socketAnswers } from './gateway-lock.js';
export type { GatewayLock } from './gateway-lock.js';
export type { SandboxRecord, SandboxState } from './records.js';
export * as schemas from './schemas.js';
