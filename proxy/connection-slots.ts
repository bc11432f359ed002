import fs from 'node:fs';
import type net from 'node:net';

/**
 * The listener's connection slots. A client connection holds one from accept to close. When
 * every slot is taken, the connection that has waited longest for its client — accepted but no
 * request yet, a tunnel before its first byte or handshake, keep-alive between requests — is
 * closed to make room: clients that hold slots without using them cannot lock out clients that
 * do. A connection carrying an exchange, and a raw tunnel once its client has spoken, is never
 * shed; those are bounded by the idle timeout instead.
 */
export interface ConnectionSlots {
  /** Takes a slot for a new connection; false when every slot carries traffic (the caller closes it). */
  admit(socket: net.Socket): boolean;
  /** One more exchange on this connection (or it became a raw tunnel): it may not be shed. */
  busy(socket: net.Socket): void;
  /** One exchange fewer; at none, the connection waits for its client and may be shed, oldest first. */
  idle(socket: net.Socket): void;
  /** Connections holding a slot. */
  readonly size: number;
  /** Connections closed to make room, since start. */
  readonly shed: number;
  sockets(): IterableIterator<net.Socket>;
}

export function createConnectionSlots(max: number): ConnectionSlots {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxConnections must be a positive integer, got ${max}`);
  const exchanges = new Map<net.Socket, number>();
  // Set iteration is insertion order: re-inserting on every idle() keeps the longest-waiting first.
  const waiting = new Set<net.Socket>();
  let shed = 0;

  const release = (socket: net.Socket) => {
    exchanges.delete(socket);
    waiting.delete(socket);
  };

  return {
    admit(socket) {
      if (exchanges.size >= max) {
        const oldest = waiting.values().next();
        if (oldest.done) return false;
        release(oldest.value);
        oldest.value.destroy();
        shed++;
      }
      exchanges.set(socket, 0);
      waiting.add(socket);
      socket.once('close', () => release(socket));
      return true;
    },
    busy(socket) {
      const n = exchanges.get(socket);
      if (n === undefined) return;
      exchanges.set(socket, n + 1);
      waiting.delete(socket);
    },
    idle(socket) {
      const n = exchanges.get(socket);
      if (n === undefined || socket.destroyed) return;
      const left = Math.max(0, n - 1);
      exchanges.set(socket, left);
      if (left > 0) return;
      waiting.delete(socket);
      waiting.add(socket);
    },
    get size() {
      return exchanges.size;
    },
    get shed() {
      return shed;
    },
    sockets: () => exchanges.keys(),
  };
}

/** Most client connections by default, whatever the file-descriptor limit allows. */
const MAX_CONNECTIONS = 16_384;
/** Descriptors kept for everything else: the audit log, the policy watcher, DNS, backends. */
const RESERVED_FDS = 512;

/**
 * Each client connection may need a second descriptor for its upstream, so the default cap is
 * half of what RLIMIT_NOFILE leaves: past the limit, accept() fails and nothing can be shed.
 */
export function defaultMaxConnections(limitsFile = '/proc/self/limits'): number {
  let text: string;
  try {
    text = fs.readFileSync(limitsFile, 'utf8');
  } catch {
    return MAX_CONNECTIONS;
  }
  const soft = /^Max open files\s+(\d+|unlimited)/m.exec(text)?.[1];
  if (soft === undefined || soft === 'unlimited') return MAX_CONNECTIONS;
  return Math.max(64, Math.min(MAX_CONNECTIONS, Math.floor((Number(soft) - RESERVED_FDS) / 2)));
}
