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

export class Cancellation extends EventEmitter implements Cancel {
  aborted = false;

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.emit('abort');
  }
}
