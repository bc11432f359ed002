import { setImmediate } from 'node:timers/promises';

/**
 * Work on a body at least this large gives the event loop back between its phases (parsing,
 * scanning, serialising): a phase of a 64 KB body is ~0.3 ms, of an agent's 200 KB context ~1 ms,
 * and the whole chain several. Other connections' small requests then wait for one phase, not
 * for every phase of every large body that arrived before them.
 */
export const YIELD_BYTES = 64 * 1024;

/**
 * Lets I/O that is ready run first when `bytes` reaches YIELD_BYTES (setImmediate runs after the
 * loop's poll phase); nothing otherwise, so small requests lose no time.
 */
export function yieldIfLarge(bytes: number): Promise<void> | undefined {
  return bytes >= YIELD_BYTES ? setImmediate() : undefined;
}
