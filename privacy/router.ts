import type { EventBus, LlmCallEvent } from '../core/index.js';
import { SluiceError, allow } from '../core/index.js';
import type { RequestContext, Stage, StageResponse } from '../core/index.js';
import type { Backend, CredentialSource } from './backend.js';
import { createBackend } from './backend.js';
import type { Attempt, RoutedCall } from './call.js';
import { errorResponse, executeCall } from './call.js';
import type { LlmApi } from './detect.js';
import { DEFAULT_LLM_HOSTS, VIRTUAL_HOST, detectLlmApi, kindOf, shapeOf } from './detect.js';
import type { BackendHealth, HealthMonitor } from './health.js';
import { createHealthMonitor } from './health.js';
import type { CompiledRoute, RouteTable } from './routes.js';
import { compileRoutes } from './routes.js';
import type { InferenceConfig } from './schema.js';
import { CallStats, countBytes } from './stats.js';
import { codecs, ollamaGenerate, openAICompletions, renderModelList } from './translate/index.js';
import { kindForStatus } from './translate/chat.js';
import type { RouterRedactor } from './restore.js';
import { createResponseRestorer } from './restore.js';

type Json = Record<string, unknown>;

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
  isLlmHost(host: string): boolean;
  /** For the policy stage: is this method+path on an LLM host a call the router decides? */
  isLlmCall(host: string, method: string, path: string): boolean;
  reload(config: InferenceConfig | undefined): void;
  close(): Promise<void>;
  health(): Record<string, BackendHealth>;
}

/** LLM request bodies (with images) can be large; the cap keeps one call from exhausting memory. */
export const MAX_LLM_BODY = 32 * 1024 * 1024;
const DEFAULT_HEALTH_INTERVAL_MS = 30_000;

const MAX_LOGGED_PROMPT = 8 * 1024;
const TEXT_KEYS = new Set(['content', 'text', 'system', 'prompt', 'input']);

/** The prose of a (redacted) request body: message contents, system prompts, prompts. */
function promptText(body: unknown): string {
  const parts: string[] = [];
  let size = 0;
  const stack: Array<[unknown, boolean]> = [[body, false]];
  while (stack.length && size < MAX_LOGGED_PROMPT) {
    const [value, wanted] = stack.pop()!;
    if (typeof value === 'string') {
      if (wanted) {
        parts.push(value);
        size += value.length;
      }
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push([value[i], wanted]);
    } else if (value !== null && typeof value === 'object') {
      const entries = Object.entries(value);
      for (let i = entries.length - 1; i >= 0; i--) stack.push([entries[i]![1], wanted || TEXT_KEYS.has(entries[i]![0])]);
    }
  }
  return parts.join('\n').slice(0, MAX_LOGGED_PROMPT);
}

interface CallState {
  api: LlmApi;
  body?: Json;
  parseError?: string;
  requestedModel?: string;
  stream: boolean;
  route?: CompiledRoute;
  findings?: Record<string, number>;
  /** The body was replaced by its redacted form. */
  redacted?: boolean;
  /** Only with log_prompts: the redacted prompt text for the audit event. */
  prompt?: string;
  decided: boolean;
}

interface Generation {
  table: RouteTable;
  backends: Map<string, Backend>;
  health: HealthMonitor;
  hosts: Set<string>;
  logPrompts: boolean;
}

export function createPrivacyRouter(opts: PrivacyRouterOptions): PrivacyRouter {
  const key = Symbol('privacy');
  const intervalMs = opts.healthIntervalMs ?? DEFAULT_HEALTH_INTERVAL_MS;

  const build = (config: InferenceConfig | undefined): Generation => {
    const table = compileRoutes(config);
    const backends = new Map([...table.backends].map(([name, cfg]) => [name, createBackend(name, cfg)]));
    return {
      table,
      backends,
      health: createHealthMonitor([...backends.values()], opts.credentials, intervalMs),
      hosts: new Set([...DEFAULT_LLM_HOSTS, ...table.extraHosts.map((h) => h.toLowerCase())]),
      logPrompts: config?.log_prompts === true,
    };
  };
  let gen = build(opts.config);

  const emit = (ctx: RequestContext, st: CallState, extra: Partial<LlmCallEvent> & { action: 'route' | 'allow' | 'deny'; backend: string }): void => {
    opts.bus.emit({
      type: 'llm_call',
      time: Date.now(),
      src: ctx.src,
      api: st.api,
      ...(st.requestedModel ? { requestedModel: st.requestedModel } : {}),
      ...(st.route ? { route: st.route.name } : {}),
      stream: st.stream,
      ...(st.findings && Object.keys(st.findings).length ? { redactions: st.findings } : {}),
      ...(st.prompt !== undefined ? { prompt: st.prompt } : {}),
      ...extra,
    });
  };

  const decide = async (ctx: RequestContext, st: CallState, raw: Buffer): Promise<void> => {
    if (st.decided) return;
    st.decided = true;
    const shape = shapeOf(st.api);
    if (kindOf(st.api) === 'models') {
      st.route = gen.table.matchApi(shape);
      return;
    }
    try {
      const parsed: unknown = JSON.parse(raw.toString('utf8'));
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('the body is not a JSON object');
      st.body = parsed as Json;
    } catch (err) {
      st.parseError = (err as Error).message;
      return;
    }
    st.requestedModel = typeof st.body.model === 'string' ? st.body.model : undefined;
    st.stream = shape === 'ollama' ? st.body.stream !== false : st.body.stream === true;
    const redactor = typeof opts.redactor === 'function' ? opts.redactor() : opts.redactor;
    if (!redactor?.enabled) {
      st.route = gen.table.match(shape, st.requestedModel, undefined);
      return;
    }
    const conversation = redactor.conversationKey(st.api, st.body);
    const vault = redactor.vault(conversation);
    // Redact a copy: a local backend gets the original text.
    const redacted = structuredClone(st.body);
    const result = redactor.redactLlmRequest(st.api, redacted, vault);
    st.findings = result.counts;
    if (gen.logPrompts) st.prompt = promptText(redacted);
    const sensitive = Object.values(result.counts).some((n) => n > 0) || result.blocked.length > 0;
    const route = gen.table.match(shape, st.requestedModel, sensitive);
    st.route = route;
    if (!route || !leavesMachine(route)) return;
    if (result.blocked.length) {
      const reason = `blocked entity types: ${result.blocked.join(', ')}`;
      emit(ctx, st, { action: 'deny', backend: 'none', reason, status: 403 });
      throw new SluiceError('SLUICE_REDACTION_BLOCKED', `the request contains data that may not leave this machine: ${result.blocked.join(', ')}`, { reason });
    }
    if (!sensitive) return;
    st.body = redacted;
    st.redacted = true;
    const kind = kindOf(st.api);
    if (kind === 'chat' || kind === 'completions') ctx.responseFilters.push(createResponseRestorer(shape, st.stream, redactor, vault));
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

  const denyIfNeeded = (ctx: RequestContext, st: CallState): void => {
    const route = st.route;
    if (route && route.action !== 'deny') return;
    const reason = route ? (route.reason ?? `inference route "${route.name}" denies this call`) : `no inference route matches ${st.api} model "${st.requestedModel ?? ''}"`;
    emit(ctx, st, { action: 'deny', backend: 'none', reason, status: 403 });
    ctx.decision = { action: 'deny', code: 'route_denied', reason, ...(route ? { rule: route.name } : {}) };
    throw new SluiceError('SLUICE_ROUTE_DENIED', reason, { reason, ...(route ? { rule: route.name } : {}) });
  };

  const attemptsFor = (route: CompiledRoute, requestedModel: string): Attempt[] => {
    const out: Attempt[] = [];
    const primary = route.backend ? gen.backends.get(route.backend) : undefined;
    if (primary) out.push({ backend: primary, model: route.model ?? requestedModel });
    const fb = route.fallback ? gen.backends.get(route.fallback) : undefined;
    if (fb) out.push({ backend: fb, model: route.fallbackModel ?? requestedModel });
    return out;
  };

  const listModels = async (ctx: RequestContext, st: CallState, route: CompiledRoute): Promise<StageResponse> => {
    const shape = shapeOf(st.api);
    const names = new Set<string>();
    const errors: string[] = [];
    for (const { backend } of attemptsFor(route, '')) {
      try {
        for (const m of await gen.health.models(backend)) names.add(m);
        break;
      } catch (err) {
        errors.push(`${backend.name}: ${(err as Error).message}`);
      }
    }
    emit(ctx, st, { action: 'route', backend: route.backend ?? 'none', status: names.size || !errors.length ? 200 : 503 });
    if (names.size === 0 && errors.length) return errorResponse(shape, { status: 503, kind: 'overloaded', message: `model list unavailable: ${errors.join('; ')}` });
    return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(renderModelList(shape, [...names])) };
  };

  const stage: Stage = {
    name: 'privacy',
    onConnect(ctx) {
      // inference.local exists only inside Sluice: no DNS, no network policy entry needed.
      if (ctx.dest.host === VIRTUAL_HOST) ctx.decision = allow('answered by the privacy router', { rule: VIRTUAL_HOST });
    },
    renderError(ctx, err) {
      const st = ctx.state.get(key) as CallState | undefined;
      if (!st) return undefined;
      return errorResponse(shapeOf(st.api), { status: err.status, kind: kindForStatus(err.status), message: `${err.message} [sluice: ${err.wire}]` });
    },
    onRequestHeaders(ctx) {
      if (!gen.hosts.has(ctx.dest.host)) return;
      const api = detectLlmApi(ctx.dest.host, ctx.method, ctx.path, ctx.headers);
      if (!api) return;
      ctx.state.set(key, { api, stream: false, decided: false } satisfies CallState);
      if (kindOf(api) !== 'models') ctx.bufferRequestBody = Math.min(ctx.bufferRequestBody ?? MAX_LLM_BODY, MAX_LLM_BODY);
    },
    async onRequestBody(ctx, body) {
      const st = ctx.state.get(key) as CallState | undefined;
      if (!st) return undefined;
      await decide(ctx, st, body);
      denyIfNeeded(ctx, st);
      if (st.route?.action === 'allow' && st.body && st.redacted) {
        return Buffer.from(JSON.stringify(st.body));
      }
      return undefined;
    },
    async respond(ctx, body) {
      const st = ctx.state.get(key) as CallState | undefined;
      if (!st) return undefined;
      await decide(ctx, st, Buffer.isBuffer(body) ? body : await collect(body as AsyncIterable<Uint8Array>));
      denyIfNeeded(ctx, st);
      const route = st.route!;
      const shape = shapeOf(st.api);
      if (route.action === 'allow') {
        emit(ctx, st, { action: 'allow', backend: 'upstream', backendModel: st.requestedModel });
        return undefined;
      }
      if (kindOf(st.api) === 'models') return listModels(ctx, st, route);
      if (!st.body) {
        emit(ctx, st, { action: 'route', backend: route.backend ?? 'none', status: 400, reason: st.parseError });
        return errorResponse(shape, { status: 400, kind: 'invalid_request', message: `invalid JSON body: ${st.parseError ?? ''}` });
      }
      const attempts = attemptsFor(route, st.requestedModel ?? '');
      if (attempts.length === 0) {
        // Only possible when a reload removed the backend between this call's body and its answer.
        const message = `inference backend "${route.backend ?? ''}" is no longer configured`;
        emit(ctx, st, { action: 'route', backend: route.backend ?? 'none', status: 503, reason: message });
        return errorResponse(shape, { status: 503, kind: 'overloaded', message });
      }
      const stats = new CallStats();
      let reported = false;
      const call: RoutedCall = {
        clientShape: shape,
        client: st.api === 'openai-completions' ? openAICompletions : st.api === 'ollama-generate' ? ollamaGenerate : codecs[shape],
        kind: kindOf(st.api),
        body: st.body,
        requestedModel: st.requestedModel ?? '',
        stream: st.stream,
        clientHeaders: ctx.headers,
        signal: ctx.signal,
        stats,
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
      stats.requestBytes = body instanceof Buffer ? body.length : 0;
      const result = await executeCall(call, attempts, opts.credentials);
      ctx.decision = allow(`answered by inference backend "${result.attempt.backend.name}"`, { rule: route.name });
      const out = result.response;
      if (typeof out.body === 'string' || out.body instanceof Uint8Array) return out;
      return { ...out, body: countBytes(out.body, stats) };
    },
  };

  return {
    stage,
    isLlmHost(host) {
      return gen.hosts.has(host.toLowerCase());
    },
    isLlmCall(host, method, path) {
      return gen.hosts.has(host.toLowerCase()) && detectLlmApi(host.toLowerCase(), method, path, {}) !== undefined;
    },
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

async function collect(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_LLM_BODY) throw new SluiceError('SLUICE_BODY_TOO_LARGE', `LLM request body larger than ${MAX_LLM_BODY} bytes`);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}
