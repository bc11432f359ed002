import { createChildRpc } from './child-rpc.js';
import { forkChild } from './fork-child.js';
import type { LoadJob, LoadResult } from './load.js';

export type LoadCommand =
  | { kind: 'run'; job: LoadJob }
  | { kind: 'hold'; job: LoadJob; connections: number }
  | { kind: 'release' };

export interface LoadGenerator {
  readonly pid: number;
  run(job: LoadJob): Promise<LoadResult>;
  /** Opens `connections` keep-alive connections (one request each) and keeps them idle. */
  hold(job: LoadJob, connections: number): Promise<{ opened: number; firstError?: string }>;
  release(): Promise<void>;
  close(): Promise<void>;
}

/** The load generator runs in its own process, so it never shares an event loop with a contender. */
export function createLoadGenerator(): LoadGenerator {
  const child = forkChild('loadgen-child');
  const rpc = createChildRpc(child);
  return {
    pid: child.pid!,
    run: (job) => rpc.call<LoadResult>({ kind: 'run', job } satisfies LoadCommand),
    hold: (job, connections) => rpc.call({ kind: 'hold', job, connections } satisfies LoadCommand),
    release: async () => { await rpc.call({ kind: 'release' } satisfies LoadCommand); },
    close: () => rpc.close(),
  };
}
