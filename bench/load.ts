import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { LookupFunction } from 'node:net';
import { Readable } from 'node:stream';
import { Agent, ProxyAgent, type Dispatcher } from 'undici';
import { summarise, type LatencySummary } from './stats.js';

/** One measurement: what to request, through what, how hard. Plain data so it crosses IPC. */
export interface LoadJob {
  /** Proxy URL; absent means direct. */
  proxy?: string;
  /** For http:// targets through a proxy: false sends absolute-form requests (no CONNECT). */
  proxyTunnel?: boolean;
  /** PEM CAs the client trusts for the origin's certificate (test CA and the contender's CA). */
  ca: string[];
  /** Address every name resolves to for direct connections. */
  resolveTo: string;
  /** Requests cycle through these; with `fresh`, each is used once, each on its own connection. */
  urls: string[];
  fresh?: boolean;
  method: 'GET' | 'POST';
  uploadBytes?: number;
  /** What an upload is made of: one repeated byte (default), or source text (see uploadChunks). */
  uploadKind?: 'bytes' | 'text';
  concurrency: number;
  /** Either a time budget or a fixed count; a warm-up (not measured) precedes a time budget. */
  durationMs?: number;
  requests?: number;
  warmupMs?: number;
  /** A request body sent as is (e.g. an LLM call's JSON), with its headers. */
  requestBody?: string;
  headers?: Record<string, string>;
  /** When set, time to first token is the time until the response body first contains this text. */
  ttftMarker?: string;
}

export interface LoadResult {
  requests: number;
  errors: number;
  firstError?: string;
  elapsedMs: number;
  reqPerSec: number;
  /** Body bytes moved per second (download + upload), in MB/s (10^6). */
  mbPerSec: number;
  latencyMs: LatencySummary;
  /** With `ttftMarker`: time until the marker arrived. */
  ttftMs?: LatencySummary;
}

/**
 * Upload bodies, 64 KiB repeated. One repeated byte is what the proxies that only forward see as any
 * other; a scanning proxy finds nothing to look at in it. Source text (TypeScript's own declarations of
 * the ES5 library: prose comments and code, no secrets) is what an agent uploads, and gives a scanner
 * the near misses real text does.
 */
const uploadChunks: Record<'bytes' | 'text', Buffer> = {
  bytes: Buffer.alloc(64 * 1024, 'u'),
  text: readFileSync(createRequire(import.meta.url).resolve('typescript/lib/lib.es5.d.ts')).subarray(0, 64 * 1024),
};

async function* uploadBody(n: number, kind: 'bytes' | 'text'): AsyncGenerator<Buffer> {
  const chunk = uploadChunks[kind];
  for (let left = n; left > 0; left -= chunk.length) yield left >= chunk.length ? chunk : chunk.subarray(0, left);
}

function pinnedLookup(address: string): LookupFunction {
  return ((_host: string, opts: { all?: boolean }, cb: (...args: unknown[]) => void) => {
    if (opts?.all) cb(null, [{ address, family: 4 }]);
    else cb(null, address, 4);
  }) as unknown as LookupFunction;
}

export function createDispatcher(job: Pick<LoadJob, 'proxy' | 'proxyTunnel' | 'ca' | 'resolveTo'>, connections?: number): Dispatcher {
  const common = { keepAliveTimeout: 60_000, keepAliveMaxTimeout: 120_000, connections: connections ?? null };
  if (job.proxy) {
    return new ProxyAgent({
      uri: job.proxy,
      proxyTunnel: job.proxyTunnel ?? true,
      // Generous: holding 1,000 connections means 1,000 handshakes queued on a slow proxy.
      requestTls: { ca: job.ca, timeout: 60_000 },
      proxyTls: { timeout: 60_000 },
      ...common,
    });
  }
  return new Agent({ ...common, connect: { ca: job.ca, lookup: pinnedLookup(job.resolveTo), timeout: 60_000 } });
}

/** Sends one request and reads its whole body; returns the body bytes moved both ways. */
export async function oneRequest(dispatcher: Dispatcher, url: URL, job: LoadJob, onFirstToken?: () => void): Promise<number> {
  const upload = job.method === 'POST' ? (job.uploadBytes ?? 0) : 0;
  const headers: Record<string, string> = { ...job.headers };
  if (upload) Object.assign(headers, { 'content-length': String(upload), 'content-type': 'application/octet-stream' });
  const { statusCode, body } = await dispatcher.request({
    origin: url.origin,
    path: url.pathname + url.search,
    method: job.method,
    headers,
    body: upload ? Readable.from(uploadBody(upload, job.uploadKind ?? 'bytes'), { objectMode: false }) : (job.requestBody ?? null),
  });
  let n = 0;
  let seen = '';
  let marker = onFirstToken ? job.ttftMarker : undefined;
  for await (const c of body) {
    n += (c as Buffer).length;
    if (marker === undefined) continue;
    const text = seen + (c as Buffer).toString('utf8');
    // Keep only a tail long enough to catch a marker split across chunks.
    seen = text.slice(-marker.length);
    if (text.includes(marker)) {
      onFirstToken!();
      marker = undefined;
    }
  }
  if (statusCode !== 200) throw new Error(`status ${statusCode}`);
  return n + upload;
}

export async function runLoad(job: LoadJob): Promise<LoadResult> {
  const urls = job.urls.map((u) => new URL(u));
  const dispatcher = createDispatcher(job, job.fresh ? 1 : undefined);
  const latencies: number[] = [];
  const ttfts: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let bytes = 0;
  let next = 0;
  const timed = job.durationMs !== undefined;
  const total = job.requests ?? Number.POSITIVE_INFINITY;
  let measureFrom = performance.now();
  let deadline = Number.POSITIVE_INFINITY;
  let lastEnd = measureFrom;
  const record = (err: unknown): void => {
    errors++;
    firstError ??= err instanceof Error ? `${err.message}${err.cause ? ` (${String((err.cause as Error).message ?? err.cause)})` : ''}` : String(err);
  };
  if (timed) {
    // Warm-up: every worker opens its connection and the pool settles; none of it is measured.
    const warmEnd = performance.now() + (job.warmupMs ?? 0);
    await Promise.all(Array.from({ length: job.concurrency }, async () => {
      do {
        await oneRequest(dispatcher, urls[next++ % urls.length]!, job).catch(record);
      } while (performance.now() < warmEnd && errors < 50);
    }));
    next = 0;
    measureFrom = performance.now();
    deadline = measureFrom + job.durationMs!;
    lastEnd = measureFrom;
  }
  const worker = async (): Promise<void> => {
    // Requests start until the deadline and are all counted; the window ends with the last one.
    while (errors < 50 || latencies.length > 0) {
      const start = performance.now();
      if (start >= deadline || next >= total || (job.fresh && next >= urls.length)) return;
      const url = urls[next++ % urls.length]!;
      try {
        let first = Number.NaN;
        const moved = await oneRequest(dispatcher, url, job, job.ttftMarker !== undefined ? () => { first = performance.now(); } : undefined);
        const end = performance.now();
        if (job.ttftMarker !== undefined) {
          if (Number.isNaN(first)) throw new Error(`no ${JSON.stringify(job.ttftMarker)} in the response`);
          ttfts.push(first - start);
        }
        latencies.push(end - start);
        bytes += moved;
        lastEnd = Math.max(lastEnd, end);
      } catch (err) {
        record(err);
        if (errors >= 50 && latencies.length === 0) return;
      }
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, worker));
  await dispatcher.close().catch(() => undefined);
  const elapsedMs = Math.max(1e-3, lastEnd - measureFrom);
  return {
    requests: latencies.length,
    errors,
    ...(firstError ? { firstError } : {}),
    elapsedMs,
    reqPerSec: (latencies.length * 1000) / elapsedMs,
    mbPerSec: bytes / 1e6 / (elapsedMs / 1000),
    latencyMs: summarise(latencies),
    ...(job.ttftMarker !== undefined ? { ttftMs: summarise(ttfts) } : {}),
  };
}
