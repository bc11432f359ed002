import { createChildRpc } from './child-rpc.js';
import { forkChild } from './fork-child.js';

export type TunnelCommand =
  | { kind: 'open'; proxyPort: number; target: string; count: number }
  | { kind: 'closeAll' };

export interface TunnelOpenResult {
  /** Tunnels held open now (all opened so far, minus any the proxy closed). */
  open: number;
  failed: number;
  firstError?: string;
}

export interface TunnelHolder {
  /** Opens `count` more tunnels to `target` ("host:port"); stops early after repeated failures. */
  open(proxyPort: number, target: string, count: number): Promise<TunnelOpenResult>;
  closeAll(): Promise<void>;
  close(): Promise<void>;
}

/** Idle tunnels are held by a child process, so the harness itself never nears its fd limit. */
export function createTunnelHolder(): TunnelHolder {
  const rpc = createChildRpc(forkChild('tunnel-holder-child'));
  return {
    open: (proxyPort, target, count) => rpc.call<TunnelOpenResult>({ kind: 'open', proxyPort, target, count } satisfies TunnelCommand, 600_000),
    closeAll: async () => { await rpc.call({ kind: 'closeAll' } satisfies TunnelCommand); },
    close: () => rpc.close(),
  };
}
