import type {
  ConnectEvent,
  FindingEvent,
  LlmCallEvent,
  PolicyEvent,
  RequestEvent,
  SluiceEvent,
  UpstreamErrorEvent,
} from '../../core/index.js';

/** One event of every kind, as the proxy and its stages emit them. */
export const T0 = Date.parse('2026-03-01T12:00:00.000Z');

export const connectAllowed: ConnectEvent = {
  type: 'connect',
  time: T0,
  src: { ip: '127.0.0.1', port: 50_000 },
  dst: { host: 'api.github.com', ip: '140.82.112.6', port: 443 },
  decision: { action: 'allow', code: 'allowed', policy: 'github', rule: 'api.github.com:443', reason: 'endpoint api.github.com:443 of policy github' },
  mode: 'intercept',
};

export const connectDenied: ConnectEvent = {
  type: 'connect',
  time: T0 + 1,
  src: { ip: '127.0.0.1', port: 50_001 },
  dst: { host: 'evil.example', port: 443 },
  decision: { action: 'deny', code: 'policy_denied', reason: 'no policy allows evil.example:443' },
};

export const connectSsrf: ConnectEvent = {
  type: 'connect',
  time: T0 + 2,
  src: { ip: '127.0.0.1', port: 50_002 },
  dst: { host: '169.254.169.254', port: 80 },
  decision: { action: 'deny', code: 'ssrf_denied', reason: '169.254.169.254 is link-local' },
};

export const requestAllowed: RequestEvent = {
  type: 'request',
  time: T0 + 3,
  src: { ip: '127.0.0.1', port: 50_000 },
  dst: { host: 'api.github.com', port: 443 },
  method: 'GET',
  // A stage that forgot to strip the query: the audit log must still never write it.
  path: '/repos/o/r?access_token=SECRET123#frag',
  scheme: 'https',
  decision: { action: 'allow', code: 'allowed', policy: 'github', rule: 'GET /repos/**', reason: 'GET /repos/o/r?access_token=SECRET123 matches read-only' },
  status: 200,
  durationMs: 12.4,
};

export const requestDenied: RequestEvent = {
  type: 'request',
  time: T0 + 4,
  src: { ip: '127.0.0.1', port: 50_000 },
  dst: { host: 'api.github.com', port: 443 },
  method: 'POST',
  path: '/repos/o/r/issues',
  scheme: 'https',
  decision: { action: 'deny', code: 'l7_denied', policy: 'github', rule: 'access: read-only', reason: 'POST is not allowed by read-only access' },
  status: 403,
};

export const requestAudited: RequestEvent = {
  type: 'request',
  time: T0 + 5,
  src: { ip: '127.0.0.1', port: 50_003 },
  dst: { host: 'pkgs.example.com', port: 443 },
  method: 'PROPFIND',
  path: '/simple/',
  scheme: 'https',
  decision: { action: 'allow', code: 'l7_denied', audited: true, policy: 'pkgs', reason: 'PROPFIND would be denied (enforcement: audit)' },
};

export const policyLoaded: PolicyEvent = { type: 'policy', time: T0 + 6, activity: 'loaded', file: '/etc/sluice/policy.yaml', reason: '3 policies, 7 endpoints' };

export const policyRejected: PolicyEvent = {
  type: 'policy',
  time: T0 + 7,
  activity: 'rejected',
  file: '/etc/sluice/policy.yaml',
  reason: 'invalid policy; keeping the previous one',
  errors: ['policy.yaml:3:5: unknown key "hots"', 'policy.yaml:9:1: bad value\nwith a newline'],
};

export const upstreamError: UpstreamErrorEvent = {
  type: 'upstream_error',
  time: T0 + 8,
  src: { ip: '127.0.0.1', port: 50_004 },
  dst: { host: 'self-signed.example', ip: '127.0.0.2', port: 443 },
  code: 'upstream_tls_failed',
  reason: 'certificate verify failed: self-signed certificate',
};

export const llmCall: LlmCallEvent = {
  type: 'llm_call',
  time: T0 + 9,
  src: { ip: '127.0.0.1', port: 50_005 },
  dst: { host: 'api.openai.com', port: 443 },
  path: '/v1/chat/completions?api-version=1',
  api: 'openai-chat',
  requestedModel: 'gpt-4o',
  backend: 'local',
  backendModel: 'qwen3:8b',
  route: 'default',
  action: 'route',
  stream: true,
  status: 200,
  inputTokens: 120,
  outputTokens: 48,
  ttftMs: 80,
  durationMs: 950,
  redactions: { email: 2 },
};

export const finding: FindingEvent = {
  type: 'finding',
  time: T0 + 10,
  src: { ip: '127.0.0.1', port: 50_006 },
  dst: { host: 'paste.example', port: 443 },
  kind: 'credential_endpoint_mismatch',
  subjects: ['github'],
  action: 'blocked',
  reason: 'placeholder for github sent to paste.example',
};

export const allEvents: SluiceEvent[] = [
  connectAllowed,
  connectDenied,
  connectSsrf,
  requestAllowed,
  requestDenied,
  requestAudited,
  policyLoaded,
  policyRejected,
  upstreamError,
  llmCall,
  finding,
];
