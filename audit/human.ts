import net from 'node:net';
import type { Decision, Endpoint, SluiceEvent, WebSocketStats } from '../core/index.js';
import { oneLine, scrubQueries, stripQuery } from './scrub.js';

/**
 * One line per event for `--verbose` on stderr, e.g.
 * `2026-01-01T00:00:00.000Z DENY    CONNECT evil.example:443 policy_denied: no policy allows it  src=127.0.0.1:50000`.
 */
export function formatHuman(event: SluiceEvent): string {
  const time = new Date(event.time).toISOString();
  return oneLine(`${time} ${body(event)}${event.sandbox !== undefined && event.type !== 'sandbox' ? ` sandbox=${event.sandbox}` : ''}`);
}

function body(event: SluiceEvent): string {
  switch (event.type) {
    case 'connect':
      return join(
        verdict(event.decision),
        'CONNECT',
        authority(event.dst),
        event.mode,
        by(event.decision),
        outcome(event.decision),
        src(event.src),
      );
    case 'request': {
      const url = `${event.scheme}://${authority(event.dst)}${stripQuery(event.path)}`;
      return join(
        verdict(event.decision),
        event.method.toUpperCase(),
        url,
        event.status === undefined ? undefined : `-> ${event.status}`,
        event.durationMs === undefined ? undefined : `${Math.round(event.durationMs)}ms`,
        event.websocket === undefined ? undefined : websocket(event.websocket),
        event.llm === undefined ? undefined : `(${event.llm.api ?? 'unrecognised'} on ${event.llm.hostClass === 'virtual' ? 'virtual' : 'LLM'} host)`,
        by(event.decision),
        outcome(event.decision),
        event.error ? `${event.error.code}: ${scrubQueries(event.error.reason)}` : undefined,
        src(event.src),
      );
    }
    case 'policy': {
      const errors = event.errors?.length ? ` (${event.errors.length} error${event.errors.length === 1 ? '' : 's'}: ${event.errors.map(scrubQueries).join('; ')})` : '';
      return join(pad('POLICY'), event.activity === 'loaded' ? 'loaded' : 'REJECTED', event.file ?? 'embedded default', `${scrubQueries(event.reason)}${errors}`);
    }
    case 'upstream_error':
      return join(pad('ERROR'), 'upstream', authority(event.dst), `${event.code}: ${scrubQueries(event.reason)}`, src(event.src));
    case 'llm_call': {
      const tokens = event.inputTokens !== undefined || event.outputTokens !== undefined ? `tokens in=${event.inputTokens ?? '?'} out=${event.outputTokens ?? '?'}` : undefined;
      return join(
        pad('LLM'),
        event.action,
        event.api,
        event.requestedModel ?? '-',
        '->',
        event.backend,
        event.backendModel,
        event.stream ? 'stream' : undefined,
        event.status === undefined ? undefined : String(event.status),
        tokens,
        event.durationMs === undefined ? undefined : `${Math.round(event.durationMs)}ms`,
        event.redactions && Object.keys(event.redactions).length > 0 ? `redacted ${Object.entries(event.redactions).map(([k, n]) => `${k}=${n}`).join(',')}` : undefined,
        event.reason === undefined ? undefined : scrubQueries(event.reason),
      );
    }
    case 'finding':
      return join(
        pad('FINDING'),
        event.action,
        event.kind,
        event.subjects.length > 0 ? `[${event.subjects.join(',')}]` : undefined,
        event.dst ? authority(event.dst) : undefined,
        scrubQueries(event.reason),
        src(event.src),
      );
    case 'sandbox':
      return join(pad('SANDBOX'), event.sandbox ?? '?', event.activity, event.driver, event.exitCode === undefined ? undefined : `exit=${event.exitCode}`, scrubQueries(event.reason));
    case 'api':
      return join(pad('API'), event.method, event.route, `-> ${event.status}`, event.actor, event.code === undefined ? undefined : `${event.code}: ${scrubQueries(event.reason ?? '')}`, src(event.src));
  }
}

function websocket(ws: WebSocketStats): string {
  const close = ws.closeCode === undefined ? '' : ` close=${ws.closeCode}${ws.closedBy ? ` by ${ws.closedBy}` : ''}`;
  return `websocket out=${ws.messagesOut} msg/${ws.bytesOut} B in=${ws.messagesIn} msg/${ws.bytesIn} B${close}`;
}

function verdict(decision: Decision): string {
  if (decision.action === 'deny') return pad('DENY');
  return pad(decision.audited ? 'AUDIT' : 'ALLOW');
}

/** Which policy and rule decided, e.g. `[github api.github.com:443]`. */
function by(decision: Decision): string | undefined {
  const parts = [decision.policy, decision.rule].filter((p): p is string => p !== undefined && p !== '');
  return parts.length > 0 ? `[${parts.join(' ')}]` : undefined;
}

function outcome(decision: Decision): string | undefined {
  if (decision.action === 'allow' && !decision.audited) return undefined;
  const fix = decision.remedy ? `; ${decision.remedy.advice ? 'what to do' : 'allow with'}: ${scrubQueries(decision.remedy.summary)}` : '';
  return `${decision.code}: ${scrubQueries(decision.reason)}${fix}`;
}

function authority(e: Endpoint | undefined): string {
  const host = e?.host ?? e?.ip ?? '?';
  const shown = net.isIPv6(host) ? `[${host}]` : host;
  return e?.port === undefined ? shown : `${shown}:${e.port}`;
}

function src(e: Endpoint | undefined): string | undefined {
  if (!e?.ip) return undefined;
  return `src=${authority({ host: e.ip, port: e.port })}`;
}

function pad(word: string): string {
  return word.padEnd(7);
}

function join(...parts: (string | undefined)[]): string {
  return parts.filter((p): p is string => p !== undefined && p !== '').join(' ');
}
