import { createHash } from 'node:crypto';
import net from 'node:net';
import type { ApiEvent, Decision, Endpoint, FindingEvent, LlmCallEvent, RequestEvent, SandboxEvent, SluiceEvent } from '../core/index.js';
import { scrubQueries, stripQuery } from './scrub.js';

/** The OCSF schema version the records follow (action_id 4 "Modified" needs ≥ 1.4). */
export const OCSF_VERSION = '1.5.0';

type OcsfRecord = Record<string, unknown>;

interface OcsfClass {
  class_uid: number;
  class_name: string;
  category_uid: number;
  category_name: string;
}

const NETWORK_ACTIVITY: OcsfClass = { class_uid: 4001, class_name: 'Network Activity', category_uid: 4, category_name: 'Network Activity' };
const HTTP_ACTIVITY: OcsfClass = { class_uid: 4002, class_name: 'HTTP Activity', category_uid: 4, category_name: 'Network Activity' };
const CONFIG_STATE_CHANGE: OcsfClass = { class_uid: 5019, class_name: 'Device Config State Change', category_uid: 5, category_name: 'Discovery' };
const DETECTION_FINDING: OcsfClass = { class_uid: 2004, class_name: 'Detection Finding', category_uid: 2, category_name: 'Findings' };
const APPLICATION_LIFECYCLE: OcsfClass = { class_uid: 6002, class_name: 'Application Lifecycle', category_uid: 6, category_name: 'Application Activity' };
const API_ACTIVITY: OcsfClass = { class_uid: 6003, class_name: 'API Activity', category_uid: 6, category_name: 'Application Activity' };

const SEVERITY: Record<number, string> = { 1: 'Informational', 2: 'Low', 3: 'Medium', 4: 'High' };
const ACTION: Record<number, string> = { 1: 'Allowed', 2: 'Denied', 4: 'Modified' };
const DISPOSITION: Record<number, string> = { 1: 'Allowed', 2: 'Blocked', 11: 'Corrected', 17: 'Logged', 25: 'Rejected', 27: 'Error' };
/** HTTP Activity activity_id is the request method. */
const HTTP_METHOD_ACTIVITY: Record<string, number> = { CONNECT: 1, DELETE: 2, GET: 3, HEAD: 4, OPTIONS: 5, POST: 6, PUT: 7, TRACE: 8, PATCH: 9 };

interface Outcome {
  action_id: number;
  disposition_id: number;
  /** Caption for disposition_id 99 (Other). */
  disposition?: string;
  severity_id: number;
  status_id: 1 | 2;
}

const METADATA = {
  version: OCSF_VERSION,
  product: { name: 'Sluice', vendor_name: 'Sluice' },
  log_name: 'sluice-audit',
  profiles: ['security_control'],
};
/** Events of a gateway's sandbox name it in OCSF's container profile (`container.name`). */
const METADATA_CONTAINER = { ...METADATA, profiles: ['security_control', 'container'] };

/** Maps one Sluice event to an OCSF 1.x record. Pure: same event in, same record out. */
export function toOcsf(event: SluiceEvent): OcsfRecord {
  return compact(ocsfRecord(event));
}

/**
 * The JSONL line for one event. JSON.stringify leaves out undefined members by itself, so the
 * line skips toOcsf's compaction pass (a whole copy of the record, once per audited request).
 * An ordinary request event, the one written per request, is written by requestLine.
 */
export function ocsfLine(event: SluiceEvent): string {
  return (event.type === 'request' ? requestLine(event) : undefined) ?? JSON.stringify(ocsfRecord(event));
}

/**
 * The line of an ordinary request event (no WebSocket, LLM class, failure or remedy: those take
 * JSON.stringify of the record), written field by field in the record's own order: the same
 * bytes, a tenth of the time. What comes from the decision is written once per decision object
 * the policy shares between requests alike. test/audit/ocsf-line.test.ts holds the two equal.
 */
function requestLine(event: RequestEvent): string | undefined {
  const d = event.decision;
  if (event.websocket !== undefined || event.llm !== undefined || event.error !== undefined || d.remedy !== undefined) return undefined;
  const head = HTTP_HEADS.get(event.method);
  if (head === undefined) return undefined;
  const fromDecision = decisionJson(d);
  const src = endpoint(event.src);
  const dst = endpoint(event.dst);
  const request = httpRequest(event.method, event.scheme, event.dst, event.path);
  const url = request.url as Record<string, string | number | undefined>;
  return (
    `{"time":${JSON.stringify(event.time)}${head}${fromDecision.outcome},"metadata":${event.sandbox === undefined ? METADATA_JSON : METADATA_CONTAINER_JSON}${fromDecision.message}` +
    `${src === undefined ? '' : `,"src_endpoint":${endpointJson(src)}`}${dst === undefined ? '' : `,"dst_endpoint":${endpointJson(dst)}`}` +
    `,"http_request":{"http_method":${JSON.stringify(request.http_method)},"url":${jsonObject(['hostname', url.hostname], ['path', url.path], ['port', url.port], ['scheme', url.scheme], ['url_string', url.url_string])}}` +
    `${event.status === undefined ? '' : `,"http_response":{"code":${JSON.stringify(event.status)}}`}${event.durationMs === undefined ? '' : `,"duration":${JSON.stringify(event.durationMs)}`}` +
    `${fromDecision.tail}${event.sandbox === undefined ? '' : `,"container":${JSON.stringify({ name: event.sandbox })}`}}`
  );
}

/** An endpoint record (endpoint()'s) as JSON. */
function endpointJson(e: OcsfRecord): string {
  return jsonObject(['hostname', e.hostname as string | undefined], ['ip', e.ip as string | undefined], ['port', e.port as number | undefined]);
}

/** A flat object of strings and numbers as JSON.stringify writes it: members in order, undefined ones left out. */
function jsonObject(...members: Array<[string, string | number | undefined]>): string {
  let out = '';
  for (const [name, value] of members) {
    if (value === undefined) continue;
    out += `${out === '' ? '{' : ','}"${name}":${typeof value === 'number' ? (Number.isFinite(value) ? String(value) : 'null') : JSON.stringify(value)}`;
  }
  return out === '' ? '{}' : `${out}}`;
}

const METADATA_JSON = JSON.stringify(METADATA);
const METADATA_CONTAINER_JSON = JSON.stringify(METADATA_CONTAINER);

/** From "class_uid" to "type_name", per method the activity ids name (others take JSON.stringify). */
const HTTP_HEADS = new Map(
  Object.keys(HTTP_METHOD_ACTIVITY).map((method) => {
    const head = JSON.stringify(classHead(HTTP_ACTIVITY, ...httpActivity(method)));
    return [method, `,${head.slice(1, -1)}`];
  }),
);

interface DecisionJson {
  /** From "severity_id" to "disposition". */
  outcome: string;
  /** `,"message":…` */
  message: string;
  /** `,"policy":…,"unmapped":…` */
  tail: string;
}

const decisionsJson = new WeakMap<Decision, DecisionJson>();

function decisionJson(d: Decision): DecisionJson {
  const known = decisionsJson.get(d);
  if (known) return known;
  const outcome = JSON.stringify(outcomeFields(decisionOutcome(d)));
  const policy = policyOf(d);
  const json: DecisionJson = {
    outcome: `,${outcome.slice(1, -1)}`,
    message: `,"message":${JSON.stringify(scrubQueries(d.reason))}`,
    tail: `${policy === undefined ? '' : `,"policy":${JSON.stringify(policy)}`},"unmapped":${JSON.stringify({ code: d.code, rule: d.rule, audited: d.audited })}`,
  };
  // Only a decision the policy shares (frozen) is met again; one made for a single request is not kept.
  if (Object.isFrozen(d)) decisionsJson.set(d, json);
  return json;
}

function ocsfRecord(event: SluiceEvent): OcsfRecord {
  const out = classRecord(event);
  if (event.sandbox !== undefined) {
    out.metadata = METADATA_CONTAINER;
    out.container = { name: event.sandbox };
  }
  return out;
}

function classRecord(event: SluiceEvent): OcsfRecord {
  switch (event.type) {
    case 'connect': {
      const outcome = decisionOutcome(event.decision);
      const activity = event.decision.action === 'deny' ? [5, 'Refuse'] as const : [1, 'Open'] as const;
      return record(NETWORK_ACTIVITY, activity[0], activity[1], event.time, outcome, {
        message: scrubQueries(event.decision.reason),
        src_endpoint: endpoint(event.src),
        dst_endpoint: endpoint(event.dst),
        connection_info: { direction_id: 2, direction: 'Outbound', protocol_name: 'tcp' },
        policy: policyOf(event.decision),
        unmapped: { code: event.decision.code, rule: event.decision.rule, mode: event.mode, audited: event.decision.audited, fix: fixOf(event.decision) },
      });
    }
    case 'request': {
      const outcome = decisionOutcome(event.decision);
      const ws = event.websocket;
      const [activityId, activityName] = httpActivity(event.method);
      return record(HTTP_ACTIVITY, activityId, activityName, event.time, outcome, {
        message: scrubQueries(event.decision.reason),
        src_endpoint: endpoint(event.src),
        dst_endpoint: endpoint(event.dst),
        http_request: httpRequest(event.method, event.scheme, event.dst, event.path),
        http_response: event.status === undefined ? undefined : { code: event.status },
        duration: event.durationMs,
        traffic: ws === undefined ? undefined : { bytes_out: ws.bytesOut, bytes_in: ws.bytesIn, packets_out: ws.messagesOut, packets_in: ws.messagesIn, bytes: ws.bytesOut + ws.bytesIn, packets: ws.messagesOut + ws.messagesIn },
        policy: policyOf(event.decision),
        unmapped: {
          code: event.decision.code,
          rule: event.decision.rule,
          audited: event.decision.audited,
          fix: fixOf(event.decision),
          error: event.error ? { code: event.error.code, reason: scrubQueries(event.error.reason) } : undefined,
          llm_class: event.llm === undefined ? undefined : { host_class: event.llm.hostClass, api: event.llm.api ?? 'unrecognised', stream: event.llm.stream },
          websocket: ws === undefined ? undefined : { messages_out: ws.messagesOut, messages_in: ws.messagesIn, close_code: ws.closeCode, closed_by: ws.closedBy },
        },
      });
    }
    case 'llm_call':
      return llmCall(event);
    case 'policy': {
      const loaded = event.activity === 'loaded';
      const outcome: Outcome = loaded
        ? { action_id: 1, disposition_id: 1, severity_id: 1, status_id: 1 }
        : { action_id: 2, disposition_id: 25, severity_id: 3, status_id: 2 };
      return record(CONFIG_STATE_CHANGE, 1, 'Log', event.time, outcome, {
        message: scrubQueries(event.reason),
        status_detail: scrubQueries(event.reason),
        device: { name: 'sluice', type_id: 0, type: 'Unknown' },
        policy: { name: event.file ? (event.file.split('/').pop() ?? event.file) : 'embedded default', uid: event.file },
        unmapped: { activity: event.activity, file: event.file, errors: event.errors?.map(scrubQueries) },
      });
    }
    case 'upstream_error':
      return record(NETWORK_ACTIVITY, 4, 'Fail', event.time, { action_id: 1, disposition_id: 27, severity_id: 3, status_id: 2 }, {
        message: scrubQueries(event.reason),
        status_code: event.code,
        status_detail: scrubQueries(event.reason),
        src_endpoint: endpoint(event.src),
        dst_endpoint: endpoint(event.dst),
        connection_info: { direction_id: 2, direction: 'Outbound', protocol_name: 'tcp' },
        unmapped: { code: event.code },
      });
    case 'finding':
      return finding(event);
    case 'sandbox':
      return sandboxLifecycle(event);
    case 'api':
      return apiActivity(event);
  }
}

/** Create→Install, start→Start, end→Stop, removal→Remove, policy→Update (OCSF 6002 activity ids). */
const LIFECYCLE_ACTIVITY: Record<SandboxEvent['activity'], [number, string]> = {
  created: [1, 'Install'],
  started: [3, 'Start'],
  exited: [4, 'Stop'],
  stopped: [4, 'Stop'],
  failed: [4, 'Stop'],
  lost: [4, 'Stop'],
  removed: [2, 'Remove'],
  policy_changed: [8, 'Update'],
  policy_refused: [8, 'Update'],
};

function sandboxLifecycle(event: SandboxEvent): OcsfRecord {
  const failed = event.activity === 'failed' || event.activity === 'lost' || event.activity === 'policy_refused';
  const outcome: Outcome = failed
    ? { action_id: event.activity === 'policy_refused' ? 2 : 1, disposition_id: event.activity === 'policy_refused' ? 25 : 27, severity_id: 3, status_id: 2 }
    : { action_id: 1, disposition_id: 1, severity_id: 1, status_id: 1 };
  const [id, name] = LIFECYCLE_ACTIVITY[event.activity];
  return record(APPLICATION_LIFECYCLE, id, name, event.time, outcome, {
    message: scrubQueries(event.reason),
    app: { name: event.sandbox ?? 'sandbox', vendor_name: 'Sluice' },
    unmapped: { activity: event.activity, driver: event.driver, exit_code: event.exitCode },
  });
}

const API_VERB_ACTIVITY: Record<string, [number, string]> = { POST: [1, 'Create'], GET: [2, 'Read'], HEAD: [2, 'Read'], PUT: [3, 'Update'], PATCH: [3, 'Update'], DELETE: [4, 'Delete'] };

function apiActivity(event: ApiEvent): OcsfRecord {
  const refused = event.status === 401 || event.status === 403;
  const outcome: Outcome = refused
    ? { action_id: 2, disposition_id: event.status === 401 ? 25 : 2, severity_id: 3, status_id: 2 }
    : event.status >= 400
      ? { action_id: 1, disposition_id: 27, severity_id: 2, status_id: 2 }
      : { action_id: 1, disposition_id: 1, severity_id: 1, status_id: 1 };
  const [id, name] = API_VERB_ACTIVITY[event.method.toUpperCase()] ?? [99, event.method.toUpperCase()];
  return record(API_ACTIVITY, id, name, event.time, outcome, {
    message: event.reason === undefined ? `${event.method} ${event.route} -> ${event.status}` : scrubQueries(event.reason),
    actor: { user: { name: event.actor }, authorizations: [{ decision: refused ? 'denied' : 'granted', policy: { name: event.scope } }] },
    api: { operation: `${event.method} ${event.route}`, service: { name: 'sluice-gateway' }, response: { code: event.status, error: event.code } },
    src_endpoint: endpoint(event.src),
    http_response: { code: event.status },
    unmapped: { code: event.code, scope: event.scope },
  });
}

function llmCall(event: LlmCallEvent): OcsfRecord {
  const outcome: Outcome =
    event.action === 'deny'
      ? { action_id: 2, disposition_id: 2, severity_id: 2, status_id: 2 }
      : event.action === 'route'
        ? { action_id: 4, disposition_id: 99, disposition: 'Routed', severity_id: 1, status_id: 1 }
        : { action_id: 1, disposition_id: 1, severity_id: 1, status_id: 1 };
  // LLM APIs are called with POST; the event says otherwise when it knows better.
  const method = event.method ?? 'POST';
  const [activityId, activityName] = httpActivity(method);
  const scheme = event.dst?.port === 80 ? 'http' : 'https';
  return record(HTTP_ACTIVITY, activityId, activityName, event.time, outcome, {
    message: event.reason === undefined ? `${event.api} call to ${event.backend}` : scrubQueries(event.reason),
    src_endpoint: endpoint(event.src),
    dst_endpoint: endpoint(event.dst),
    http_request: httpRequest(method, scheme, event.dst, event.path),
    http_response: event.status === undefined ? undefined : { code: event.status },
    duration: event.durationMs,
    unmapped: {
      llm: {
        api: event.api,
        action: event.action,
        requested_model: event.requestedModel,
        backend: event.backend,
        backend_model: event.backendModel,
        route: event.route,
        stream: event.stream,
        input_tokens: event.inputTokens,
        output_tokens: event.outputTokens,
        ttft_ms: event.ttftMs,
        request_bytes: event.requestBytes,
        response_bytes: event.responseBytes,
        redactions: event.redactions,
        prompt: event.prompt,
      },
    },
  });
}

function finding(event: FindingEvent): OcsfRecord {
  const outcome: Outcome =
    event.action === 'blocked'
      ? { action_id: 2, disposition_id: 2, severity_id: 4, status_id: 1 }
      : event.action === 'redacted'
        ? { action_id: 4, disposition_id: 11, severity_id: 2, status_id: 1 }
        : { action_id: 1, disposition_id: 1, severity_id: 2, status_id: 1 };
  const src = endpoint(event.src);
  const dst = endpoint(event.dst);
  // A stable uid derived from the content keeps toOcsf pure and lets a SIEM de-duplicate.
  const uid = createHash('sha256').update(JSON.stringify([event.time, event.kind, event.subjects, event.src, event.dst, event.reason])).digest('hex').slice(0, 32);
  return record(DETECTION_FINDING, 1, 'Create', event.time, outcome, {
    message: scrubQueries(event.reason),
    finding_info: { uid, title: event.kind, types: [event.kind], desc: scrubQueries(event.reason), created_time: event.time },
    evidences: src || dst ? [{ src_endpoint: src, dst_endpoint: dst }] : undefined,
    unmapped: { kind: event.kind, subjects: event.subjects },
  });
}

/** The base attributes every class shares, then the class's own members without undefined ones. */
function record(cls: OcsfClass, activityId: number, activityName: string, time: number, outcome: Outcome, members: OcsfRecord): OcsfRecord {
  const out: OcsfRecord = { time, ...classHead(cls, activityId, activityName), ...outcomeFields(outcome), metadata: METADATA };
  for (const key of Object.keys(members)) {
    const value = members[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/** A record's class and activity members, from "class_uid" to "type_name". */
function classHead(cls: OcsfClass, activityId: number, activityName: string): OcsfRecord {
  return {
    class_uid: cls.class_uid,
    class_name: cls.class_name,
    category_uid: cls.category_uid,
    category_name: cls.category_name,
    activity_id: activityId,
    activity_name: activityName,
    type_uid: cls.class_uid * 100 + activityId,
    type_name: `${cls.class_name}: ${activityName}`,
  };
}

/** A record's outcome members, from "severity_id" to "disposition". */
function outcomeFields(outcome: Outcome): OcsfRecord {
  return {
    severity_id: outcome.severity_id,
    severity: SEVERITY[outcome.severity_id],
    status_id: outcome.status_id,
    status: outcome.status_id === 1 ? 'Success' : 'Failure',
    action_id: outcome.action_id,
    action: ACTION[outcome.action_id],
    disposition_id: outcome.disposition_id,
    disposition: outcome.disposition ?? DISPOSITION[outcome.disposition_id],
  };
}

/** The outcomes a decision maps to, made once (one per audited request otherwise). */
const DENIED: Outcome = { action_id: 2, disposition_id: 2, severity_id: 2, status_id: 2 };
const DENIED_SSRF: Outcome = { action_id: 2, disposition_id: 2, severity_id: 3, status_id: 2 };
const AUDITED: Outcome = { action_id: 1, disposition_id: 17, severity_id: 2, status_id: 1 };
const ALLOWED: Outcome = { action_id: 1, disposition_id: 1, severity_id: 1, status_id: 1 };

function decisionOutcome(decision: Decision): Outcome {
  if (decision.action === 'deny') return decision.code === 'ssrf_denied' ? DENIED_SSRF : DENIED;
  // enforcement: audit lets a would-be denial through; say so rather than call it a plain allow.
  return decision.audited ? AUDITED : ALLOWED;
}

/** The remedy, scrubbed like every other text (a path in it never keeps a query). */
function fixOf(decision: Decision): OcsfRecord | undefined {
  if (!decision.remedy) return undefined;
  return { summary: scrubQueries(decision.remedy.summary), yaml: decision.remedy.yaml ? scrubQueries(decision.remedy.yaml) : undefined, advice: decision.remedy.advice };
}

function policyOf(decision: Decision): OcsfRecord | undefined {
  if (decision.policy) return { name: decision.policy, desc: decision.rule };
  return decision.action === 'deny' ? { name: 'default-deny' } : undefined;
}

function httpActivity(method: string): [number, string] {
  const upper = method.toUpperCase();
  const id = HTTP_METHOD_ACTIVITY[upper];
  return id === undefined ? [99, upper] : [id, upper.charAt(0) + upper.slice(1).toLowerCase()];
}

function httpRequest(method: string, scheme: string, dst: Endpoint | undefined, rawPath: string | undefined): OcsfRecord {
  const path = rawPath === undefined ? undefined : stripQuery(rawPath);
  const host = dst?.host ?? dst?.ip;
  const authority = host === undefined ? undefined : `${host.includes(':') && net.isIPv6(host) ? `[${host}]` : host}${dst?.port === undefined ? '' : `:${dst.port}`}`;
  return {
    http_method: method.toUpperCase(),
    url: {
      hostname: host,
      path,
      port: dst?.port,
      scheme,
      url_string: authority === undefined || path === undefined ? undefined : `${scheme}://${authority}${path}`,
    },
  };
}

/**
 * False for a name that cannot be an IP address (no colon, and not ending in a digit as every IPv4
 * address does): net.isIP's IPv6 expression, run on every audited host name, is the costlier test.
 */
function mayBeIp(host: string): boolean {
  const last = host.charCodeAt(host.length - 1);
  return host.includes(':') || (last >= 48 && last <= 57);
}

function endpoint(e: Endpoint | undefined): OcsfRecord | undefined {
  if (!e) return undefined;
  const ip = e.ip ?? (e.host !== undefined && mayBeIp(e.host) && net.isIP(e.host) !== 0 ? e.host : undefined);
  if (e.host === undefined && ip === undefined && e.port === undefined) return undefined;
  return { hostname: e.host, ip, port: e.port };
}

/** Drops undefined members so records hold only what is known. */
function compact<T>(value: T): T {
  if (Array.isArray(value)) return value.map(compact) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, member] of Object.entries(value)) {
    if (member !== undefined) out[key] = compact(member);
  }
  return out as T;
}
