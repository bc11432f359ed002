/**
 * Every error Sluice turns into a response carries a stable code (like undici's UND_ERR_*).
 * Other code throws these; only proxy/respond.ts writes status lines. `wire` is Sluice's own code
 * (the X-Sluice-Error header, the audit log); `error`, when set, is the body's `error` field where
 * OpenShell, whose denials agents and skills already parse, names it differently.
 */
export const ERROR_CODES = {
  SLUICE_POLICY_DENIED: { status: 403, wire: 'policy_denied' },
  SLUICE_L7_DENIED: { status: 403, wire: 'l7_denied', error: 'policy_denied' },
  SLUICE_MIDDLEWARE_UNAVAILABLE: { status: 403, wire: 'middleware_unavailable', error: 'middleware_failed' },
  SLUICE_SSRF_BLOCKED: { status: 403, wire: 'ssrf_denied' },
  SLUICE_HOST_MISMATCH: { status: 421, wire: 'host_mismatch' },
  SLUICE_PATH_INVALID: { status: 400, wire: 'path_invalid' },
  SLUICE_BAD_REQUEST: { status: 400, wire: 'bad_request' },
  SLUICE_HEADERS_TOO_LARGE: { status: 431, wire: 'headers_too_large' },
  SLUICE_BODY_TOO_LARGE: { status: 413, wire: 'body_too_large' },
  SLUICE_ENCODING_UNSUPPORTED: { status: 415, wire: 'encoding_unsupported' },
  SLUICE_DNS_FAILED: { status: 502, wire: 'dns_failed' },
  SLUICE_UPSTREAM_CONNECT: { status: 502, wire: 'upstream_connect_failed' },
  SLUICE_UPSTREAM_TLS: { status: 502, wire: 'upstream_tls_failed' },
  SLUICE_UPSTREAM_TIMEOUT: { status: 504, wire: 'upstream_timeout' },
  SLUICE_UPSTREAM_ERROR: { status: 502, wire: 'upstream_error' },
  SLUICE_CREDENTIAL_MISMATCH: { status: 403, wire: 'credential_endpoint_mismatch' },
  SLUICE_CREDENTIAL_UNKNOWN: { status: 403, wire: 'credential_unknown' },
  SLUICE_SECRET_EXFILTRATION: { status: 403, wire: 'secret_exfiltration' },
  SLUICE_REDACTION_BLOCKED: { status: 403, wire: 'redaction_blocked' },
  SLUICE_DLP_BLOCKED: { status: 403, wire: 'dlp_blocked' },
  SLUICE_ROUTE_DENIED: { status: 403, wire: 'route_denied' },
  /** A request on an LLM host that is not a call the router recognises, and that nothing lets out. */
  SLUICE_LLM_UNRECOGNISED: { status: 403, wire: 'llm_unrecognised' },
  SLUICE_BACKEND_UNAVAILABLE: { status: 503, wire: 'backend_unavailable' },
  SLUICE_OVERLOADED: { status: 503, wire: 'overloaded' },
  SLUICE_INTERNAL: { status: 500, wire: 'internal_error' },
  SLUICE_PROXY_AUTH: { status: 407, wire: 'proxy_auth_invalid' },
  // The gateway's control-plane API.
  SLUICE_API_UNAUTHORIZED: { status: 401, wire: 'unauthorized' },
  SLUICE_API_FORBIDDEN: { status: 403, wire: 'forbidden' },
  SLUICE_API_NOT_FOUND: { status: 404, wire: 'not_found' },
  SLUICE_API_METHOD: { status: 405, wire: 'method_not_allowed' },
  SLUICE_API_CONFLICT: { status: 409, wire: 'conflict' },
  SLUICE_POLICY_LOCKED: { status: 409, wire: 'policy_locked' },
  SLUICE_POLICY_INVALID: { status: 422, wire: 'policy_invalid' },
  SLUICE_API_INVALID: { status: 400, wire: 'invalid_request' },
  SLUICE_API_UNSUPPORTED: { status: 415, wire: 'unsupported_media_type' },
  SLUICE_SANDBOX_FAILED: { status: 500, wire: 'sandbox_failed' },
  // a sandbox Sluice will not start as asked (host root, an unwritable workdir, a limit it cannot enforce)
  SLUICE_SANDBOX_REFUSED: { status: 500, wire: 'sandbox_refused' },
} as const satisfies Record<string, { status: number; wire: string; error?: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Extra context that reaches the client's JSON body (never secret values). */
export interface ErrorContext {
  reason?: string;
  policy?: string;
  rule?: string;
  host?: string;
  port?: number;
  method?: string;
  path?: string;
  [key: string]: unknown;
}

export class SluiceError extends Error {
  readonly code: ErrorCode;
  readonly context: ErrorContext;

  constructor(code: ErrorCode, detail: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(detail, options);
    this.name = 'SluiceError';
    this.code = code;
    this.context = context;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  get wire(): string {
    return ERROR_CODES[this.code].wire;
  }

  /** The body's `error` field: OpenShell's name for it where one exists, else the wire code. */
  get bodyCode(): string {
    const entry: { wire: string; error?: string } = ERROR_CODES[this.code];
    return entry.error ?? entry.wire;
  }
}

export function isSluiceError(err: unknown): err is SluiceError {
  return err instanceof SluiceError;
}
