import net from 'node:net';
import type { Destination, Endpoint, EventBus } from '../core/index.js';
import { sendRawError } from './respond.js';
import { upstreamError } from './forward.js';

/**
 * A raw TCP tunnel (tls: skip): dials only the validated address, answers the CONNECT once
 * the upstream accepted, then pipes bytes both ways with an idle timeout.
 */
export interface RawTunnelOptions {
  client: net.Socket;
  head: Buffer;
  dest: Destination;
  address: string;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  tunnel: { sockets: net.Socket[] };
  bus: EventBus;
  src: Endpoint;
}

export function openRawTunnel(o: RawTunnelOptions): void {
  const upstream = net.connect({ host: o.address, port: o.dest.port, noDelay: true });
  o.tunnel.sockets.push(upstream);
  const timer = setTimeout(() => upstream.destroy(Object.assign(new Error('connect timeout'), { code: 'UND_ERR_CONNECT_TIMEOUT' })), o.connectTimeoutMs);
  upstream.once('connect', () => {
    clearTimeout(timer);
    o.client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (o.head.length) upstream.write(o.head);
    o.client.pipe(upstream);
    upstream.pipe(o.client);
    o.client.setTimeout(o.idleTimeoutMs, () => {
      o.client.destroy();
      upstream.destroy();
    });
  });
  upstream.once('error', (err) => {
    clearTimeout(timer);
    if (!upstream.connecting && upstream.bytesRead + upstream.bytesWritten > 0) {
      o.client.destroy();
      return;
    }
    const e = upstreamError(err, o.dest);
    o.bus.emit({ type: 'upstream_error', time: Date.now(), src: o.src, dst: { host: o.dest.host, port: o.dest.port, ip: o.address }, code: e.wire, reason: e.message });
    sendRawError(o.client, e, { host: o.dest.host, port: o.dest.port, method: 'CONNECT' });
  });
  upstream.once('close', () => o.client.destroy());
  o.client.once('close', () => upstream.destroy());
}
