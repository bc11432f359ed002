import type { Decision, Endpoint, HostClass, LlmApi, LlmCallEvent, LlmClass, Remedy, SandboxEvent, SluiceEvent } from '../core/index.js';

/**
 * The inverse of toOcsf: one audit record back into the event it was written from, so that
 * readers (`sluice logs`, `sluice policy suggest`) work on events whether they come from the file
 * or, later, from a running gateway's event stream. Records it cannot read give undefined.
 */
type Rec = Record<string, unknown>;

const obj = (v: unknown): Rec | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : undefined);
const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function endpointOf(v: unknown): Endpoint | undefined {
  const e = obj(v);
  if (!e) return undefined;
  const host = text(e.hostname);
  const ip = text(e.ip);
  const port = num(e.port);
  return {
    ...(host !== undefined ? { host } : {}),
    // toOcsf copies an IP literal host into ip; do not invent an ip the event did not have.
    ...(ip !== undefined && ip !== host ? { ip } : {}),
    ...(port !== undefined ? { port } : {}),
  };
}

function remedyOf(v: unknown): Remedy | undefined {
  const fix = obj(v);
  const summary = text(fix?.summary);
  return summary === undefined ? undefined : { summary, yaml: text(fix?.yaml) ?? '', ...(fix?.advice === true ? { advice: true } : {}) };
}

function decisionOf(r: Rec, u: Rec): Decision {
  const deny = r.action_id === 2;
  const policy = obj(r.policy);
  const name = text(policy?.name);
  const remedy = remedyOf(u.fix);
  return {
    action: deny ? 'deny' : 'allow',
    code: text(u.code) ?? (deny ? 'policy_denied' : 'allowed'),
    reason: text(r.message) ?? '',
    ...(name !== undefined && !(name === 'default-deny' && deny && policy?.desc === undefined) ? { policy: name } : {}),
    ...(text(u.rule) !== undefined ? { rule: text(u.rule) } : {}),
    ...(u.audited === true ? { audited: true } : {}),
    ...(remedy ? { remedy } : {}),
  };
}

export function eventFromOcsf(record: unknown): SluiceEvent | undefined {
  const event = eventOf(record);
  // toOcsf names a sandbox's events in OCSF's container profile, whatever their class.
  const sandbox = text(obj(obj(record)?.container)?.name);
  return event && sandbox !== undefined ? { ...event, sandbox } : event;
}

function eventOf(record: unknown): SluiceEvent | undefined {
  const r = obj(record);
  const time = num(r?.time);
  if (!r || time === undefined) return undefined;
  const u = obj(r.unmapped) ?? {};
  const src = endpointOf(r.src_endpoint) ?? {};
  const dst = endpointOf(r.dst_endpoint) ?? {};
  switch (r.class_uid) {
    case 4001:
      if (r.activity_id === 4) return { type: 'upstream_error', time, ...(r.src_endpoint ? { src } : {}), dst, code: text(u.code) ?? 'upstream_error', reason: text(r.status_detail) ?? text(r.message) ?? '' };
      return { type: 'connect', time, src, dst, decision: decisionOf(r, u), ...(u.mode === 'tunnel' || u.mode === 'intercept' ? { mode: u.mode } : {}) };
    case 4002: {
      const request = obj(r.http_request) ?? {};
      const url = obj(request.url) ?? {};
      const status = num(obj(r.http_response)?.code);
      const duration = num(r.duration);
      const llm = obj(u.llm);
      if (llm) {
        const action = llm.action === 'deny' || llm.action === 'allow' ? llm.action : 'route';
        const tokens = { inputTokens: num(llm.input_tokens), outputTokens: num(llm.output_tokens), ttftMs: num(llm.ttft_ms), requestBytes: num(llm.request_bytes), responseBytes: num(llm.response_bytes) };
        return {
          type: 'llm_call',
          time,
          ...(r.src_endpoint ? { src } : {}),
          ...(r.dst_endpoint ? { dst } : {}),
          ...(text(request.http_method) !== undefined ? { method: text(request.http_method) } : {}),
          ...(text(url.path) !== undefined ? { path: text(url.path) } : {}),
          // The log was written by Sluice: its api names are the ones the type lists.
          api: (text(llm.api) ?? 'unrecognised') as LlmCallEvent['api'],
          ...(text(llm.requested_model) !== undefined ? { requestedModel: text(llm.requested_model) } : {}),
          backend: text(llm.backend) ?? 'unknown',
          ...(text(llm.backend_model) !== undefined ? { backendModel: text(llm.backend_model) } : {}),
          ...(text(llm.route) !== undefined ? { route: text(llm.route) } : {}),
          action,
          stream: llm.stream === true,
          ...(status !== undefined ? { status } : {}),
          ...Object.fromEntries(Object.entries(tokens).filter(([, v]) => v !== undefined)),
          ...(duration !== undefined ? { durationMs: duration } : {}),
          ...(obj(llm.redactions) ? { redactions: obj(llm.redactions) as Record<string, number> } : {}),
          ...(text(llm.prompt) !== undefined ? { prompt: text(llm.prompt) } : {}),
          ...(action === 'deny' || text(r.message) !== `${text(llm.api)} call to ${text(llm.backend)}` ? { reason: text(r.message) ?? '' } : {}),
        };
      }
      const error = obj(u.error);
      const cls = obj(u.llm_class);
      const llmClass: LlmClass | undefined = cls
        ? {
            hostClass: (text(cls.host_class) ?? 'other') as HostClass,
            ...(text(cls.api) !== undefined && cls.api !== 'unrecognised' ? { api: text(cls.api) as LlmApi } : {}),
            ...(typeof cls.stream === 'boolean' ? { stream: cls.stream } : {}),
          }
        : undefined;
      return {
        type: 'request',
        time,
        src,
        dst,
        method: text(request.http_method) ?? '',
        path: text(url.path) ?? '/',
        scheme: url.scheme === 'http' ? 'http' : 'https',
        decision: decisionOf(r, u),
        ...(status !== undefined ? { status } : {}),
        ...(duration !== undefined ? { durationMs: duration } : {}),
        ...(error ? { error: { code: text(error.code) ?? 'upstream_error', reason: text(error.reason) ?? '' } } : {}),
        ...(llmClass ? { llm: llmClass } : {}),
      };
    }
    case 5019:
      return {
        type: 'policy',
        time,
        activity: u.activity === 'rejected' ? 'rejected' : 'loaded',
        ...(text(u.file) !== undefined ? { file: text(u.file) } : {}),
        reason: text(r.message) ?? '',
        ...(Array.isArray(u.errors) ? { errors: u.errors.filter((e): e is string => typeof e === 'string') } : {}),
      };
    case 2004: {
      const evidence = Array.isArray(r.evidences) ? obj(r.evidences[0]) : undefined;
      const action = r.action_id === 2 ? 'blocked' : r.action_id === 4 ? 'redacted' : 'allowed';
      const fsrc = endpointOf(evidence?.src_endpoint);
      const fdst = endpointOf(evidence?.dst_endpoint);
      return {
        type: 'finding',
        time,
        ...(fsrc ? { src: fsrc } : {}),
        ...(fdst ? { dst: fdst } : {}),
        kind: text(u.kind) ?? 'unknown',
        subjects: Array.isArray(u.subjects) ? u.subjects.filter((s): s is string => typeof s === 'string') : [],
        action,
        reason: text(r.message) ?? '',
      };
    }
    case 6002: {
      const activity = text(u.activity);
      if (!activity || !(activity in LIFECYCLE)) return undefined;
      return {
        type: 'sandbox',
        time,
        activity: activity as SandboxEvent['activity'],
        ...(text(u.driver) !== undefined ? { driver: text(u.driver) } : {}),
        ...(num(u.exit_code) !== undefined ? { exitCode: num(u.exit_code) } : {}),
        reason: text(r.message) ?? '',
      };
    }
    case 6003: {
      const api = obj(r.api);
      const [method, route] = (text(api?.operation) ?? '').split(' ');
      const status = num(obj(r.http_response)?.code);
      if (!method || !route || status === undefined) return undefined;
      const actor = text(obj(obj(r.actor)?.user)?.name) ?? 'unknown';
      return {
        type: 'api',
        time,
        method,
        route,
        status,
        actor,
        scope: text(u.scope) ?? 'none',
        ...(r.src_endpoint ? { src } : {}),
        ...(text(u.code) !== undefined ? { code: text(u.code) } : {}),
        ...(text(r.message) !== undefined && r.message !== `${method} ${route} -> ${status}` ? { reason: text(r.message) } : {}),
      };
    }
    default:
      return undefined;
  }
}

const LIFECYCLE: Record<SandboxEvent['activity'], true> = { created: true, started: true, exited: true, stopped: true, removed: true, failed: true, lost: true, policy_changed: true, policy_refused: true };

/** The sandbox an event came from, when it says. */
export function sandboxOfEvent(event: SluiceEvent): string | undefined {
  return event.sandbox;
}
