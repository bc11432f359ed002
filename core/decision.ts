import { ERROR_CODES, SluiceError } from './errors.js';

/**
 * A decision is a value, never a boolean: the same words reach the agent (403 body),
 * the audit log and `sluice explain`.
 */
export type DecisionAction = 'allow' | 'deny';

export interface Decision {
  action: DecisionAction;
  /** Wire code for denials (policy_denied, l7_denied, ssrf_denied …); 'allowed' otherwise. */
  code: string;
  /** Name of the network policy that decided, when one did. */
  policy?: string;
  /** Human-readable label of the endpoint or rule that decided. */
  rule?: string;
  reason: string;
  /** True when a deny was turned into an allow because enforcement is `audit`. */
  audited?: boolean;
  /**
   * True when an L7 allow rule names this very method and path (no wildcard, not an access
   * preset): on an LLM host, the only network rule that lets an unrecognised request out.
   */
  exact?: boolean;
  /** The canonical request path the decision was made on (what is forwarded). */
  path?: string;
  /** Endpoint options the proxy must honour (tls: skip, allowed_ips …). */
  endpoint?: EndpointOptions;
  /** For denials: the policy change that would allow the request (shown to the agent, the log and the user). */
  remedy?: Remedy;
}

/**
 * What to change so that a refused request would pass: one sentence, and the YAML to add where
 * it says. Derived from the decision's facts and the current policy, never from request data
 * beyond host, port, method and canonical path (which the audit log keeps anyway).
 */
export interface Remedy {
  /** e.g. `add { host: api.example.com, port: 443 } to the endpoints of a network policy`. */
  summary: string;
  /** The policy fragment, as block YAML that shows where it goes (network_policies → … → key); '' when none. */
  yaml: string;
  /** True when no policy change allows it and the summary says what to do instead. */
  advice?: boolean;
}

export interface EndpointOptions {
  tlsSkip: boolean;
  /** CIDRs that may be dialled even though they are private (OpenShell `allowed_ips`). */
  allowedIps: readonly string[];
  /** True when L7 rules exist, so every request must be inspected (interception required). */
  inspect: boolean;
  allowEncodedSlash: boolean;
  /**
   * An endpoint names this exact host or address (no wildcard, not hostless): as in OpenShell, its
   * private addresses may be dialled without allowed_ips (never loopback, link-local or
   * unspecified ones, and never Kubernetes or etcd control-plane ports).
   */
  exactHost?: boolean;
  /** Egress DLP for this endpoint; absent: the policy-wide `privacy.egress.default`. */
  dlp?: 'block' | 'redact' | 'off';
}

export function allow(reason: string, extra: Partial<Decision> = {}): Decision {
  return { action: 'allow', code: 'allowed', reason, ...extra };
}

export function deny(code: string, reason: string, extra: Partial<Decision> = {}): Decision {
  return { action: 'deny', code, reason, ...extra };
}

/** Builds the SluiceError that carries a deny decision to the client. */
export function decisionError(decision: Decision): SluiceError {
  const code = (Object.keys(ERROR_CODES) as Array<keyof typeof ERROR_CODES>).find((k) => ERROR_CODES[k].wire === decision.code) ?? 'SLUICE_POLICY_DENIED';
  return new SluiceError(code, decision.reason, {
    reason: decision.reason,
    ...(decision.policy !== undefined ? { policy: decision.policy } : {}),
    ...(decision.rule !== undefined ? { rule: decision.rule } : {}),
    ...(decision.remedy !== undefined ? { remedy: decision.remedy } : {}),
  });
}
