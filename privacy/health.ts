import http from 'node:http';
import https from 'node:https';
import type { Backend, CredentialSource } from './backend.js';
import { backendHeaders } from './backend.js';
import { parseModelList } from './translate/index.js';

export interface BackendHealth {
  healthy: boolean;
  models?: string[];
  checkedAt?: number;
  error?: string;
}

export interface HealthMonitor {
  snapshot(): Record<string, BackendHealth>;
  /** Live model list (falls back to the last good one). */
  models(backend: Backend): Promise<string[]>;
  close(): Promise<void>;
}

const CHECK_TIMEOUT_MS = 5_000;
/** A model list is a few KB; a backend answering more is refused, not buffered without end. */
const MAX_LIST_BYTES = 4 * 1024 * 1024;

/**
 * Keeps each backend's model list fresh: GET /api/tags for Ollama, GET /v1/models for the rest.
 * Timers are unref'd so a forgotten router never holds the process open.
 */
export function createHealthMonitor(backends: readonly Backend[], credentials: CredentialSource | undefined, intervalMs: number): HealthMonitor {
  const state = new Map<string, BackendHealth>();
  const inflight = new Set<Promise<unknown>>();
  let closed = false;

  // A plain node:http GET, not the backend's undici pool: the default Ollama backend is checked
  // at start, and a Sluice whose routes are never called then loads no HTTP client (~20 MB).
  const fetchModels = async (backend: Backend): Promise<string[]> => {
    const path = backend.pathFor('models', backend.shape) ?? '/v1/models';
    const headers = backendHeaders(backend, credentials, {}, backend.shape);
    const res = await plainGet(new URL(path, backend.origin), headers);
    if (res.status >= 400) throw new Error(`GET ${path} answered ${res.status}`);
    return parseModelList(backend.listShape, JSON.parse(res.text));
  };

  const check = async (backend: Backend): Promise<string[]> => {
    try {
      const models = await fetchModels(backend);
      state.set(backend.name, { healthy: true, models, checkedAt: Date.now() });
      return models;
    } catch (err) {
      const prev = state.get(backend.name);
      state.set(backend.name, { healthy: false, ...(prev?.models ? { models: prev.models } : {}), checkedAt: Date.now(), error: (err as Error).message });
      throw err;
    }
  };

  const track = <T>(p: Promise<T>): Promise<T> => {
    inflight.add(p);
    void p.finally(() => inflight.delete(p)).catch(() => undefined);
    return p;
  };

  const checkAll = (): void => {
    if (closed) return;
    for (const b of backends) track(check(b)).catch(() => undefined);
  };

  const timer = intervalMs > 0 ? setInterval(checkAll, intervalMs) : undefined;
  timer?.unref();
  if (intervalMs > 0) checkAll();

  return {
    snapshot() {
      const out: Record<string, BackendHealth> = {};
      for (const b of backends) out[b.name] = state.get(b.name) ?? { healthy: false, error: 'not checked yet' };
      return out;
    },
    async models(backend) {
      try {
        return await track(check(backend));
      } catch (err) {
        const cached = state.get(backend.name)?.models;
        if (cached) return cached;
        throw err;
      }
    },
    async close() {
      closed = true;
      if (timer) clearInterval(timer);
      await Promise.allSettled([...inflight]);
    },
  };
}

function plainGet(url: URL, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(url, { method: 'GET', headers, signal: AbortSignal.timeout(CHECK_TIMEOUT_MS), agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_LIST_BYTES) req.destroy(new Error(`GET ${url.pathname} answered more than ${MAX_LIST_BYTES} bytes`));
        else chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
