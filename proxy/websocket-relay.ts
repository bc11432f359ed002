import type { RequestContext, SluiceError, Stage, WebSocketMessage, WebSocketStats } from '../core/index.js';
import { toSluiceError } from './respond.js';

/**
 * Relays the messages of one WebSocket between the client and its far side (an upstream, or a
 * stage that answers by itself), each through the stages' message hooks in order. Messages keep
 * their order per direction even when a hook is asynchronous; a side that sends faster than the
 * other reads is paused (ws stops reading its socket) until what is in flight drains. A hook that
 * refuses a message closes both sides with 1008 and says why to the client.
 */
export interface RelaySide {
  send(data: Buffer, binary: boolean, done: (err?: Error) => void): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  pause(): void;
  resume(): void;
}

export type RelayStats = WebSocketStats;

export interface Relay {
  readonly stats: RelayStats;
  /** A message arrived from the client (`out`) or from the far side (`in`). */
  message(direction: 'out' | 'in', data: Buffer, binary: boolean): void;
  /** One side closed; the other is closed with the same code once the messages before it are through. */
  closed(side: 'client' | 'upstream', code: number, reason: Buffer): void;
  /** Resolves when both sides are closed, with the refusal if a hook refused a message. */
  readonly done: Promise<SluiceError | undefined>;
}

const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;

/** RFC 6455 §7.4: codes an endpoint may send (1005 and 1006 only describe a close). */
function sendable(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

/** A close reason is at most 123 bytes of UTF-8; cut on a character boundary. */
export function closeReason(text: string): string {
  let out = text;
  while (Buffer.byteLength(out) > 123) out = out.slice(0, -1);
  return out;
}

export function createRelay(ctx: RequestContext, stages: readonly Stage[], client: RelaySide, upstream: RelaySide): Relay {
  const hooks = stages.filter((s) => s.onWebSocketMessage);
  const stats: RelayStats = { messagesOut: 0, bytesOut: 0, messagesIn: 0, bytesIn: 0 };
  const queue = { out: Promise.resolve(), in: Promise.resolve() };
  const pending = { out: 0, in: 0 };
  const source = { out: client, in: upstream };
  const target = { out: upstream, in: client };
  const open = { client: true, upstream: true };
  let refusal: SluiceError | undefined;
  let finish!: (err: SluiceError | undefined) => void;
  const done = new Promise<SluiceError | undefined>((resolve) => {
    finish = resolve;
  });

  const idleWaiters = { out: [] as Array<() => void>, in: [] as Array<() => void> };
  const settle = (direction: 'out' | 'in', size: number): void => {
    pending[direction] -= size;
    if (pending[direction] <= LOW_WATER) source[direction].resume();
    if (pending[direction] === 0) for (const wake of idleWaiters[direction].splice(0)) wake();
  };
  /** Every message of a direction through its hooks and written (a close or terminate must not overtake one). */
  const written = (direction: 'out' | 'in'): Promise<void> =>
    queue[direction].then(() => (pending[direction] === 0 ? undefined : new Promise<void>((resolve) => idleWaiters[direction].push(resolve))));

  /**
   * The message through every hook, then sent on. A hook that answers synchronously is not awaited
   * (an await per hook was a microtask and a promise per message per hook), and a send is not
   * awaited either: waiting for each write's callback held the next message for a turn of the event
   * loop, so a turn's first token waited for the frames before it to be written one loop at a time.
   * The bytes still count as in flight (for backpressure) until the last of their sends is written.
   */
  const pass = async (direction: 'out' | 'in', data: Buffer, binary: boolean): Promise<void> => {
    let messages: WebSocketMessage[] = [{ direction, binary, data }];
    for (const stage of hooks) {
      const next: WebSocketMessage[] = [];
      for (const message of messages) {
        const answer = stage.onWebSocketMessage!(ctx, message);
        const replaced = isPromiseLike(answer) ? await answer : answer;
        if (replaced === undefined) next.push(message);
        else for (const d of Array.isArray(replaced) ? replaced : [replaced]) next.push({ ...message, data: d });
      }
      messages = next;
    }
    const side = direction === 'out' ? 'upstream' : 'client';
    let unwritten = 1;
    const sent = (): void => {
      if (--unwritten === 0) settle(direction, data.length);
    };
    for (const message of messages) {
      if (refusal || !open[side]) break;
      if (direction === 'out') {
        stats.messagesOut++;
        stats.bytesOut += message.data.length;
      } else {
        stats.messagesIn++;
        stats.bytesIn += message.data.length;
      }
      unwritten++;
      target[direction].send(message.data, message.binary, sent);
    }
    sent();
  };

  const refuse = (err: unknown): void => {
    if (refusal) return;
    refusal = toSluiceError(err);
    stats.closedBy = 'sluice';
    stats.closeCode = 1008;
    const reason = closeReason(`${refusal.wire}: ${String(refusal.context.reason ?? refusal.message)}`);
    if (open.client) client.close(1008, reason);
    if (open.upstream) upstream.close(1008, closeReason(refusal.wire));
  };

  return {
    stats,
    done,
    message(direction, data, binary) {
      if (refusal) return;
      pending[direction] += data.length;
      if (pending[direction] > HIGH_WATER) source[direction].pause();
      queue[direction] = queue[direction]
        .then(() => (refusal ? settle(direction, data.length) : pass(direction, data, binary)))
        .catch((err: unknown) => {
          settle(direction, data.length);
          refuse(err);
        });
    },
    closed(side, code, reason) {
      if (!open[side]) return;
      open[side] = false;
      if (stats.closedBy === undefined) {
        stats.closedBy = side;
        stats.closeCode = code;
      }
      const other = side === 'client' ? upstream : client;
      const otherSide = side === 'client' ? 'upstream' : 'client';
      // What this side sent before it closed still reaches the other side first.
      const direction = side === 'client' ? 'out' : 'in';
      void written(direction).then(() => {
        if (open[otherSide]) {
          if (code === 1006) other.terminate();
          else if (sendable(code)) other.close(code, closeReason(reason.toString('utf8')));
          else other.close();
        }
        if (!open.client && !open.upstream) finish(refusal);
      });
    },
  };
}

function isPromiseLike<T>(v: T | PromiseLike<T>): v is PromiseLike<T> {
  return typeof (v as PromiseLike<T> | undefined)?.then === 'function';
}
