import { createChildRpc } from './child-rpc.js';
import { forkChild } from './fork-child.js';
import type { BenchPki } from './pki.js';

export interface UpstreamStartRequest {
  keyPem: string;
  certPem: string;
}

export interface UpstreamPorts {
  https: number;
  http: number;
  /** Accepts TCP and holds it: the far end of idle CONNECT tunnels. */
  hold: number;
  smallBytes: number;
}

export interface Upstreams extends UpstreamPorts {
  pid: number;
  close(): Promise<void>;
}

/** Starts the upstream servers in a child process, all on 127.0.0.1 port 0. */
export async function startUpstreams(pki: BenchPki): Promise<Upstreams> {
  const child = forkChild('upstream-child');
  const rpc = createChildRpc(child);
  try {
    const ports = await rpc.call<UpstreamPorts>({ keyPem: pki.leafKeyPem, certPem: pki.leafCertPem } satisfies UpstreamStartRequest, 20_000);
    return { ...ports, pid: child.pid!, close: () => rpc.close() };
  } catch (err) {
    await rpc.close();
    throw err;
  }
}
