import type { Decision, Endpoint, SluiceEvent } from '../core/index.js';

/**
 * Strings that reach the audit log and `--verbose` from a request (paths, host names, reasons
 * that quote a Host header or a path) may carry a secret an agent sent: each passes `scrub`
 * first. Names Sluice chose (codes, rules, providers, entity types) are left alone.
 */
export function scrubEvent(event: SluiceEvent, scrub: (value: string) => string): SluiceEvent {
  const endpoint = <E extends Endpoint | undefined>(e: E): E => (e?.host === undefined ? e : { ...e, host: scrub(e.host) });
  const decision = (d: Decision): Decision => ({
    ...d,
    reason: scrub(d.reason),
    ...(d.path !== undefined ? { path: scrub(d.path) } : {}),
    // A remedy quotes the host and path it would allow: the same request data as the reason.
    ...(d.remedy !== undefined ? { remedy: { ...d.remedy, summary: scrub(d.remedy.summary), yaml: scrub(d.remedy.yaml) } } : {}),
  });
  const optional = (key: string, value: string | undefined) => (value === undefined ? {} : { [key]: scrub(value) });
  switch (event.type) {
    case 'connect':
      return { ...event, dst: endpoint(event.dst), decision: decision(event.decision) };
    case 'request':
      return { ...event, dst: endpoint(event.dst), path: scrub(event.path), decision: decision(event.decision) };
    case 'policy':
      return { ...event, reason: scrub(event.reason), ...(event.errors ? { errors: event.errors.map(scrub) } : {}) };
    case 'upstream_error':
      return { ...event, dst: endpoint(event.dst), reason: scrub(event.reason) };
    case 'llm_call':
      return { ...event, dst: endpoint(event.dst), ...optional('path', event.path), ...optional('reason', event.reason), ...optional('prompt', event.prompt) };
    case 'finding':
      return { ...event, dst: endpoint(event.dst), reason: scrub(event.reason) };
    case 'sandbox':
      return { ...event, reason: scrub(event.reason) };
    case 'api':
      return { ...event, ...optional('reason', event.reason) };
  }
}
