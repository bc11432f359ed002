import net from 'node:net';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { BenchPki } from '../pki.js';
import type { MetricRow } from '../report/model.js';
import { median } from '../stats.js';

/**
 * Issue 20's "the router adds at most 0.3 ms over an intercepted request of the same size": the
 * passthrough lane's request, byte for byte the same size, sent to the same fake OpenAI backend as
 * an ordinary intercepted HTTPS request (TLS terminated, L7 policy, credential guard, DLP; no
 * router). The fake speaks plain HTTP, so a TLS front in this process, with the bench's upstream
 * leaf (bench.test), stands in for an HTTPS origin.
 */
export interface InterceptedFront {
  readonly port: number;
  /** Network policy lines (under network_policies:) that let the lane through Sluice. */
  readonly policy: string;
  close(): Promise<void>;
}

export async function startInterceptedFront(pki: BenchPki, backendUrl: string): Promise<InterceptedFront> {
  const target = Number(new URL(backendUrl).port);
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({ key: pki.leafKeyPem, cert: pki.leafCertPem }, (socket) => {
    const back = net.connect(target, '127.0.0.1');
    socket.setNoDelay(true);
    back.setNoDelay(true);
    sockets.add(socket).add(back);
    socket.pipe(back).pipe(socket);
    const done = (): void => {
      socket.destroy();
      back.destroy();
      sockets.delete(socket);
      sockets.delete(back);
    };
    socket.on('error', done).on('close', done);
    back.on('error', done).on('close', done);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    policy: ['  bench_llm_intercepted:', '    endpoints:', `      - { host: bench.test, port: ${port}, protocol: rest, access: full }`].join('\n'),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A bearer token the length of the routed lane's placeholder, so both requests are the same size, that no guard takes for a credential. */
export const SAME_SIZE_TOKEN = 'Bearer bench-token-00';

/**
 * The router's own cost: the passthrough lane's added TTFT less the intercepted lane's, round by
 * round (both against the same fake called directly in the same round).
 */
export function routerOverInterceptedRow(routedAdded: readonly number[], interceptedAdded: readonly number[], failed?: string): MetricRow {
  const d = routedAdded.map((v, i) => v - interceptedAdded[i]!);
  return {
    id: 'llm.router_over_intercepted_p50',
    label: 'router over an intercepted request of the same size: added TTFT p50 difference',
    unit: 'ms',
    better: 'lower',
    cells: { sluice: failed || d.length === 0 ? { na: failed ?? 'n/a (no rounds)' } : { value: median(d), rounds: d } },
  };
}
