import type { Decision, Endpoint, SluiceEvent } from '../core/index.js';
import { oneLine, sandboxOfEvent } from '../audit/index.js';

/**
 * `sluice logs`' readable view: one aligned line per event (time, verdict, sandbox, method,
 * target, then what matters for that kind of event), and under a refusal the line with its fix.
 * Pure: the same event gives the same lines, whichever source it came from.
 */
export interface LogFilter {
  denied?: boolean;
  llm?: boolean;
  sandbox?: string;
  since?: number;
}

export function matchesFilter(event: SluiceEvent, f: LogFilter): boolean {
  if (f.since !== undefined && event.time < f.since) return false;
  if (f.sandbox !== undefined) {
    const s = sandboxOfEvent(event);
    if (s === undefined || (s !== f.sandbox && s !== `sluice-${f.sandbox}`)) return false;
  }
  if (f.llm && event.type !== 'llm_call') return false;
  if (f.denied) {
    if (event.type !== 'connect' && event.type !== 'request') return false;
    if (event.decision.action !== 'deny' && !event.decision.audited) return false;
  }
  return true;
}

const pad2 = (n: number) => String(n).padStart(2, '0');

export function formatTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

function authority(e: Endpoint | undefined, withPort = true): string {
  const host = e?.host ?? e?.ip ?? '?';
  const shown = host.includes(':') ? `[${host}]` : host;
  return withPort && e?.port !== undefined ? `${shown}:${e.port}` : shown;
}

function url(dst: Endpoint, scheme: 'http' | 'https', path: string): string {
  const defaultPort = dst.port === (scheme === 'https' ? 443 : 80);
  return `${authority(dst, !defaultPort)}${path}`;
}

function verdict(d: Decision): string {
  return d.action === 'deny' ? 'DENY' : d.audited ? 'AUDIT' : 'ALLOW';
}

function by(d: Decision): string | undefined {
  const parts = [d.policy, d.rule].filter((p): p is string => Boolean(p));
  return parts.length ? `[${parts.join(' ')}]` : undefined;
}

function ms(n: number | undefined): string | undefined {
  if (n === undefined) return undefined;
  return n >= 1000 ? `${(n / 1000).toFixed(2)}s` : `${Math.round(n)}ms`;
}

const join = (...parts: Array<string | undefined>) => parts.filter((p): p is string => p !== undefined && p !== '').join('  ');

const WIDTH = { verdict: 8, sandbox: 16, method: 7, target: 44 };

function row(event: SluiceEvent, kind: string, method: string, target: string, detail: string): string {
  const sandbox = sandboxOfEvent(event) ?? '-';
  // Nothing is cut: a sandbox name or a path is what the reader came for. Long ones push the rest right.
  return `${formatTime(event.time)}  ${kind.padEnd(WIDTH.verdict)} ${sandbox.padEnd(WIDTH.sandbox)} ${method.padEnd(WIDTH.method)} ${target.padEnd(WIDTH.target)} ${detail}`.trimEnd();
}

function fixLines(d: Decision): string[] {
  if (!d.remedy || (d.action !== 'deny' && !d.audited)) return [];
  return [`${' '.repeat(21)}fix: ${d.remedy.summary}`];
}

/** Every line free of control characters: the log holds text that came from requests. */
export function formatLogEvent(event: SluiceEvent): string[] {
  return linesOf(event).map(oneLine);
}

function linesOf(event: SluiceEvent): string[] {
  switch (event.type) {
    case 'connect': {
      const d = event.decision;
      const detail = d.action === 'deny' || d.audited ? join(`${d.code}: ${d.reason}`, by(d)) : join(event.mode, by(d));
      return [row(event, verdict(d), 'CONNECT', authority(event.dst), detail), ...fixLines(d)];
    }
    case 'request': {
      const d = event.decision;
      const status = event.status === undefined ? undefined : String(event.status);
      const outcome = event.error ? `${event.error.code}: ${event.error.reason}` : d.action === 'deny' || d.audited ? `${d.code}: ${d.reason}` : by(d);
      const kind = event.error ? 'FAIL' : verdict(d);
      return [row(event, kind, event.method, url(event.dst, event.scheme, event.path), join(status, ms(event.durationMs), outcome)), ...fixLines(d)];
    }
    case 'llm_call': {
      const models = `${event.api} ${event.requestedModel ?? '-'} → ${event.backend}${event.backendModel ? ` ${event.backendModel}` : ''}`;
      const tokens = event.inputTokens !== undefined || event.outputTokens !== undefined ? `tokens ${event.inputTokens ?? '?'}/${event.outputTokens ?? '?'}` : undefined;
      const redactions = event.redactions && Object.keys(event.redactions).length ? `redacted ${Object.entries(event.redactions).map(([k, n]) => `${k}=${n}`).join(',')}` : undefined;
      const target = event.dst ? `${authority(event.dst, event.dst.port !== 443)}${event.path ?? ''}` : (event.path ?? '-');
      const detail = join(
        event.status === undefined ? undefined : String(event.status),
        models,
        event.route ? `route ${event.route}` : undefined,
        event.stream ? 'stream' : undefined,
        tokens,
        event.ttftMs === undefined ? undefined : `ttft ${ms(event.ttftMs)}`,
        ms(event.durationMs),
        redactions,
        event.action === 'deny' ? event.reason : undefined,
      );
      return [row(event, event.action === 'deny' ? 'LLM-DENY' : 'LLM', event.method ?? 'POST', target, detail)];
    }
    case 'upstream_error':
      return [row(event, 'FAIL', '-', authority(event.dst), `${event.code}: ${event.reason}`)];
    case 'policy': {
      const errors = event.errors?.length ? ` (${event.errors.length} error${event.errors.length === 1 ? '' : 's'})` : '';
      const lines = [row(event, 'POLICY', event.activity, event.file ?? 'embedded default policy', `${event.reason}${errors}`)];
      for (const e of event.errors ?? []) lines.push(`${' '.repeat(21)}${e}`);
      return lines;
    }
    case 'finding':
      return [row(event, 'FINDING', event.action, event.dst ? authority(event.dst) : '-', join(event.kind, event.subjects.length ? `[${event.subjects.join(',')}]` : undefined, event.reason))];
    case 'sandbox':
      return [row(event, 'SANDBOX', event.activity, event.driver ?? '-', join(event.exitCode === undefined ? undefined : `exit ${event.exitCode}`, event.reason))];
    case 'api':
      return [row(event, event.status === 401 || event.status === 403 ? 'API-DENY' : 'API', event.method, event.route, join(String(event.status), event.actor, event.code ? `${event.code}: ${event.reason ?? ''}` : event.reason))];
  }
}
