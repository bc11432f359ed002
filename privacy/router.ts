import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Destination, EventBus, HostClass, LlmApi, LlmCallEvent, LlmShape, RequestContext, Stage, StageResponse } from '../core/index.js';
import { SluiceError, allow, decisionError, deny } from '../core/index.js';
import type { Backend, CredentialSource } from './backend.js';
import { createBackend } from './backend.js';
import type { Attempt, RoutedCall } from './call.js';
import { errorResponse, executeCall } from './call.js';
import { kindOf, modelInPath } from './apis.js';
import type { SocketDeps, SocketState } from './responses-socket.js';
import { SOCKET_API, socketMessage, socketPeer } from './responses-socket.js';
import { COPILOT_MODELS, copilotSessionAnswer, renderCopilotModelList } from './copilot.js';
import type { BackendHealth, HealthMonitor } from './health.js';
import { createHealthMonitor } from './health.js';
import { llmHosts } from './hosts.js';
import type { LlmHosts } from './hosts.js';
import { promptText } from './prompt-text.js';
import type { CompiledRoute, ModelList, RouteTable } from './routes.js';
import { compileRoutes } from './routes.js';
import type { InferenceConfig } from './schema.js';
import { CallStats, countBytes } from './stats.js';
import { codecs, ollamaGenerate, openAICompletions, renderModelList } from './translate/index.js';
import type { ChatEvent } from './translate/index.js';
import { kindForStatus } from './translate/chat.js';
import type { LlmFindings, RouterRedactor } from './restore.js';
import { createResponseRestorer, createTextRestoreFilter } from './restore.js';

type Json = Record<string, unknown>;
/** A call's body rewritten for the provider, and the vault that holds what it replaced. */
type Redacted = { body: unknown; vault: unknown };
const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

export interface PrivacyRouterOptions {
  config: InferenceConfig | undefined;
  bus: EventBus;
  credentials?: CredentialSource;
  /** The redaction engine (redact/'s Redactor); a function when it can be replaced on reload. */
  redactor?: RouterRedactor | (() => RouterRedactor | undefined);
  /** How often backends' model lists are refreshed; 0 disables the background checks. Default 30 s. */
  healthIntervalMs?: number;
}

export interface PrivacyRouter {
  readonly stage: Stage;
  /** For the classifier (app/): is this destination an LLM host under the current configuration? */
  hostClass(dest: Destination): HostClass;
  /** For the classifier: the path the API table reads (a configured host prefix read as /v1; undefined off the prefix). */
  apiPath(dest: Destination, path: string): string | undefined;
  reload(config: InferenceConfig | undefined): void;
  close(): Promise<void>;
  health(): Record<string, BackendHealth>;
}

/** LLM request bodies (with images) can be large; the cap keeps one call from exhausting memory. */
export const MAX_LLM_BODY = 32 * 1024 * 1024;
/**
 * A body at least this large gives the event loop back between the steps of its call: parsing it, finding what
 * to redact, rewriting it, serialising it for the backend. Each is 0.3–1 ms for an agent's 200 KB conversation;
 * run back to back they held every other connection of the proxy for 3–4 ms a turn.
 */
export const YIELD_BODY_BYTES = 64 * 1024;
const DEFAULT_HEALTH_INTERVAL_MS = 30_000;

interface CallState {
  /** From the classification; undefined for a request the router does not recognise. */
  api: LlmApi | undefined;
  shape: LlmShape;
  /** The parsed JSON body (what a backend gets, or the redacted form that leaves the machine). */
  body?: unknown;
  requestedModel?: string;
  stream: boolean;
  route?: CompiledRoute;
  findings?: Record<string, number>;
  /** Only with log_prompts: the redacted prompt text for the audit event. */
  prompt?: string;
  /** An unrecognised request let out with pseudonyms: does its answer need JSON escapes? */
  jsonAnswer?: boolean;
  /** A Responses WebSocket: who answers it, and its redaction across turns. */
  socket?: SocketState;
  /** A model list Sluice answers: the names the routes accept. */
  listing?: ModelList;
}

interface Generation {
  table: RouteTable;
  backends: Map<string, Backend>;
  health: HealthMonitor;
  hosts: LlmHosts;
  logPrompts: boolean;
}

/** The header the provider's SDK reads its request id from (shown in its errors and logs). */
function requestIdHeader(shape: LlmShape, id: string): Record<string, string> {
  if (shape === 'openai') return { 'x-request-id': `sluice-${id}` };
  if (shape === 'anthropic') return { 'request-id': `sluice-${id}` };
  return {};
}

function withRequestId(st: CallState, id: string, out: StageResponse): StageResponse {
  return { ...out, headers: { ...requestIdHeader(st.shape, id), ...out.headers } };
}

/** What every refusal on an LLM host carries besides its body: the request id, and no retry of a 4xx. */
function refusalHeaders(shape: LlmShape, id: string, status: number): Record<string, string> {
  return { ...(status < 500 ? { 'x-should-retry': 'false' } : {}), ...requestIdHeader(shape, id) };
}

/**
 * The privacy router as a stage. It owns every request on an LLM host (see core/llm.ts): a
 * recognised call is routed, denied or let out to the provider by the first matching route; an
 * unrecognised request only by an `allow` route (every string of its JSON body redacted), unless
 * an exact L7 rule already let it out as it is. It reads the classification made at ingress and
 * the network policy's verdict the policy stage left on the context; it asks no other stage.
 */
export function createPrivacyRouter(opts: PrivacyRouterOptions): PrivacyRouter {
  const key = Symbol('privacy');
  const intervalMs = opts.healthIntervalMs ?? DEFAULT_HEALTH_INTERVAL_MS;
  const redactorNow = (): RouterRedactor | undefined => (typeof opts.redactor === 'function' ? opts.redactor() : opts.redactor);

  const build = (config: InferenceConfig | undefined): Generation => {
    const table = compileRoutes(config);
    const backends = new Map([...table.backends].map(([name, cfg]) => [name, createBackend(name, cfg)]));
    return {
      table,
      backends,
      health: createHealthMonitor([...backends.values()], opts.credentials, intervalMs),
      hosts: llmHosts(table),
      logPrompts: config?.log_prompts === true,
    };
  };
  let gen = build(opts.config);

  const emit = (ctx: RequestContext, st: CallState, extra: Partial<LlmCallEvent> & { action: 'route' | 'allow' | 'deny'; backend: string }): void => {
    opts.bus.emit({
      type: 'llm_call',
      time: Date.now(),
      src: ctx.src,
      dst: { host: ctx.dest.host, port: ctx.dest.port },
      method: ctx.method,
      path: ctx.classification.path,
      api: st.api ?? 'unrecognised',
      ...(st.requestedModel ? { requestedModel: st.requestedModel } : {}),
      ...(st.route ? { route: st.route.name } : {}),
      stream: st.stream,
      ...(st.findings && Object.keys(st.findings).length ? { redactions: st.findings } : {}),
      ...(st.prompt !== undefined ? { prompt: st.prompt } : {}),
      ...extra,
    });
  };

  const refuse = (ctx: RequestContext, st: CallState, err: SluiceError, rule?: string): never => {
    const reason = String(err.context.reason ?? err.message);
    emit(ctx, st, { action: 'deny', backend: 'none', reason, status: err.status });
    ctx.decision = deny(err.wire, reason, rule ? { rule } : {});
    throw err;
  };

  /** `allow` goes to the original provider; `openai`/`anthropic` backends are hosted too. */
  const leavesMachine = (route: CompiledRoute): boolean => {
    if (route.action === 'allow') return true;
    if (route.action !== 'route') return false;
    return [route.backend, route.fallback].some((name) => {
      const type = name ? gen.table.backends.get(name)?.type : undefined;
      return type === 'openai' || type === 'anthropic';
    });
  };

  /** Reads the body: a recognised call must be a JSON object; an unrecognised request may be anything. */
  const readBody = (ctx: RequestContext, st: CallState, raw: Buffer | undefined): void => {
    const needsObject = st.api !== undefined && kindOf(st.api) !== 'models' && kindOf(st.api) !== 'socket' && kindOf(st.api) !== 'session';
    if (raw === undefined || raw.length === 0) {
      if (needsObject) throw new SluiceError('SLUICE_BAD_REQUEST', `${ctx.method} ${ctx.classification.path} needs a JSON object body`);
      return;
    }
    try {
      st.body = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      if (needsObject) throw new SluiceError('SLUICE_BAD_REQUEST', `invalid JSON body: ${(err as Error).message}`);
      return;
    }
    if (needsObject && !isObj(st.body)) throw new SluiceError('SLUICE_BAD_REQUEST', 'the body is not a JSON object');
    if (!isObj(st.body)) return;
    // Gemini names the model and whether it streams in the path, the others in the body.
    st.requestedModel = st.shape === 'gemini' ? modelInPath(ctx.classification.path) : typeof st.body.model === 'string' ? st.body.model : undefined;
    st.stream = st.shape === 'ollama' && st.api !== undefined ? st.body.stream !== false : st.shape === 'gemini' ? st.api === 'gemini-stream' : st.body.stream === true;
    ctx.classification.stream = st.stream;
  };

  /**
   * The call's fate, before anything is answered or sent: the route (on what the body says and
   * what redaction found), then what that route does with it. Returns the body to send when the
   * call goes out to the provider redacted.
   */
  const decide = async (ctx: RequestContext, st: CallState, raw: Buffer | undefined): Promise<Buffer | undefined> => {
    const host = ctx.dest.host;
    readBody(ctx, st, raw);
    const large = raw !== undefined && raw.length >= YIELD_BODY_BYTES;
    const redactor = redactorNow();
    let sensitive: boolean | undefined;
    let found: LlmFindings | undefined;
    if (redactor?.enabled && st.body !== undefined) {
      if (large) await yieldToLoop();
      // Found once, nothing rewritten yet: the route may turn on it, and only a call that leaves the machine
      // needs the rewritten copy (and its values in the conversation's vault).
      found = await redactor.findInLlmRequest(st.api, st.body);
      st.findings = found.counts;
      sensitive = Object.values(found.counts).some((n) => n > 0) || found.blocked.length > 0;
      if (large) await yieldToLoop();
    }
    let copy: Redacted | undefined;
    /** A rewritten copy of the body (a local backend gets the original text), made on first need. */
    const redacted = (): Redacted => {
      if (copy) return copy;
      const vault = redactor!.vault(redactor!.conversationKey(st.api, st.body));
      const body = structuredClone(st.body);
      redactor!.redactLlmRequestWith(st.api, body, vault, found!);
      return (copy = { body, vault });
    };
    if (found && gen.logPrompts) st.prompt = promptText(redacted().body);
    const kind = st.api !== undefined ? kindOf(st.api) : undefined;
    const listing = kind === 'models' ? gen.table.modelList(st.shape, host) : undefined;
    if (listing && !listing.passThrough) st.listing = listing;
    const route = kind === 'models' ? listing?.route : kind === 'session' ? gen.table.matchCopilotSession() : gen.table.match(st.shape, st.requestedModel, sensitive, host);
    if (st.api === SOCKET_API && (route?.action === 'route' || route?.action === 'allow')) st.socket = { mode: route.action, turns: [] };
    st.route = route;
    ctx.route = route ? { name: route.name, action: route.action, ...(route.backend ? { backend: route.backend, model: route.model ?? st.requestedModel ?? '' } : {}) } : { name: 'none', action: 'deny' };
    const what = st.api ?? `${ctx.method} ${ctx.classification.path}`;

    if (route?.action === 'deny') {
      const reason = route.reason ?? `inference route "${route.name}" denies this call`;
      return refuse(ctx, st, new SluiceError('SLUICE_ROUTE_DENIED', reason, { reason, rule: route.name }), route.name);
    }
    if (st.api === undefined && route?.action !== 'allow') {
      const reason = `${what} on ${host} is not a call the privacy router recognises, so no backend can answer it, and nothing lets it out to the provider (privacy fails closed); an inference route with action: allow, or a network-policy rule naming this exact method and path, would`;
      return refuse(ctx, st, new SluiceError('SLUICE_LLM_UNRECOGNISED', reason, { reason, ...(route ? { rule: route.name } : {}) }), route?.name);
    }
    if (!route) {
      const reason = `no inference route matches ${what} model "${st.requestedModel ?? ''}"`;
      return refuse(ctx, st, new SluiceError('SLUICE_ROUTE_DENIED', reason, { reason }));
    }
    if (found?.blocked.length && leavesMachine(route)) {
      const reason = `blocked entity types: ${found.blocked.join(', ')}`;
      return refuse(ctx, st, new SluiceError('SLUICE_REDACTION_BLOCKED', `the request contains data that may not leave this machine: ${found.blocked.join(', ')}`, { reason }), route.name);
    }
    if (st.listing) {
      ctx.decision = allow('answered by Sluice: the model names the inference routes accept', { rule: route.name });
      return undefined;
    }
    if (route.action === 'allow') return letOut(ctx, st, route, redactor, sensitive ? redacted : undefined, large);
    if (sensitive && leavesMachine(route)) {
      const { body, vault } = redacted();
      st.body = body;
      const kind = kindOf(st.api!);
      if (kind === 'chat' || kind === 'completions') ctx.responseFilters.push(createResponseRestorer(st.shape, st.stream, redactor!, vault));
    }
    ctx.decision = allow(`answered by inference backend "${route.backend ?? ''}"`, { rule: route.name });
    return undefined;
  };

  /** An `allow` route: the request goes to the host the agent called, if the network policy lets it. */
  const letOut = async (ctx: RequestContext, st: CallState, route: CompiledRoute, redactor: RouterRedactor | undefined, redacted: (() => Redacted) | undefined, large: boolean): Promise<Buffer | undefined> => {
    const network = ctx.network ?? deny('policy_denied', `no network verdict for ${ctx.dest.authority}`);
    if (network.action !== 'allow') return refuse(ctx, st, decisionError(network), network.rule);
    if (st.api === undefined && ctx.hasBody && st.body === undefined && redactor?.enabled) {
      const reason = `${ctx.method} ${ctx.classification.path} on ${ctx.dest.host} is not a call the privacy router recognises and its body is not JSON, so it cannot be redacted; Sluice does not let it out`;
      return refuse(ctx, st, new SluiceError('SLUICE_LLM_UNRECOGNISED', reason, { reason, rule: route.name }), route.name);
    }
    ctx.decision = allow(`inference route "${route.name}" lets this call out to ${ctx.dest.host}`, { rule: route.name, ...(network.policy ? { policy: network.policy } : {}) });
    // A Responses WebSocket is no call yet: each of its turns is audited as one (responses-socket.ts).
    if (st.api !== SOCKET_API) emit(ctx, st, { action: 'allow', backend: 'upstream', ...(st.requestedModel ? { backendModel: st.requestedModel } : {}) });
    if (!redacted || !redactor) return undefined;
    const { body, vault } = redacted();
    // The answer has pseudonyms to put back; an encoded answer would hide them from the restorer.
    ctx.headers['accept-encoding'] = 'identity';
    if (st.api === undefined) {
      ctx.responseFilters.push(createTextRestoreFilter(redactor, vault, () => st.jsonAnswer ?? true));
    } else {
      const kind = kindOf(st.api);
      if (kind === 'chat' || kind === 'completions') ctx.responseFilters.push(createResponseRestorer(st.shape, st.stream, redactor, vault));
    }
    if (large) await yieldToLoop();
    return Buffer.from(JSON.stringify(body));
  };

  const attemptsFor = (route: CompiledRoute, requestedModel: string): Attempt[] => {
    const out: Attempt[] = [];
    const primary = route.backend ? gen.backends.get(route.backend) : undefined;
    if (primary) out.push({ backend: primary, model: route.model ?? requestedModel });
    const fb = route.fallback ? gen.backends.get(route.fallback) : undefined;
    if (fb) out.push({ backend: fb, model: route.fallbackModel ?? requestedModel });
    return out;
  };

  /**
   * A model list: the names the routes accept, then (where a model-independent route routes) its
   * backend's own names that the routes accept too, in the caller's list shape. For Copilot
   * clients, which pick only ids they know, Copilot's own ids the routes accept come first.
   */
  const listModels = async (ctx: RequestContext, st: CallState, listing: ModelList): Promise<StageResponse> => {
    const names = new Set<string>(st.api === 'copilot-models' ? COPILOT_MODELS.map(([id]) => id).filter(listing.accepts) : []);
    for (const n of listing.names) names.add(n);
    const errors: string[] = [];
    for (const { backend } of listing.backendRoute ? attemptsFor(listing.backendRoute, '') : []) {
      try {
        for (const m of await gen.health.models(backend)) if (listing.accepts(m)) names.add(m);
        errors.length = 0;
        break;
      } catch (err) {
        errors.push(`${backend.name}: ${(err as Error).message}`);
      }
    }
    const backend = listing.backendRoute?.backend ?? 'sluice';
    emit(ctx, st, { action: 'route', backend, status: names.size || !errors.length ? 200 : 503, ...(errors.length ? { reason: errors.join('; ') } : {}) });
    if (names.size === 0 && errors.length) return errorResponse(st.shape, { status: 503, kind: 'overloaded', message: `model list unavailable: ${errors.join('; ')}` });
    const body = st.api === 'copilot-models' ? renderCopilotModelList([...names]) : renderModelList(st.shape, [...names]);
    return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
  };

  /** A recognised call the route sends to a backend: translated there and back, fallback included. */
  const answer = async (ctx: RequestContext, st: CallState, api: LlmApi, route: CompiledRoute, requestBytes: number, events?: (event: ChatEvent) => void): Promise<StageResponse> => {
    const attempts = attemptsFor(route, st.requestedModel ?? '');
    if (attempts.length === 0) {
      // Only possible when a reload removed the backend between this call's body and its answer.
      const message = `inference backend "${route.backend ?? ''}" is no longer configured`;
      emit(ctx, st, { action: 'route', backend: route.backend ?? 'none', status: 503, reason: message });
      return errorResponse(st.shape, { status: 503, kind: 'overloaded', message });
    }
    if (api === 'gemini-stream' && new URLSearchParams(ctx.query).get('alt') !== 'sse') {
      // Without alt=sse Gemini streams one JSON array; Sluice's router speaks only the SSE form Gemini's SDKs ask for.
      const message = 'Sluice answers streamGenerateContent with ?alt=sse only (as Google\'s SDKs and Gemini CLI call it)';
      emit(ctx, st, { action: 'route', backend: route.backend ?? 'none', status: 400, reason: message });
      return errorResponse(st.shape, { status: 400, kind: 'invalid_request', message });
    }
    const stats = new CallStats();
    stats.requestBytes = requestBytes;
    let reported = false;
    const call: RoutedCall = {
      route: route.name,
      clientShape: st.shape,
      client: api === 'openai-completions' ? openAICompletions : api === 'ollama-generate' ? ollamaGenerate : codecs[st.shape],
      kind: kindOf(api),
      body: st.body as Json,
      requestedModel: st.requestedModel ?? '',
      stream: st.stream,
      clientHeaders: ctx.headers,
      cancel: ctx.cancel,
      stats,
      ...(events ? { events } : {}),
      done() {
        if (reported) return;
        reported = true;
        emit(ctx, st, {
          action: 'route',
          backend: stats.backend ?? route.backend ?? 'none',
          ...(stats.backendModel ? { backendModel: stats.backendModel } : {}),
          status: stats.status,
          ...(stats.inputTokens !== undefined ? { inputTokens: stats.inputTokens } : {}),
          ...(stats.outputTokens !== undefined ? { outputTokens: stats.outputTokens } : {}),
          ...(stats.ttftMs !== undefined ? { ttftMs: stats.ttftMs } : {}),
          durationMs: stats.elapsed(),
          requestBytes: stats.requestBytes,
          responseBytes: stats.responseBytes,
          ...(stats.error ? { reason: stats.error } : {}),
        });
      },
    };
    const result = await executeCall(call, attempts, opts.credentials);
    ctx.decision = allow(`answered by inference backend "${result.attempt.backend.name}"`, { rule: route.name });
    const out = result.response;
    if (typeof out.body === 'string' || out.body instanceof Uint8Array) return out;
    return { ...out, body: countBytes(out.body, stats) };
  };

  const socketDeps: SocketDeps = {
    redactor: redactorNow,
    match: (model, sensitive, host) => gen.table.match('responses', model, sensitive, host),
    leavesMachine,
    allowed(ctx, route, model, findings) {
      emit(ctx, { api: SOCKET_API, shape: 'responses', stream: true, route, ...(model ? { requestedModel: model } : {}), ...(findings ? { findings } : {}) }, { action: 'allow', backend: 'upstream', ...(model ? { backendModel: model } : {}) });
    },
    answer(ctx, route, turn, model, findings, events) {
      const st: CallState = { api: SOCKET_API, shape: 'responses', body: { ...turn.body, stream: true }, requestedModel: model, stream: true, route, ...(findings ? { findings } : {}) };
      return answer(ctx, st, 'openai-responses', route, turn.bytes, events);
    },
  };

  /** The routes keep Copilot's calls here: Sluice is the session, naming a model host the router answers. */
  const copilotSession = (ctx: RequestContext, st: CallState, api: 'copilot-user' | 'copilot-token', route: CompiledRoute): StageResponse => {
    ctx.decision = allow(`answered by Sluice: inference route "${route.name}" keeps GitHub Copilot's calls on this machine`, { rule: route.name });
    emit(ctx, st, { action: 'route', backend: 'sluice', status: 200 });
    return { status: 200, headers: { 'content-type': 'application/json', 'x-github-request-id': `sluice-${ctx.id}` }, body: JSON.stringify(copilotSessionAnswer(api, Date.now())) };
  };

  const stage: Stage = {
    name: 'privacy',
    // Not async: on a host that is not an LLM's nothing is awaited, and the exchange awaits only a promise.
    onRequestHeaders(ctx) {
      const c = ctx.classification;
      // An exact L7 rule already let this unrecognised request out as it is (the policy stage says so).
      if (c.hostClass === 'other' || ctx.decision !== undefined) return undefined;
      const st: CallState = { api: c.api, shape: c.shape ?? 'openai', stream: false };
      ctx.state.set(key, st);
      if (ctx.hasBody) {
        ctx.bufferRequestBody = Math.min(ctx.bufferRequestBody ?? MAX_LLM_BODY, MAX_LLM_BODY);
        return undefined;
      }
      return decide(ctx, st, undefined).then(() => undefined);
    },
    onRequestBody(ctx, body) {
      const st = ctx.state.get(key) as CallState | undefined;
      if (!st) return undefined;
      return decide(ctx, st, body);
    },
    respond(ctx, body) {
      const st = ctx.state.get(key) as CallState | undefined;
      const route = st?.route;
      if (!st || st.api === undefined || route === undefined) return undefined;
      const api = st.api;
      return (async () => {
        if (st.listing) return withRequestId(st, ctx.id, await listModels(ctx, st, st.listing));
        if (route.action !== 'route') return undefined;
        if (api === 'copilot-user' || api === 'copilot-token') return copilotSession(ctx, st, api, route);
        const bytes = body instanceof Buffer ? body.length : 0;
        // decide() ended with rewriting the body; translating and serialising it for the backend is the next step.
        if (bytes >= YIELD_BODY_BYTES) await yieldToLoop();
        return withRequestId(st, ctx.id, await answer(ctx, st, api, route, bytes));
      })();
    },
    onWebSocketMessage(ctx, message) {
      const st = ctx.state.get(key) as CallState | undefined;
      if (st?.socket) return socketMessage(socketDeps, ctx, st.socket, message);
      return undefined;
    },
    acceptWebSocket(ctx) {
      const st = ctx.state.get(key) as CallState | undefined;
      return st?.socket?.mode === 'route' ? socketPeer(socketDeps, ctx, st.socket) : undefined;
    },
    onResponseHeaders(ctx, head) {
      const st = ctx.state.get(key) as CallState | undefined;
      if (st) st.jsonAnswer = /json|event-stream/i.test(String(head.headers['content-type'] ?? ''));
    },
    renderError(ctx, err) {
      const shape = ctx.classification.shape;
      if (shape === undefined) return undefined;
      if (ctx.classification.api !== undefined && kindOf(ctx.classification.api) === 'session') {
        // Copilot's session endpoints are GitHub's REST API: its clients read GitHub's error shape.
        return { status: err.status, headers: { 'content-type': 'application/json', ...refusalHeaders(shape, ctx.id, err.status) }, body: JSON.stringify({ message: `${err.message} [sluice: ${err.wire}]`, documentation_url: 'https://docs.github.com/rest', status: String(err.status) }) };
      }
      return errorResponse(shape, { status: err.status, kind: kindForStatus(err.status), message: `${err.message} [sluice: ${err.wire}]` }, refusalHeaders(shape, ctx.id, err.status));
    },
  };

  return {
    stage,
    hostClass: (dest) => gen.hosts.classOf(dest),
    apiPath: (dest, path) => gen.hosts.apiPath(dest, path),
    reload(config) {
      const old = gen;
      gen = build(config);
      // Calls in flight keep their backends: Pool.close() waits for them before closing sockets.
      void old.health.close();
      void Promise.allSettled([...old.backends.values()].map((b) => b.close()));
    },
    async close() {
      await gen.health.close();
      await Promise.allSettled([...gen.backends.values()].map((b) => b.close()));
    },
    health() {
      return gen.health.snapshot();
    },
  };
}
