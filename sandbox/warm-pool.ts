import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Up to `size` things made ahead of demand, each handed out once and never taken back: what a
 * caller took is its own to destroy. Filling runs one make at a time in the background, and only
 * when asked (`fill()`): the owner asks once the create that took an entry has started, so the
 * refill does not compete with that create for the CPU. A make that fails is tried again after
 * each of `retryDelaysMs` in turn (a busy nftables lock, an engine that stalled: most failures
 * pass), then filling stops until the next `fill()`; a caller that finds the pool empty makes its
 * own (the cold path): a broken pool costs time, never a sandbox.
 */
export interface WarmPool<T> {
  /** A ready entry, or undefined. Synchronous, so no two callers can get the same one. */
  take(): T | undefined;
  /** Makes entries until `size` are ready (or one make fails). */
  fill(): void;
  readonly ready: number;
  /** Stops filling and destroys every entry not taken, the one being made included. */
  close(): Promise<void>;
}

export interface WarmPoolOptions<T> {
  size: number;
  make(): Promise<T>;
  destroy(entry: T): Promise<void>;
  /** A make or destroy that failed (the pool goes on; what failed cleaned up after itself). */
  onError(err: unknown): void;
  /** Pauses before each new try of a failed make; none left: stop until the next fill(). */
  retryDelaysMs?: readonly number[];
}

const DEFAULT_RETRY_DELAYS_MS = [500, 2_000, 8_000] as const;

export function createWarmPool<T>(opts: WarmPoolOptions<T>): WarmPool<T> {
  const ready: T[] = [];
  const retryDelays = opts.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  let filling: Promise<void> | undefined;
  // aborted once close() is called: it also cuts a pause between tries short
  const closing = new AbortController();
  const closed = (): boolean => closing.signal.aborted;

  const loop = async (): Promise<void> => {
    let failures = 0;
    while (!closed() && ready.length < opts.size) {
      let entry: T;
      try {
        entry = await opts.make();
        failures = 0;
      } catch (err) {
        opts.onError(err);
        const delay = retryDelays[failures++];
        if (delay === undefined) return;
        // a pause does not keep the process alive
        await sleep(delay, undefined, { signal: closing.signal, ref: false }).catch(() => undefined);
        continue;
      }
      if (closed()) {
        await opts.destroy(entry).catch(opts.onError);
        return;
      }
      ready.push(entry);
    }
  };

  return {
    take: () => ready.shift(),
    fill() {
      if (closed() || filling || ready.length >= opts.size) return;
      filling = loop().finally(() => (filling = undefined));
    },
    get ready() {
      return ready.length;
    },
    async close() {
      closing.abort();
      await filling;
      const left = ready.splice(0);
      await Promise.all(left.map((entry) => opts.destroy(entry).catch(opts.onError)));
    },
  };
}
