import type * as Prom from 'prom-client';
import { lazyModule } from '../core/index.js';
import type { Decision, EventBus, SluiceEvent } from '../core/index.js';
import type { BackendHealth } from '../privacy/index.js';
import type { Route } from './route.js';

/**
 * Prometheus metrics of a gateway, served at GET /metrics (read scope) in the text format.
 * Counters and histograms are fed from the event bus, the same events the audit log writes, so
 * a number here and a line there never disagree; gauges (tunnels, sandboxes, backend health,
 * audit lines dropped) are read from the live gateway at scrape time.
 *
 * Label values come partly from clients (a requested model name, a policy's route names): each
 * family keeps at most `maxSeries` label sets and counts the rest under `other`, so an agent
 * that invents model names cannot grow the gateway's memory without bound.
 *
 * prom-client (~12 MB resident) is loaded on the first scrape, not at start: until then events
 * are counted in plain maps (counter totals per label set, histogram observations up to
 * MAX_PENDING_OBSERVATIONS, past which the library is loaded early) and replayed into it in the
 * order they were first seen, so the exposition is what it would have been had it been loaded
 * from the start.
 */
export interface MetricsSource {
  sandboxes(): ReadonlyArray<{ state: string }>;
  /** Every proxy listener: the shared one (`default`) and one per running sandbox. */
  listeners(): ReadonlyArray<{ name: string; openTunnels: number; health: Record<string, BackendHealth> }>;
  auditDropped(): number;
}

export interface Metrics {
  /** GET /metrics, for startGateway's `routes`. */
  readonly routes: Route[];
  /** Gauges read the gateway once it exists (it is started with these routes). */
  attach(source: MetricsSource): void;
  /** The exposition text (what GET /metrics answers). */
  text(): Promise<string>;
  close(): void;
}

export const METRICS_PATH = '/metrics';
/** prom-client's Registry.PROMETHEUS_CONTENT_TYPE (test/gateway/metrics.test.ts checks they agree). */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
const MAX_PENDING_OBSERVATIONS = 10_000;
const prom = lazyModule<typeof Prom>('prom-client');
const OTHER = 'other';
const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

type Labels = Record<string, string>;
type CounterName = 'requests' | 'responses' | 'upstreamErrors' | 'llmCalls' | 'tokens' | 'redactions' | 'findings';
type HistogramName = 'ttft' | 'duration';

/**
 * One label set as a map key, once or twice per audited request: names and values joined with
 * separators (a value that holds one falls back to JSON, whose keys start with "{" and so never
 * meet a joined one); JSON.stringify of the set cost several times more.
 */
function labelKey(labels: Labels): string {
  let key = '';
  for (const name of Object.keys(labels)) {
    const value = labels[name]!;
    if (value.includes('\u0001') || value.includes('\u0002')) return JSON.stringify(labels);
    key += `\u0001${name}\u0002${value}`;
  }
  return key;
}

/** labelKey of a label set made once (the request events' sets are made once per shared decision). */
const labelKeys = new WeakMap<Labels, string>();
function keyOf(labels: Labels): string {
  let key = labelKeys.get(labels);
  if (key === undefined) labelKeys.set(labels, (key = labelKey(labels)));
  return key;
}

/** Where observe() counts: plain maps until the first scrape, prom-client's metrics after it. */
interface Sink {
  inc(name: CounterName, labels: Labels, n?: number): void;
  observe(name: HistogramName, labels: Labels, value: number): void;
}

/** Counter totals per label set and histogram observations, kept in first-seen order. */
function pendingSink(onFull: () => void): Sink & { replay(into: Sink): void } {
  const counters = new Map<CounterName, Map<string, { labels: Labels; n: number }>>();
  const observations: Array<{ name: HistogramName; labels: Labels; value: number }> = [];
  return {
    inc(name, labels, n = 1) {
      const family = counters.get(name) ?? new Map<string, { labels: Labels; n: number }>();
      counters.set(name, family);
      const key = keyOf(labels);
      const entry = family.get(key);
      if (entry) entry.n += n;
      else family.set(key, { labels, n });
    },
    observe(name, labels, value) {
      observations.push({ name, labels, value });
      if (observations.length === MAX_PENDING_OBSERVATIONS) onFull();
    },
    replay(into) {
      for (const [name, family] of counters) for (const { labels, n } of family.values()) into.inc(name, labels, n);
      for (const o of observations) into.observe(o.name, o.labels, o.value);
    },
  };
}

export function createMetrics(bus: EventBus, opts: { maxSeries?: number } = {}): Metrics {
  const maxSeries = opts.maxSeries ?? 1000;
  let source: MetricsSource | undefined;
  let registry: Prom.Registry | undefined;
  let closed = false;
  const pending = pendingSink(() => load());
  let sink: Sink = pending;

  const load = (): Prom.Registry => {
    if (registry) return registry;
    const made = promRegistry(prom(), () => source);
    pending.replay(made.sink);
    sink = made.sink;
    registry = made.registry;
    if (closed) registry.clear();
    return registry;
  };

  // One bounded set of label tuples per family: past the cap, client-chosen values become `other`.
  const seen = new Map<string, Set<string>>();
  const bounded = <T extends Record<string, string>>(family: string, labels: T, free: Array<keyof T>): T => {
    const set = seen.get(family) ?? new Set<string>();
    seen.set(family, set);
    const key = keyOf(labels);
    if (set.has(key)) return labels;
    if (set.size < maxSeries) {
      set.add(key);
      return labels;
    }
    const capped = { ...labels };
    for (const k of free) capped[k] = OTHER as T[keyof T];
    return capped;
  };

  // Label sets of the per-request counters, made once: per decision the policy shares, per status.
  const decisionLabels = { connect: new WeakMap<Decision, Labels>(), request: new WeakMap<Decision, Labels>() };
  const decisionLabelsOf = (kind: 'connect' | 'request', d: Decision): Labels => {
    const known = decisionLabels[kind].get(d);
    if (known) return known;
    const labels = { kind, decision: d.audited ? 'audit' : d.action, code: d.code };
    if (Object.isFrozen(d)) decisionLabels[kind].set(d, labels);
    return labels;
  };
  const statusLabels = new Map<number, Labels>();
  const statusLabelsOf = (status: number): Labels => {
    let labels = statusLabels.get(status);
    if (!labels) {
      labels = { status: String(status) };
      if (Number.isInteger(status) && status >= 0 && status < 1000) statusLabels.set(status, labels);
    }
    return labels;
  };

  const observe = (event: SluiceEvent) => {
    switch (event.type) {
      case 'connect':
      case 'request': {
        sink.inc('requests', bounded('requests', decisionLabelsOf(event.type, event.decision), ['code']));
        if (event.type === 'request' && event.decision.action === 'allow') sink.inc('responses', statusLabelsOf(event.status ?? 0));
        if (event.type === 'request' && event.error) sink.inc('upstreamErrors', bounded('upstream', { code: event.error.code }, ['code']));
        return;
      }
      case 'upstream_error':
        sink.inc('upstreamErrors', bounded('upstream', { code: event.code }, ['code']));
        return;
      case 'llm_call': {
        const model = event.backendModel ?? event.requestedModel ?? '';
        const route = event.route ?? '';
        sink.inc('llmCalls', bounded('llm', { route, backend: event.backend, model, action: event.action }, ['route', 'model']));
        if (event.inputTokens) sink.inc('tokens', bounded('tokens', { route, backend: event.backend, model, direction: 'input' }, ['route', 'model']), event.inputTokens);
        if (event.outputTokens) sink.inc('tokens', bounded('tokens', { route, backend: event.backend, model, direction: 'output' }, ['route', 'model']), event.outputTokens);
        const timing = bounded('timing', { backend: event.backend, model }, ['model']);
        if (event.ttftMs !== undefined) sink.observe('ttft', timing, event.ttftMs / 1000);
        if (event.durationMs !== undefined) sink.observe('duration', timing, event.durationMs / 1000);
        for (const [type, n] of Object.entries(event.redactions ?? {})) sink.inc('redactions', bounded('redactions', { type, where: 'llm' }, ['type']), n);
        return;
      }
      case 'finding':
        sink.inc('findings', bounded('findings', { kind: event.kind, action: event.action }, ['kind']));
        if (event.kind === 'dlp' && event.action === 'redacted') for (const type of event.subjects) sink.inc('redactions', bounded('redactions', { type, where: 'egress' }, ['type']));
        return;
      default:
        return;
    }
  };
  const off = bus.on(observe);

  const text = () => load().metrics();
  return {
    routes: [
      {
        method: 'GET', path: METRICS_PATH, scope: 'read', tags: ['gateway'], summary: 'Prometheus metrics (text exposition format)',
        description: 'Requests by decision and code, LLM calls and tokens by route/backend/model, time-to-first-token and duration histograms, redactions by type, backend health, open tunnels, sandboxes, audit lines dropped.',
        responses: { 200: { description: 'the metrics', contentType: METRICS_CONTENT_TYPE } },
        handle: async () => ({ status: 200, text: await text(), contentType: METRICS_CONTENT_TYPE }),
      },
    ],
    attach(next) {
      source = next;
    },
    text,
    close() {
      closed = true;
      off();
      registry?.clear();
    },
  };
}

/** The metrics as prom-client families: counters and histograms fed by a Sink, gauges read from the gateway. */
function promRegistry(client: typeof Prom, source: () => MetricsSource | undefined): { registry: Prom.Registry; sink: Sink } {
  const registry = new client.Registry();
  const registers = [registry];
  const requests = new client.Counter({ name: 'sluice_requests_total', help: 'Connections (CONNECT or plain) and HTTP requests decided, by kind, decision and code', labelNames: ['kind', 'decision', 'code'], registers });
  const responses = new client.Counter({ name: 'sluice_responses_total', help: 'Allowed HTTP requests by the status the client received (0: not completed)', labelNames: ['status'], registers });
  const upstreamErrors = new client.Counter({ name: 'sluice_upstream_errors_total', help: 'Allowed requests that could not be completed (DNS, refused, timeout, TLS), by code', labelNames: ['code'], registers });
  const llmCalls = new client.Counter({ name: 'sluice_llm_calls_total', help: 'LLM calls by route, backend, model and action', labelNames: ['route', 'backend', 'model', 'action'], registers });
  const tokens = new client.Counter({ name: 'sluice_llm_tokens_total', help: 'LLM tokens by route, backend, model and direction (input, output)', labelNames: ['route', 'backend', 'model', 'direction'], registers });
  const ttft = new client.Histogram({ name: 'sluice_llm_time_to_first_token_seconds', help: 'Time from the call to the first token the client received', labelNames: ['backend', 'model'], buckets: SECONDS, registers });
  const duration = new client.Histogram({ name: 'sluice_llm_duration_seconds', help: 'Duration of LLM calls, to the last byte', labelNames: ['backend', 'model'], buckets: SECONDS, registers });
  const redactions = new client.Counter({ name: 'sluice_redactions_total', help: 'Values redacted, by entity type and where (llm: prompts to a backend; egress: DLP on other requests, counted per request)', labelNames: ['type', 'where'], registers });
  const findings = new client.Counter({ name: 'sluice_findings_total', help: 'Security findings (DLP, credential misuse, secret exfiltration) by kind and action', labelNames: ['kind', 'action'], registers });
  new client.Gauge({
    name: 'sluice_backend_healthy', help: 'LLM backend health from the last check (1 healthy, 0 not), per listener', labelNames: ['listener', 'backend'], registers,
    collect() {
      this.reset();
      for (const l of source()?.listeners() ?? []) for (const [backend, h] of Object.entries(l.health)) this.set({ listener: l.name, backend }, h.healthy ? 1 : 0);
    },
  });
  new client.Gauge({
    name: 'sluice_open_tunnels', help: 'Open CONNECT tunnels, per listener', labelNames: ['listener'], registers,
    collect() {
      this.reset();
      for (const l of source()?.listeners() ?? []) this.set({ listener: l.name }, l.openTunnels);
    },
  });
  new client.Gauge({
    name: 'sluice_sandboxes', help: 'Sandboxes the gateway knows, by state', labelNames: ['state'], registers,
    collect() {
      this.reset();
      const counts = new Map<string, number>();
      for (const s of source()?.sandboxes() ?? []) counts.set(s.state, (counts.get(s.state) ?? 0) + 1);
      for (const state of ['running', 'exited', 'stopped', 'failed', 'lost']) counts.set(state, counts.get(state) ?? 0);
      for (const [state, n] of counts) this.set({ state }, n);
    },
  });
  new client.Gauge({
    name: 'sluice_audit_lines_dropped_total', help: 'Audit lines dropped because the disk could not keep up or failed (a counter since start)', registers,
    collect() {
      this.set(source()?.auditDropped() ?? 0);
    },
  });
  const counters: Record<CounterName, Prom.Counter> = { requests, responses, upstreamErrors, llmCalls, tokens, redactions, findings };
  const histograms: Record<HistogramName, Prom.Histogram> = { ttft, duration };
  return {
    registry,
    sink: {
      inc: (name, labels, n) => counters[name].inc(labels, n),
      observe: (name, labels, value) => histograms[name].observe(labels, value),
    },
  };
}
