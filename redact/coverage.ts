import type { Span } from './detector.js';

/**
 * The UTF-16 units of a text taken by kept spans: a stamp per unit, where this detection's stamp means taken, so
 * nothing needs clearing between texts (and an exception half-way cannot leave units marked for the next one).
 */
export class Coverage {
  /** Reused up to this many units; a longer text gets an array of its own for the one detection. */
  static readonly KEEP = 1 << 20;
  #kept = new Uint32Array(4096);
  /** Last stamp used on `#kept` (stamps only grow there, so older marks never read as taken). */
  #keptStamp = 0;
  #keptOwner = new Int32Array(4096);
  #stamps = this.#kept;
  #stamp = 0;
  /** Index of the kept span that starts at a unit (valid where a span starts). */
  #owner = this.#keptOwner;
  #starts = new Int32Array(256);

  reset(units: number): void {
    if (units >= Coverage.KEEP) {
      this.#stamps = new Uint32Array(units);
      this.#owner = new Int32Array(units);
      this.#stamp = 1;
      return;
    }
    if (units > this.#kept.length) {
      const size = 2 ** Math.ceil(Math.log2(units));
      this.#kept = new Uint32Array(size);
      this.#keptOwner = new Int32Array(size);
      this.#keptStamp = 0;
    }
    if (++this.#keptStamp === 0xffffffff) {
      this.#kept.fill(0);
      this.#keptStamp = 1;
    }
    this.#stamps = this.#kept;
    this.#owner = this.#keptOwner;
    this.#stamp = this.#keptStamp;
  }

  /** Every unit of [start, end) is taken. */
  covers(start: number, end: number): boolean {
    for (let i = start; i < end; i++) if (this.#stamps[i] !== this.#stamp) return false;
    return true;
  }

  /** Some unit of [start, end) is taken. */
  overlaps(start: number, end: number): boolean {
    for (let i = start; i < end; i++) if (this.#stamps[i] === this.#stamp) return true;
    return false;
  }

  /** Marks [start, end) taken by `spans[index]` (see inOrder). */
  take(start: number, end: number, index: number): void {
    this.#stamps.fill(this.#stamp, start, end);
    this.#owner[start] = index;
  }

  /**
   * The kept spans by position. They do not overlap, so their starts are distinct: those are sorted as numbers
   * (natively, where a comparator over span objects calls back into JS and allocates its merge buffers) and each
   * start gives its span back.
   */
  inOrder(spans: Span[]): Span[] {
    if (spans.length < 2) return spans;
    if (this.#starts.length < spans.length) this.#starts = new Int32Array(2 ** Math.ceil(Math.log2(spans.length)));
    const starts = this.#starts.subarray(0, spans.length);
    for (let i = 0; i < spans.length; i++) starts[i] = spans[i]!.start;
    starts.sort();
    const out = new Array<Span>(spans.length);
    for (let i = 0; i < starts.length; i++) out[i] = spans[this.#owner[starts[i]!]!]!;
    return out;
  }
}
