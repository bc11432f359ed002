import type { Decision, Endpoint, Remedy, SluiceEvent } from '../core/index.js';

/**
 * Strings that reach the audit log and `--verbose` from a request (paths, host names, reasons
 * that quote a Host header or a path) may carry a secret an agent sent: each passes `scrub`
 * first. Names Sluice chose (codes, rules, providers, entity types) are left alone.
 */
export function scrubEvent(event: SluiceEvent, scrub: (value: string) => string): SluiceEvent {
  // Almost every string comes back unchanged: then the event is returned as it came, not copied.
  const endpoint = <E extends Endpoint | undefined>(e: E): E => {
    if (e?.host === undefined) return e;
    const host = scrub(e.host);
    return host === e.host ? e : { ...e, host };
  };
  const decision = (d: Decision): Decision => {
    const reason = scrub(d.reason);
    const path = d.path === undefined ? undefined : scrub(d.path);
    // A remedy quotes the host and path it would allow: the same request data as the reason.
    const remedy = d.remedy === undefined ? undefined : scrubRemedy(d.remedy, scrub);
    if (reason === d.reason && path === d.path && remedy === d.remedy) return d;
    return { ...d, reason, ...(path !== undefined ? { path } : {}), ...(remedy !== undefined ? { remedy } : {}) };
  };
  const optional = (key: string, value: string | undefined) => (value === undefined ? {} : { [key]: scrub(value) });
  switch (event.type) {
    case 'connect': {
      const dst = endpoint(event.dst);
      const d = decision(event.decision);
      return dst === event.dst && d === event.decision ? event : { ...event, dst, decision: d };
    }
    case 'request': {
      const dst = endpoint(event.dst);
      const path = scrub(event.path);
      const d = decision(event.decision);
      return dst === event.dst && path === event.path && d === event.decision ? event : { ...event, dst, path, decision: d };
    }
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

function scrubRemedy(remedy: Remedy, scrub: (value: string) => string): Remedy {
  const summary = scrub(remedy.summary);
  const yaml = scrub(remedy.yaml);
  return summary === remedy.summary && yaml === remedy.yaml ? remedy : { ...remedy, summary, yaml };
}
