import { EventEmitter } from 'node:events';

/**
 * A request's client went away: `aborted` turns true and `abort` is emitted, once. What undici
 * takes as a request's `signal` (an EventEmitter with `aborted`), made for every request where an
 * AbortController would cost the young generation: Node 20's AbortSignal outlives it (built with
 * a prototype set per object, it is promoted by every scavenge it meets, and with it whatever its
 * listeners reach; bench/README.md, "Where the p99 comes from").
 */
export interface Cancel extends EventEmitter {
  readonly aborted: boolean;
}

/** Also the one source of a request's AbortSignal (`ctx.signal`), made only when something asks for it. */
export class Cancellation extends EventEmitter implements Cancel {
  aborted = false;
  #controller: AbortController | undefined;

  signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.aborted) this.#controller.abort();
    }
    return this.#controller.signal;
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.#controller?.abort();
    this.emit('abort');
  }
}
