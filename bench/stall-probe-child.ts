import { serveChildRpc } from './child-rpc.js';
import type { Stalls } from './stall-probe.js';

/**
 * A bare Node process that asks to run every 2 ms and counts how late it was let: the
 * machine's own scheduling delay, which every process of a lane (client, proxy, backend) meets
 * at each of its wake-ups. See stall-probe.ts.
 */
// Every 2 ms: ~30 ms of CPU a second on this VM (every 1 ms: ~38, every 5 ms: ~25).
const PERIOD_MS = 2;
const zero = (): Omit<Stalls, 'seconds'> => ({ wakeups: 0, late1: 0, late2: 0, late5: 0, maxMs: 0 });
let tally = zero();
let since = performance.now();
let last = since;

setInterval(() => {
  const now = performance.now();
  const late = now - last - PERIOD_MS;
  last = now;
  tally.wakeups++;
  if (late >= 1) tally.late1++;
  if (late >= 2) tally.late2++;
  if (late >= 5) tally.late5++;
  if (late > tally.maxMs) tally.maxMs = late;
}, PERIOD_MS);

serveChildRpc(async () => {
  const now = performance.now();
  const out: Stalls = { seconds: (now - since) / 1000, ...tally };
  tally = zero();
  since = now;
  return out;
});
