import type { ApiError, ChatEvent, ChatRequest } from './translate/index.js';
import { codecs, createResponsesEventEncoder, responsesWebSocketError } from './translate/index.js';

/**
 * One Responses WebSocket answered by Sluice (a routed call, not relayed): each `response.create`
 * message is one turn, answered with the same events as the SSE stream, one JSON text message
 * each. In WebSocket mode a turn may continue an earlier one of the same connection with
 * `previous_response_id` and send only the new input items (Codex does); the session keeps the
 * last turns' items so that the backend, which has no such state, gets the whole conversation.
 * `generate: false` warms the connection up and is answered without a backend call. Turns run one
 * after the other, in the order they came.
 */
type Json = Record<string, unknown>;

export interface Turn {
  /** The `response.create` message, as the client sent it (without `type`), input resolved. */
  body: Json;
  request: ChatRequest;
  /** The UTF-8 bytes of the message itself (the audit's request size: what the client sent for this turn). */
  bytes: number;
}

/** Runs one turn against a backend: neutral events out; throws an ApiError before the first event to refuse it. */
export type TurnRunner = (turn: Turn, emit: (event: ChatEvent) => void) => Promise<void>;

export interface ResponsesSession {
  message(text: string): void;
  close(): void;
}

/** Codex chains each turn to the one before; two are enough to continue, and bound what a socket holds. */
const KEPT_TURNS = 2;

export function isApiError(err: unknown): err is ApiError {
  return typeof err === 'object' && err !== null && typeof (err as ApiError).status === 'number' && typeof (err as ApiError).kind === 'string' && typeof (err as ApiError).message === 'string';
}

export function createResponsesSession(opts: { run: TurnRunner; send(message: string): void }): ResponsesSession {
  const history = new Map<string, unknown[]>();
  let queue = Promise.resolve();
  let closed = false;
  const send = (event: Json): void => {
    if (!closed) opts.send(JSON.stringify(event));
  };
  const refuse = (err: ApiError): void => send(responsesWebSocketError(err));
  const remember = (id: string, items: unknown[]): void => {
    history.set(id, items);
    while (history.size > KEPT_TURNS) history.delete(history.keys().next().value!);
  };

  async function turn(text: string): Promise<void> {
    let msg: Json;
    try {
      msg = JSON.parse(text) as Json;
      if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) throw new Error('not an object');
    } catch {
      return refuse({ status: 400, kind: 'invalid_request', message: 'a WebSocket message must be a JSON object' });
    }
    if (msg.type !== 'response.create') return refuse({ status: 400, kind: 'invalid_request', message: `unsupported client event type: ${String(msg.type)}` });
    const { type: _type, ...body } = msg;
    const own = typeof body.input === 'string' ? [{ role: 'user', content: body.input }] : Array.isArray(body.input) ? body.input : [];
    const previous = body.previous_response_id;
    let input = own;
    if (typeof previous === 'string' && previous) {
      const before = history.get(previous);
      if (!before) return refuse({ status: 400, kind: 'invalid_request', message: `Previous response with id '${previous}' not found.` });
      input = [...before, ...own];
    }
    const resolved: Json = { ...body, input, stream: true };
    delete resolved.previous_response_id;
    const request = codecs.responses.parseRequest(resolved);
    const encoder = createResponsesEventEncoder(String(body.model ?? ''), request);
    let id: string | undefined;
    let output: unknown[] = [];
    const emit = (ev: ChatEvent): void => {
      for (const e of encoder.encode(ev)) {
        const response = e.response as Json | undefined;
        if (response && typeof response.id === 'string') id = response.id;
        if (response && Array.isArray(response.output) && e.type !== 'response.created' && e.type !== 'response.in_progress') output = response.output;
        send(e);
      }
    };
    if (body.generate === false) {
      emit({ type: 'start' });
      emit({ type: 'end' });
    } else {
      let started = false;
      try {
        await opts.run({ body: resolved, request, bytes: Buffer.byteLength(text) }, (ev) => {
          started = true;
          emit(ev);
        });
      } catch (err) {
        const apiError: ApiError = isApiError(err) ? err : { status: 500, kind: 'server', message: (err as Error)?.message ?? 'internal error' };
        if (!started) return refuse(apiError);
        emit({ type: 'error', error: apiError });
      }
    }
    // Reasoning items and the like were never sent on; what is kept is what the next turn needs.
    if (id) remember(id, [...input, ...output]);
  }

  return {
    message(text) {
      queue = queue.then(() => turn(text)).catch(() => undefined);
    },
    close() {
      closed = true;
      history.clear();
    },
  };
}
