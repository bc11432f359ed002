import type { ChildProcess } from 'node:child_process';

/**
 * Request/response over a forked child's IPC channel. Children (upstreams, load generator,
 * tunnel holder) run in their own processes so that none of them shares an event loop with
 * the contender being measured or with each other.
 */
interface Envelope {
  id: number;
  ok?: boolean;
  error?: string;
  body?: unknown;
}

export interface ChildRpc {
  call<T>(body: unknown, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

export function createChildRpc(child: ChildProcess): ChildRpc {
  let nextId = 1;
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  const failAll = (why: string): void => {
    for (const p of pending.values()) p.reject(new Error(why));
    pending.clear();
  };
  child.on('message', (raw) => {
    const msg = raw as Envelope;
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.body);
    else p.reject(new Error(msg.error ?? 'child failed'));
  });
  child.on('exit', (code, signal) => failAll(`child exited (${signal ?? code})`));
  return {
    call<T>(body: unknown, timeoutMs = 300_000): Promise<T> {
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`child did not answer within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, {
          resolve: (v) => { clearTimeout(timer); resolve(v as T); },
          reject: (e) => { clearTimeout(timer); reject(e); },
        });
        child.send({ id, body } satisfies Envelope);
      });
    },
    async close(): Promise<void> {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The child's side: answers each request with the handler's result. */
export function serveChildRpc(handler: (body: unknown) => Promise<unknown>): void {
  process.on('message', (raw) => {
    const msg = raw as Envelope;
    handler(msg.body).then(
      (body) => process.send?.({ id: msg.id, ok: true, body } satisfies Envelope),
      (err: unknown) => process.send?.({ id: msg.id, ok: false, error: err instanceof Error ? err.message : String(err) } satisfies Envelope),
    );
  });
  process.on('disconnect', () => process.exit(0));
}
