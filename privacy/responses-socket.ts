import type { RequestContext, StageResponse, WebSocketMessage, WebSocketPeer } from '../core/index.js';
import { SluiceError } from '../core/index.js';
import type { EventRestorer } from './restore-events.js';
import { createResponsesRestorer } from './restore-events.js';
import type { RouterRedactor } from './restore.js';
import { createResponsesSession, isApiError } from './responses-session.js';
import type { Turn } from './responses-session.js';
import type { CompiledRoute } from './routes.js';
import type { ApiError, ChatEvent } from './translate/index.js';
import { parseBackendError } from './translate/index.js';

/**
 * The Responses API over WebSocket (Codex's default transport), as the router handles it. The
 * upgrade carries no model, so its route is the one for a call of no particular model; that route
 * says who answers the whole connection: `route`, Sluice itself (one backend call per
 * `response.create`, see responses-session.ts); `allow`, the provider, relayed message by message.
 * Either way each `response.create` is routed again on its own model and findings; a turn whose
 * route would switch between the two is refused (a connection cannot change its far side), and so
 * is a turn a route denies. Each turn that leaves the machine is redacted, and what comes back is
 * restored event by event with one vault per connection, so a pseudonym means the same across turns.
 */
type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

export const SOCKET_API = 'openai-responses-socket';

export interface SocketState {
  mode: 'route' | 'allow';
  vault?: unknown;
  restorer?: EventRestorer;
  /** Route mode: the routes of the turns the session will run, in order, and what each turn holds (for its audit). */
  turns: { route: CompiledRoute; findings: Record<string, number> | undefined }[];
}

export interface SocketDeps {
  redactor(): RouterRedactor | undefined;
  match(model: string | undefined, sensitive: boolean | undefined, host: string): CompiledRoute | undefined;
  leavesMachine(route: CompiledRoute): boolean;
  /** An allowed turn goes out: audit it. */
  allowed(ctx: RequestContext, route: CompiledRoute, model: string | undefined, findings: Record<string, number> | undefined): void;
  /**
   * A routed turn: its answer's events go to `events` as the backend streams them, while the body returned is
   * read (it yields nothing); an error status comes back as an error body instead.
   */
  answer(ctx: RequestContext, route: CompiledRoute, turn: Turn, model: string, findings: Record<string, number> | undefined, events: (event: ChatEvent) => void): Promise<StageResponse>;
}

function describe(route: CompiledRoute): string {
  return route.action === 'allow' ? 'lets it out to the provider' : `sends it to backend "${route.backend ?? ''}"`;
}

/** The router's per-message hook for a Responses WebSocket; returns the messages to send on. */
export function socketMessage(deps: SocketDeps, ctx: RequestContext, st: SocketState, message: WebSocketMessage): Buffer | Buffer[] | void | Promise<Buffer | void> {
  const redactor = deps.redactor();
  if (message.direction === 'in') {
    if (!st.restorer || message.binary) return;
    let event: unknown;
    try {
      event = JSON.parse(message.data.toString('utf8'));
    } catch {
      return;
    }
    if (!isObj(event)) return;
    return st.restorer.restore(event).map((e) => Buffer.from(JSON.stringify(e)));
  }
  let msg: unknown;
  try {
    msg = JSON.parse(message.data.toString('utf8'));
  } catch {
    msg = undefined;
  }
  if (!isObj(msg) || message.binary) {
    // Sluice's own session answers what it cannot read; a relayed one cannot be redacted, so it stops here.
    if (st.mode === 'route' || !redactor?.enabled) return;
    throw new SluiceError('SLUICE_BAD_REQUEST', 'a Responses WebSocket message that is not a JSON object cannot be redacted; Sluice does not relay it', { reason: 'unreadable message on a redacted connection' });
  }
  const vaultFor = (body: Json): unknown => (st.vault ??= redactor!.vault(redactor!.conversationKey(SOCKET_API, body)));
  if (msg.type !== 'response.create') {
    if (st.mode === 'route' || !redactor?.enabled) return;
    // Some other client event relayed to the provider: every string of it redacted, as for an unrecognised call.
    const copy = structuredClone(msg);
    redactor.redactLlmRequest(undefined, copy, vaultFor(msg));
    return Buffer.from(JSON.stringify(copy));
  }
  const { type, ...body } = msg;
  return turn(deps, ctx, st, redactor, { type, body }, vaultFor);
}

/**
 * One `response.create`: found in once (off the event loop when large), routed on its model and findings,
 * and rewritten (its values into the connection's vault) only when it leaves the machine. The relay runs a
 * direction's messages one after another, so turns stay in order while one waits here.
 */
async function turn(deps: SocketDeps, ctx: RequestContext, st: SocketState, redactor: RouterRedactor | undefined, { type, body }: { type: unknown; body: Json }, vaultFor: (body: Json) => unknown): Promise<Buffer | void> {
  const model = typeof body.model === 'string' ? body.model : undefined;
  const found = redactor?.enabled ? await redactor.findInLlmRequest(SOCKET_API, body) : undefined;
  const sensitive = found !== undefined && (Object.values(found.counts).some((n) => n > 0) || found.blocked.length > 0);
  const route = deps.match(model, sensitive, ctx.dest.host);
  if (!route || route.action === 'deny') {
    const reason = route?.reason ?? (route ? `inference route "${route.name}" denies this call` : `no inference route matches openai-responses model "${model ?? ''}"`);
    throw new SluiceError('SLUICE_ROUTE_DENIED', reason, { reason, ...(route ? { rule: route.name } : {}) });
  }
  if (route.action !== st.mode) {
    const reason = `inference route "${route.name}" ${describe(route)}, but this WebSocket is answered by ${st.mode === 'allow' ? 'the provider' : 'Sluice'}; a connection does not change its far side, so Sluice refuses the turn (open a new connection, or use POST /v1/responses)`;
    throw new SluiceError('SLUICE_ROUTE_DENIED', reason, { reason, rule: route.name });
  }
  const leaves = deps.leavesMachine(route);
  if (found?.blocked.length && leaves) {
    const reason = `blocked entity types: ${found.blocked.join(', ')}`;
    throw new SluiceError('SLUICE_REDACTION_BLOCKED', `the request contains data that may not leave this machine: ${found.blocked.join(', ')}`, { reason, rule: route.name });
  }
  if (st.mode === 'allow') deps.allowed(ctx, route, model, sensitive ? found!.counts : undefined);
  else if (body.generate !== false) st.turns.push({ route, findings: sensitive ? found!.counts : undefined });
  if (!sensitive || !leaves) return;
  const copy = structuredClone(body);
  redactor!.redactLlmRequestWith(SOCKET_API, copy, vaultFor(body), found!);
  st.restorer ??= createResponsesRestorer(redactor!, vaultFor(body));
  return Buffer.from(JSON.stringify({ type, ...copy }));
}

/** Route mode: Sluice's side of the connection, one backend call per turn. */
export function socketPeer(deps: SocketDeps, ctx: RequestContext, st: SocketState): WebSocketPeer {
  let session: ReturnType<typeof createResponsesSession> | undefined;
  const run = async (turn: Turn, emit: (event: ChatEvent) => void): Promise<void> => {
    const model = typeof turn.body.model === 'string' ? turn.body.model : '';
    const next = st.turns.shift();
    const route = next?.route ?? deps.match(model, undefined, ctx.dest.host);
    if (!route || route.action !== 'route') throw { status: 403, kind: 'permission', message: `no inference route answers openai-responses model "${model}"` } satisfies ApiError;
    const res = await deps.answer(ctx, route, turn, model, next?.findings, emit);
    if (res.status >= 400 || typeof res.body === 'string' || res.body instanceof Uint8Array) {
      const text = typeof res.body === 'string' ? res.body : res.body instanceof Uint8Array ? Buffer.from(res.body).toString('utf8') : '';
      throw parseBackendError(res.status >= 400 ? res.status : 502, text);
    }
    // The events reach `emit` as the backend's stream is decoded (never encoded as SSE to be decoded again here).
    for await (const _ of res.body) void _;
  };
  return {
    open(io) {
      session = createResponsesSession({ run: (turn, emit) => run(turn, emit).catch((err: unknown) => Promise.reject(isApiError(err) ? err : { status: 502, kind: 'server', message: (err as Error)?.message ?? String(err) })), send: (m) => io.send(m) });
    },
    message(data) {
      session?.message(data.toString('utf8'));
    },
    close() {
      session?.close();
    },
  };
}
