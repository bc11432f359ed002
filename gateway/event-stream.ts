import type http from 'node:http';
import { SluiceError } from '../core/index.js';
import type { SluiceEvent } from '../core/index.js';
import type { AuditLineListener } from '../audit/index.js';

/**
 * Audit events as Server-Sent Events: each `data:` is the same OCSF record the audit file holds
 * (so a reader of one reads the other), `event:` is Sluice's event type and `id:` a sequence
 * number. The last events are kept in a bounded ring, so a client that reconnects with
 * `Last-Event-ID` misses nothing that is still in it. A client that cannot keep up is not
 * buffered without bound: events are skipped while its socket is full and an `event: dropped`
 * says how many.
 */
export interface EventFilter {
  sandboxes?: ReadonlySet<string>;
  types?: ReadonlySet<string>;
  action?: 'allow' | 'deny';
}

export interface EventStream {
  serve(req: http.IncomingMessage, res: http.ServerResponse, filter: EventFilter, since: number | undefined): Promise<void>;
  /** Sequence number of the newest event. */
  readonly last: number;
  close(): void;
}

export const EVENT_TYPES = ['connect', 'request', 'policy', 'upstream_error', 'llm_call', 'finding', 'sandbox', 'api'] as const;

/**
 * What the ring keeps of an event: the fields the filters read and the rendered line, as bytes.
 * Not the event itself, nor the line as a string: 2,000 entries outlive many young-generation
 * collections, and every collection copied each one's object graph and string once more before
 * promoting it (~1 MB a collection under LLM load, most of a scavenge's pause). A Buffer's bytes
 * live outside the JavaScript heap and are never copied.
 */
interface Entry {
  id: number;
  type: SluiceEvent['type'];
  sandbox: string | undefined;
  verdict: 'allow' | 'deny' | undefined;
  line: Buffer;
}

const HIGH_WATER = 1024 * 1024;
const HEARTBEAT_MS = 15_000;
const NEWLINES = Buffer.from('\n\n');

/** allow/deny for the events that carry a verdict; undefined for those that do not (lifecycle). */
export function verdictOf(event: SluiceEvent): 'allow' | 'deny' | undefined {
  switch (event.type) {
    case 'connect':
    case 'request':
      return event.decision.action;
    case 'llm_call':
      return event.action === 'deny' ? 'deny' : 'allow';
    case 'finding':
      return event.action === 'blocked' ? 'deny' : 'allow';
    case 'policy':
      return event.activity === 'rejected' ? 'deny' : 'allow';
    case 'api':
      return event.status >= 400 ? 'deny' : 'allow';
    case 'upstream_error':
      return 'deny';
    case 'sandbox':
      return event.activity === 'policy_refused' || event.activity === 'failed' ? 'deny' : undefined;
  }
}

export function matches(event: SluiceEvent, filter: EventFilter): boolean {
  return matchesFields(event.type, event.sandbox, () => verdictOf(event), filter);
}

function matchesFields(type: string, sandbox: string | undefined, verdict: () => 'allow' | 'deny' | undefined, filter: EventFilter): boolean {
  if (filter.types && !filter.types.has(type)) return false;
  if (filter.sandboxes && (sandbox === undefined || !filter.sandboxes.has(sandbox))) return false;
  if (filter.action && verdict() !== filter.action) return false;
  return true;
}

export function parseFilter(query: URLSearchParams): EventFilter {
  const list = (name: string) => {
    const values = query.getAll(name).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
    return values.length ? new Set(values) : undefined;
  };
  const types = list('type');
  for (const t of types ?? []) {
    if (!(EVENT_TYPES as readonly string[]).includes(t)) throw new SluiceError('SLUICE_API_INVALID', `unknown event type ${JSON.stringify(t)}`, { reason: `types: ${EVENT_TYPES.join(', ')}` });
  }
  const action = query.get('action') ?? undefined;
  if (action !== undefined && action !== 'allow' && action !== 'deny') throw new SluiceError('SLUICE_API_INVALID', 'action must be allow or deny');
  const sandboxes = list('sandbox');
  return { ...(sandboxes ? { sandboxes } : {}), ...(types ? { types } : {}), ...(action ? { action } : {}) };
}

/**
 * `lines` is the audit log's (Runtime.onAuditLine): a client sees each event as the audit file
 * holds it, scrubbed (a path or host name an agent sent may carry a secret) and rendered once for
 * both; an event the log could not scrub is not shown at all.
 */
export function createEventStream(lines: (listener: AuditLineListener) => () => void, opts: { ring?: number; heartbeatMs?: number } = {}): EventStream {
  const capacity = opts.ring ?? 2000;
  const ring: Entry[] = [];
  let next = 1;
  const clients = new Set<(entry: Entry) => void>();
  const closers = new Set<() => void>();
  const off = lines((event, line) => {
    const entry: Entry = { id: next++, type: event.type, sandbox: event.sandbox, verdict: verdictOf(event), line: Buffer.from(line) };
    ring.push(entry);
    if (ring.length > capacity) ring.shift();
    for (const client of clients) client(entry);
  });

  return {
    get last() {
      return next - 1;
    },
    serve(_req, res, filter, since) {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
      res.flushHeaders();
      let dropped = 0;
      const send = (entry: Entry) => {
        if (!matchesFields(entry.type, entry.sandbox, () => entry.verdict, filter)) return;
        if (res.writableLength > HIGH_WATER) {
          dropped++;
          return;
        }
        if (dropped > 0) {
          res.write(`event: dropped\ndata: {"dropped":${dropped}}\n\n`);
          dropped = 0;
        }
        res.write(Buffer.concat([Buffer.from(`id: ${entry.id}\nevent: ${entry.type}\ndata: `), entry.line, NEWLINES]));
      };
      // A reconnecting client names the last event it saw; what it missed is replayed from the ring.
      if (since !== undefined) {
        const oldest = ring[0]?.id ?? next;
        if (since + 1 < oldest) res.write(`event: dropped\ndata: {"dropped":${oldest - since - 1}}\n\n`);
        for (const entry of ring) if (entry.id > since) send(entry);
      }
      res.write(': sluice events\n\n');
      clients.add(send);
      const heartbeat = setInterval(() => res.write(': keepalive\n\n'), opts.heartbeatMs ?? HEARTBEAT_MS);
      heartbeat.unref();
      return new Promise<void>((resolve) => {
        const done = () => {
          clearInterval(heartbeat);
          clients.delete(send);
          closers.delete(end);
          resolve();
        };
        const end = () => {
          res.end();
          done();
        };
        closers.add(end);
        res.once('close', done);
      });
    },
    close() {
      off();
      for (const end of [...closers]) end();
    },
  };
}
