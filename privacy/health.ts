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

/**
 * Keeps each backend's model list fresh: the `ollama` client's list() for Ollama, GET /v1/models
 * for the rest. Timers are unref'd so a forgotten router never holds the process open.
 */
export function createHealthMonitor(backends: readonly Backend[], credentials: CredentialSource | undefined, intervalMs: number): HealthMonitor {
  const state = new Map<string, BackendHealth>();
  const inflight = new Set<Promise<unknown>>();
  let closed = false;

  const fetchModels = async (backend: Backend): Promise<string[]> => {
    if (backend.config.type === 'ollama') {
      // Loaded on the first check of an Ollama backend: a Sluice with no such route does not carry it.
      const { Ollama } = await import('ollama');
      const client = new Ollama({
        host: backend.origin + backend.basePath,
        fetch: (input, init) => fetch(input, { ...init, signal: AbortSignal.timeout(CHECK_TIMEOUT_MS) }),
      });
      const res = await client.list();
      return res.models.map((m) => m.name);
    }
    const path = backend.pathFor('models', backend.shape) ?? '/v1/models';
    const headers = backendHeaders(backend, credentials, {}, backend.shape);
    const res = await backend.request({ method: 'GET', path, headers, signal: AbortSignal.timeout(CHECK_TIMEOUT_MS) });
    const text = await res.body.text();
    if (res.statusCode >= 400) throw new Error(`GET ${path} answered ${res.statusCode}`);
    return parseModelList(backend.listShape, JSON.parse(text));
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
