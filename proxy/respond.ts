import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { SluiceError, addressRemedy, agentGuidance, isSluiceError, stageRemedy } from '../core/index.js';
import type { Decision, Remedy } from '../core/index.js';

/**
 * The one place that turns errors into wire responses. Everything else throws SluiceError.
 * Bodies carry codes, reasons and names — never secret values (stages guarantee their
 * messages hold none; this file adds nothing but what the error carries).
 */
export interface ErrorBody {
  error: string;
  detail: string;
  reason: string;
  policy?: string;
  rule?: string;
  host?: string;
  port?: number;
  method?: string;
  path?: string;
  /** The policy change that would allow the request, in a sentence; `fix_yaml` shows where it goes. */
  fix?: string;
  fix_yaml?: string;
  /** Words an agent can relay to its human. */
  agent_guidance?: string;
  [key: string]: unknown;
}

export function toSluiceError(err: unknown): SluiceError {
  if (isSluiceError(err)) return err;
  return new SluiceError('SLUICE_INTERNAL', 'internal error in Sluice', { reason: 'an internal error occurred; see the Sluice log' }, { cause: err });
}

export function errorBody(err: SluiceError, where: { host?: string; port?: number; method?: string; path?: string } = {}): ErrorBody {
  const { reason, policy, rule, remedy, ...rest } = err.context;
  const fix = remedy as Remedy | undefined;
  const body: ErrorBody = {
    error: err.bodyCode,
    detail: err.message,
    reason: reason ?? err.message,
    ...(policy !== undefined ? { policy } : {}),
    ...(rule !== undefined ? { rule } : {}),
    ...rest,
    ...(fix ? { fix: fix.summary, ...(fix.yaml ? { fix_yaml: fix.yaml } : {}), agent_guidance: agentGuidance(err.wire, fix) } : {}),
  };
  if (where.host !== undefined) body.host = where.host;
  if (where.port !== undefined) body.port = where.port;
  if (where.method !== undefined) body.method = where.method;
  if (where.path !== undefined) body.path = where.path;
  return body;
}

/**
 * A refusal raised after the policy allowed the host (the SSRF guard's, a stage's) as a decision
 * with its fix, and the error carrying the same for the client. The SSRF guard's and DLP's name
 * the network policy and endpoint that had allowed the host, since the fix is a key of that
 * endpoint (`allowed_ips`, `dlp`). `allowedBy` is the policy's decision for the destination.
 */
export function refusalAfterPolicy(err: SluiceError, allowedBy: Decision | undefined, host?: string): { decision: Decision; error: SluiceError } {
  const reason = String(err.context.reason ?? err.message);
  const by = allowedBy?.action === 'allow' ? allowedBy : undefined;
  const address = typeof err.context.address === 'string' ? err.context.address : undefined;
  const remedy =
    err.code === 'SLUICE_SSRF_BLOCKED' && address !== undefined
      ? addressRemedy({
          host: String(err.context.host ?? address),
          address,
          neverAllowed: err.context.never_allowed === true,
          ...(typeof err.context.range === 'string' ? { rangeLabel: err.context.range } : {}),
          ...(by?.policy ? { policy: by.policy } : {}),
          // A request's rule reads `host:port METHOD /path`; the endpoint is its first word.
          ...(by?.rule ? { rule: by.rule.split(' ')[0]! } : {}),
        })
      : undefined;
  const endpointKey = err.code === 'SLUICE_SSRF_BLOCKED' || err.code === 'SLUICE_DLP_BLOCKED';
  const endpoint = by?.rule?.split(' ')[0];
  const fix =
    (err.context.remedy as Remedy | undefined) ??
    remedy ??
    stageRemedy(err, { host: host ?? String(err.context.host ?? ''), ...(endpointKey && by?.policy ? { policy: by.policy } : {}), ...(endpointKey && endpoint ? { rule: endpoint } : {}) });
  const named = {
    ...(endpointKey && by?.policy ? { policy: by.policy } : {}),
    ...(endpointKey && by?.rule ? { rule: by.rule } : {}),
    ...(err.context.policy !== undefined && !endpointKey ? { policy: String(err.context.policy) } : {}),
    ...(err.context.rule !== undefined && !endpointKey ? { rule: String(err.context.rule) } : {}),
    ...(fix ? { remedy: fix } : {}),
  };
  return {
    decision: { action: 'deny', code: err.wire, reason, ...named },
    error: new SluiceError(err.code, err.message, { ...err.context, ...named }, { cause: err }),
  };
}

/** Errors that mean the request was allowed but could not be completed: not refusals. */
export function isUpstreamFailure(err: SluiceError): boolean {
  return err.code === 'SLUICE_DNS_FAILED' || err.code.startsWith('SLUICE_UPSTREAM');
}

/** RFC 9209 error types, so that clients that cannot show a CONNECT body (curl) still show why. */
const PROXY_STATUS_ERROR: Partial<Record<string, string>> = {
  ssrf_denied: 'destination_ip_prohibited',
  dns_failed: 'dns_error',
  upstream_connect_failed: 'connection_refused',
  upstream_tls_failed: 'tls_certificate_error',
  upstream_timeout: 'connection_timeout',
  upstream_error: 'destination_unavailable',
  bad_request: 'http_request_error',
  path_invalid: 'http_request_error',
  headers_too_large: 'http_request_error',
  host_mismatch: 'http_request_error',
  body_too_large: 'http_request_error',
  encoding_unsupported: 'http_request_error',
  internal_error: 'proxy_internal_error',
  overloaded: 'connection_limit_reached',
};

/** `Proxy-Status: sluice; error=…; details="…"` — details as an sf-string (printable ASCII). */
export function proxyStatus(err: SluiceError): string {
  const reason = String(err.context.reason ?? err.message)
    .replace(/[^\x20-\x7e]/g, '?')
    .replace(/[\\"]/g, (c) => `\\${c}`)
    .slice(0, 400);
  return `sluice; error=${PROXY_STATUS_ERROR[err.wire] ?? 'http_request_denied'}; details="${err.wire}: ${reason}"`;
}

function serialise(err: SluiceError, where: Parameters<typeof errorBody>[1]): { payload: string; headers: Record<string, string | number> } {
  const payload = `${JSON.stringify(errorBody(err, where))}\n`;
  return {
    payload,
    headers: {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(payload),
      'x-sluice-error': err.wire,
      'proxy-status': proxyStatus(err),
      'cache-control': 'no-store',
      ...(typeof err.context.retryAfter === 'number' ? { 'retry-after': String(err.context.retryAfter) } : {}),
      ...(err.status === 407 ? { 'proxy-authenticate': 'Basic realm="sluice"' } : {}),
    },
  };
}

/** Answers an HTTP request (plain or intercepted) with the JSON error. */
export function sendError(res: http.ServerResponse, err: unknown, where: Parameters<typeof errorBody>[1] = {}): void {
  const e = toSluiceError(err);
  if (res.headersSent) {
    // Too late for a status line: cut the response so the client sees an error, not a truncated success.
    res.destroy(e);
    return;
  }
  const { payload, headers } = serialise(e, where);
  res.writeHead(e.status, headers);
  res.end(payload);
}

/** Answers a CONNECT (or a request on a raw socket) before any tunnel opens, then closes. */
export function sendRawError(socket: Duplex, err: unknown, where: Parameters<typeof errorBody>[1] = {}): void {
  const e = toSluiceError(err);
  if (socket.destroyed || !socket.writable) return;
  const { payload, headers } = serialise(e, where);
  const reasonPhrase = STATUS_TEXT[e.status] ?? 'Error';
  let head = `HTTP/1.1 ${e.status} ${reasonPhrase}\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  head += 'connection: close\r\n\r\n';
  socket.end(head + payload);
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  407: 'Proxy Authentication Required',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  421: 'Misdirected Request',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};
