import { createChildRpc } from './child-rpc.js';
import { forkChild } from './fork-child.js';

/**
 * How late this machine lets a process run, measured beside every lane: a bare Node process
 * (stall-probe-child.ts) wakes every 2 ms and counts the wake-ups that came 1, 2 or 5 ms
 * late. On a shared two-core VM with a client, a proxy and a backend taking turns, these delays
 * (not the proxy's code) are what a lane's p99 mostly is: a request through a proxy wakes three
 * processes several times, so if 1 % of wake-ups are 2 ms late, an added p99 under 2 ms cannot be
 * told apart from the machine. The figure is printed under each lane and kept in the JSON.
 */
export interface Stalls {
  /** Wall time measured. */
  seconds: number;
  wakeups: number;
  /** Wake-ups at least this late. */
  late1: number;
  late2: number;
  late5: number;
  maxMs: number;
}

export interface StallProbe {
  /** What was measured since the last take (or the start), and a fresh start. */
  take(): Promise<Stalls>;
  close(): Promise<void>;
}

export function startStallProbe(): StallProbe {
  const rpc = createChildRpc(forkChild('stall-probe-child'));
  return { take: () => rpc.call<Stalls>({}, 10_000), close: () => rpc.close() };
}

/** One line for a lane's table: the share of wake-ups that were late, and the worst. */
export function describeStalls(s: Stalls): string {
  const pct = (n: number) => `${((100 * n) / Math.max(1, s.wakeups)).toFixed(2)} %`;
  return `machine: a bare Node process here, woken every 2 ms during this lane, was ≥ 1 ms late on ${pct(s.late1)} of ${s.wakeups} wake-ups, ≥ 2 ms on ${pct(s.late2)}, ≥ 5 ms on ${pct(s.late5)} (worst ${s.maxMs.toFixed(1)} ms)`;
}
