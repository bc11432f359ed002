import type { Decision, Endpoint, EventBus, SluiceEvent } from '../core/index.js';

/**
 * `sluice run`'s voice on stderr: one line per refusal as it happens (what was refused, why, and
 * the policy change that would allow it), then a summary by host at exit. It only listens to the
 * event bus, like the audit log, so the gateway can later feed it the same events remotely.
 */
export interface DenialReporter {
  /** The lines printed at exit; empty when no request went through. */
  summary(): string[];
  close(): void;
}

interface HostCount {
  allowed: number;
  denied: number;
  audited: number;
  failed: number;
}

/** Distinct refusals printed before the rest are only counted. */
const MAX_LINES = 50;
const MAX_SUMMARY_HOSTS = 15;

function target(dst: Endpoint, scheme: 'http' | 'https', path?: string): string {
  const host = dst.host ?? dst.ip ?? '?';
  const shown = host.includes(':') ? `[${host}]` : host;
  const defaultPort = scheme === 'https' ? 443 : 80;
  const authority = path === undefined || dst.port !== defaultPort ? `${shown}:${dst.port ?? '?'}` : shown;
  return path === undefined ? authority : `${authority}${path}`;
}

function hostKey(dst: Endpoint): string {
  const host = dst.host ?? dst.ip ?? '?';
  return `${host.includes(':') ? `[${host}]` : host}:${dst.port ?? '?'}`;
}

function refusal(verb: string, what: string, decision: Decision): string {
  const fix = decision.remedy ? `; ${decision.remedy.advice ? 'what to do' : 'allow with'}: ${decision.remedy.summary}` : '';
  return `sluice: ${verb} ${what} — ${decision.code}: ${decision.reason}${fix}`;
}

export function createDenialReporter(bus: EventBus, out: NodeJS.WritableStream, opts: { sandbox?: string } = {}): DenialReporter {
  const hosts = new Map<string, HostCount>();
  const seen = new Map<string, number>();
  let printed = 0;
  let suppressed = 0;
  const count = (dst: Endpoint, kind: keyof HostCount) => {
    const key = hostKey(dst);
    let c = hosts.get(key);
    if (!c) hosts.set(key, (c = { allowed: 0, denied: 0, audited: 0, failed: 0 }));
    c[kind] += 1;
  };
  const say = (key: string, line: string) => {
    const repeats = seen.get(key) ?? 0;
    seen.set(key, repeats + 1);
    if (repeats > 0) return;
    if (printed >= MAX_LINES) {
      suppressed += 1;
      return;
    }
    printed += 1;
    out.write(`${line}\n`);
  };

  const onEvent = (event: SluiceEvent) => {
    if (event.type === 'connect') {
      // An intercepted tunnel's requests are counted one by one; a raw tunnel is one request.
      if (event.decision.action === 'deny') {
        count(event.dst, 'denied');
        say(`${event.decision.code} CONNECT ${hostKey(event.dst)}`, refusal('denied', `CONNECT ${target(event.dst, 'https')}`, event.decision));
      } else if (event.mode === 'tunnel') {
        count(event.dst, event.decision.audited ? 'audited' : 'allowed');
      }
      return;
    }
    if (event.type === 'request') {
      const what = `${event.method} ${target(event.dst, event.scheme, event.path)}`;
      const key = `${event.decision.code} ${event.method} ${hostKey(event.dst)}${event.path}`;
      if (event.decision.action === 'deny') {
        count(event.dst, 'denied');
        say(key, refusal('denied', what, event.decision));
      } else if (event.decision.audited) {
        count(event.dst, 'audited');
        say(key, refusal('would deny (audit)', what, event.decision));
      } else if (event.error) {
        count(event.dst, 'failed');
        say(`${event.error.code} ${what}`, `sluice: failed ${what} — ${event.error.code}: ${event.error.reason}`);
      } else {
        count(event.dst, 'allowed');
      }
      return;
    }
    if (event.type === 'upstream_error') {
      count(event.dst, 'failed');
      say(`${event.code} ${hostKey(event.dst)}`, `sluice: failed ${target(event.dst, 'https')} — ${event.code}: ${event.reason}`);
    }
  };
  const off = bus.on(onEvent);

  return {
    summary() {
      const totals: HostCount = { allowed: 0, denied: 0, audited: 0, failed: 0 };
      for (const c of hosts.values()) for (const k of Object.keys(totals) as Array<keyof HostCount>) totals[k] += c[k];
      const all = totals.allowed + totals.denied + totals.audited + totals.failed;
      if (all === 0) return [];
      const parts = [`${totals.allowed} allowed`, `${totals.denied} denied`];
      if (totals.audited) parts.push(`${totals.audited} would have been denied (audit)`);
      if (totals.failed) parts.push(`${totals.failed} failed upstream`);
      const lines = [`sluice: ${all} request${all === 1 ? '' : 's'}: ${parts.join(', ')}`];
      const rows = [...hosts].sort(([, a], [, b]) => b.denied + b.audited - (a.denied + a.audited) || b.allowed - a.allowed);
      const width = Math.min(40, Math.max(...rows.map(([h]) => h.length)));
      for (const [host, c] of rows.slice(0, MAX_SUMMARY_HOSTS)) {
        const cells = [`${c.allowed} allowed`, c.denied ? `${c.denied} denied` : '', c.audited ? `${c.audited} would deny` : '', c.failed ? `${c.failed} failed` : ''].filter(Boolean);
        lines.push(`  ${host.padEnd(width)}  ${cells.join(', ')}`);
      }
      if (rows.length > MAX_SUMMARY_HOSTS) lines.push(`  … and ${rows.length - MAX_SUMMARY_HOSTS} more hosts`);
      if (suppressed) lines.push(`sluice: ${suppressed} more distinct refusals were not printed`);
      if (totals.denied || totals.audited) {
        const filter = opts.sandbox ? ` --sandbox ${opts.sandbox}` : '';
        lines.push(`sluice: every refusal: sluice logs --denied${filter}; the policy change that allows them: sluice policy suggest${filter}`);
      }
      return lines;
    },
    close: off,
  };
}
