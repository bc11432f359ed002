import { LRUCache } from 'lru-cache';
import fs from 'node:fs';
import type net from 'node:net';
import tls from 'node:tls';
import type { Readable } from 'node:stream';
import type { EventEmitter } from 'node:events';
import type { Dispatcher, Pool, buildConnector } from 'undici';
import { SluiceError, undiciPool } from '../core/index.js';
import type { Destination } from '../core/index.js';
import { toUndiciHeaders } from './headers.js';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * Sends requests upstream over keep-alive pools, one pool per (scheme, host, port, validated IP).
 * The pool dials the address the SSRF guard validated — never the name — and verifies the
 * upstream certificate against the system roots, NODE_EXTRA_CA_CERTS and any extra CAs.
 */
export interface ForwardTarget {
  scheme: 'http' | 'https';
  dest: Destination;
  address: string;
}

export interface UpstreamResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Readable;
}

export interface ForwarderOptions {
  extraCA?: readonly string[];
  connectTimeoutMs?: number;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  maxPools?: number;
  connectionsPerPool?: number;
}

export interface Forwarder {
  /**
   * Dials the upstream of a fresh tunnel while the client is still in its TLS handshake with
   * Sluice, so that the first request finds a connection ready. Dial errors surface on that request.
   */
  prewarm(target: ForwardTarget): void;
  request(target: ForwardTarget, req: { method: string; path: string; headers: IncomingHttpHeaders; body: Readable | Buffer | null; signal?: AbortSignal | EventEmitter }): Promise<UpstreamResponse>;
  /**
   * A connection of its own to the validated address, TLS-verified like the pools' (for a
   * WebSocket, whose connection is never returned to a pool). Errors are SluiceErrors.
   */
  connect(target: ForwardTarget): Promise<net.Socket>;
  close(): Promise<void>;
}

/**
 * System bundle + Node's roots + NODE_EXTRA_CA_CERTS + extra: built once, on the first upstream
 * TLS connection, and shared by every one after it. Not at start: parsing its ~300 certificates
 * takes 20-40 ms and holds ~1.5 MB, which a Sluice that has not yet been asked for an HTTPS
 * upstream (or only ever forwards plain HTTP) does not need.
 */
function buildTrust(extra: readonly string[]): tls.SecureContext {
  const ca: string[] = [...tls.rootCertificates];
  for (const file of ['/etc/ssl/certs/ca-certificates.crt', process.env.NODE_EXTRA_CA_CERTS]) {
    if (!file) continue;
    try {
      ca.push(fs.readFileSync(file, 'utf8'));
    } catch {
      // A missing bundle only narrows what is trusted; it never widens it.
    }
  }
  ca.push(...extra);
  return tls.createSecureContext({ ca });
}

const TLS_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_|ALTNAME|ERR_TLS|ERR_SSL|HANDSHAKE|EPROTO/;

export function upstreamError(err: unknown, dest: Destination): SluiceError {
  if (err instanceof SluiceError) return err;
  const e = err as NodeJS.ErrnoException & { code?: string };
  const code = e?.code ?? '';
  const ctx = { host: dest.host, port: dest.port };
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return new SluiceError('SLUICE_UPSTREAM_TIMEOUT', `connecting to ${dest.authority} timed out`, ctx);
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return new SluiceError('SLUICE_UPSTREAM_TIMEOUT', `${dest.authority} did not answer in time`, ctx);
  if (TLS_ERROR.test(code) || TLS_ERROR.test(e?.message ?? '')) {
    return new SluiceError('SLUICE_UPSTREAM_TLS', `TLS verification of ${dest.authority} failed: ${code || e.message}`, { ...ctx, reason: `the upstream certificate of ${dest.host} is not trusted (${code || 'handshake failed'})` });
  }
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'UND_ERR_SOCKET') {
    return new SluiceError('SLUICE_UPSTREAM_CONNECT', `could not connect to ${dest.authority}: ${code}`, ctx);
  }
  return new SluiceError('SLUICE_UPSTREAM_ERROR', `upstream ${dest.authority} failed: ${code || (e?.message ?? 'unknown error')}`, ctx);
}

export function createForwarder(opts: ForwarderOptions = {}): Forwarder {
  let trust: tls.SecureContext | undefined;
  const secureContext = (): tls.SecureContext => (trust ??= buildTrust(opts.extraCA ?? []));
  // One pool per upstream; past maxPools the least recently used is closed.
  const pools = new LRUCache<string, Upstream>({
    max: opts.maxPools ?? 512,
    dispose: (evicted, _key, reason) => {
      if (reason !== 'evict') return;
      void evicted.pool.close().catch(() => undefined);
      void evicted.spare?.then((sock) => sock.destroy(), () => undefined);
    },
  });
  const connectTimeout = opts.connectTimeoutMs ?? 10_000;

  interface Upstream {
    pool: Pool;
    dial(o: buildConnector.Options): Promise<net.Socket>;
    /** A connection dialled ahead of the first request (see prewarm), taken by the pool's first dial. */
    spare?: Promise<net.Socket>;
  }

  /** Dials the validated address, never the name; SNI and verification use the name. */
  function dialerFor(target: ForwardTarget): (o: buildConnector.Options) => Promise<net.Socket> {
    const tlsOptions = target.scheme === 'https' ? { secureContext: secureContext(), rejectUnauthorized: true } : {};
    const base = undiciPool().buildConnector({ timeout: connectTimeout, ...tlsOptions } as buildConnector.BuildOptions);
    const servername = target.dest.ipVersion === 0 ? target.dest.host : undefined;
    return (o) =>
      new Promise((resolve, reject) =>
        base({ ...o, hostname: target.address, ...(servername ? { servername } : {}) }, (err, socket) => {
          if (err || !socket) return reject(err ?? new Error('no socket'));
          (socket as net.Socket).setNoDelay(true);
          resolve(socket as net.Socket);
        }),
      );
  }

  function connectOptions(target: ForwardTarget): buildConnector.Options {
    return { hostname: target.dest.host, host: target.dest.host, protocol: `${target.scheme}:`, port: String(target.dest.port), servername: target.dest.host } as buildConnector.Options;
  }

  function upstreamFor(target: ForwardTarget): { entry: Upstream; fresh: boolean } {
    const key = `${target.scheme}|${target.dest.authority}|${target.address}`;
    const entry = pools.get(key);
    if (entry) return { entry, fresh: false };
    const dial = dialerFor(target);
    // The pool dials only after `created` exists: its first dial takes the prewarmed spare.
    const connect: buildConnector.connector = (o, cb) => {
      const spare = created.spare;
      created.spare = undefined;
      const socket = spare ? spare.catch(() => dial(o)) : dial(o);
      socket.then(
        (s) => cb(null, s as never),
        (err: Error) => cb(err, null),
      );
    };
    const origin = `${target.scheme}://${target.dest.authority}`;
    const created: Upstream = {
      dial,
      pool: new (undiciPool().Pool)(origin, {
        connect,
        connections: opts.connectionsPerPool ?? 128,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        headersTimeout: opts.headersTimeoutMs ?? 60_000,
        bodyTimeout: opts.bodyTimeoutMs ?? 300_000,
        strictContentLength: true,
      }),
    };
    pools.set(key, created);
    return { entry: created, fresh: true };
  }

  return {
    prewarm(target) {
      const { entry, fresh } = upstreamFor(target);
      if (!fresh || entry.spare) return;
      const spare = entry.dial(connectOptions(target));
      spare.catch(() => undefined);
      entry.spare = spare;
      // Not taken soon (the client never sent a request): close it rather than hold it.
      setTimeout(() => {
        if (entry.spare !== spare) return;
        entry.spare = undefined;
        void spare.then((sock) => sock.destroy(), () => undefined);
      }, 10_000).unref();
    },
    async request(target, req) {
      const pool = upstreamFor(target).entry.pool;
      let res: Dispatcher.ResponseData;
      try {
        res = await pool.request({
          path: req.path,
          method: req.method as Dispatcher.HttpMethod,
          headers: toUndiciHeaders(req.headers),
          body: req.body,
          signal: req.signal,
        });
      } catch (err) {
        throw upstreamError(err, target.dest);
      }
      return { status: res.statusCode, headers: res.headers as IncomingHttpHeaders, body: res.body };
    },
    async connect(target) {
      try {
        return await dialerFor(target)(connectOptions(target));
      } catch (err) {
        throw upstreamError(err, target.dest);
      }
    },
    async close() {
      const all = [...pools.values()];
      pools.clear();
      for (const u of all) void u.spare?.then((sock) => sock.destroy(), () => undefined);
      await Promise.all(all.map((u) => u.pool.destroy().catch(() => undefined)));
    },
  };
}
