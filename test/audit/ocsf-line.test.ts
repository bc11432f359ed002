import t from 'tap';
import { ocsfLine, toOcsf } from '../../audit/index.js';
import type { Decision, Endpoint, RequestEvent, SluiceEvent } from '../../core/index.js';
import { allEvents, requestAllowed, requestAudited, requestDenied } from './events.js';

// An ordinary request event's audit line is written field by field (audit/ocsf.ts requestLine),
// and what comes from a shared (frozen) decision is kept per decision. The line must be, byte for
// byte, the record toOcsf maps the event to, for every kind of request event: these try to find
// one where the two differ.

const reference = (event: SluiceEvent): string => JSON.stringify(toOcsf(event));

const decisions: Decision[] = [
  requestAllowed.decision,
  requestDenied.decision,
  requestAudited.decision,
  { action: 'deny', code: 'ssrf_denied', reason: '10.0.0.1 is private (RFC 1918)' },
  { action: 'deny', code: 'policy_denied', reason: 'no network policy allows x.example.com:443' },
  { action: 'allow', code: 'allowed', reason: 'reason with "quotes", a \\ backslash, a\nnewline, \u2028, émoji 🙂 and a ?query=1 in /p?x=1' },
  { action: 'allow', code: 'allowed', policy: 'p', reason: 'policy without a rule' },
  { action: 'allow', code: 'allowed', rule: 'rule without a policy', reason: 'r' },
  { action: 'deny', code: 'l7_denied', policy: 'p', rule: 'r', audited: false, reason: 'audited false' },
  { action: 'allow', code: 'allowed', policy: 'p', rule: 'r', reason: 'with a path', path: '/x' },
];

const endpoints: Array<Endpoint | undefined> = [
  { ip: '127.0.0.1', port: 50_000 },
  { ip: '::1', port: 1 },
  { host: 'api.github.com', port: 443 },
  { host: '10.1.2.3', port: 8080 },
  { host: '2001:db8::1', port: 443 },
  { host: 'api.github.com', ip: '140.82.112.6', port: 443 },
  { host: 'host-ending-in-9', port: 80 },
  { host: 'bücher.example' },
  { port: 9 },
  { host: 'nan.example.com', port: Number.NaN },
  { ip: '192.0.2.1', port: 0 },
  {},
  undefined,
];

const methods = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT', 'get', 'PROPFIND', 'PURGE', ''];
const paths = ['/', '/repos/o/r', '/repos/o/r?access_token=SECRET#frag', '/a%20b/"q"/\\', '/ünïcode/🙂', ''];

function events(): RequestEvent[] {
  const out: RequestEvent[] = [];
  let i = 0;
  for (const decision of decisions) {
    for (const src of endpoints) {
      for (const dst of endpoints) {
        const method = methods[i % methods.length]!;
        const path = paths[i % paths.length]!;
        i++;
        out.push({
          type: 'request',
          time: 1_796_672_361_391 + i,
          src: src as Endpoint,
          dst: dst as Endpoint,
          method,
          path,
          scheme: i % 3 === 0 ? 'http' : 'https',
          decision,
          ...(i % 4 === 0 ? {} : { status: [200, 204, 403, 502][i % 4]! }),
          ...(i % 5 === 0 ? {} : { durationMs: [0, 1.234, 1e-7, 123456.789, Number.NaN][i % 5]! }),
          ...(i % 7 === 0 ? { sandbox: i % 2 ? 'agent-1' : 'sandbox "two"' } : {}),
        });
      }
    }
  }
  return out;
}

t.test('every request event is written as the record it maps to, byte for byte', async (t) => {
  let checked = 0;
  for (const event of events()) {
    const want = reference(event);
    if (ocsfLine(event) !== want) t.equal(ocsfLine(event), want, `${event.method}, decision ${decisions.indexOf(event.decision)}`);
    checked++;
  }
  t.ok(checked > 1000, `${checked} events compared`);
});

t.test('decisions the policy shares (frozen) are written from what is kept for them, and stay right', async (t) => {
  const frozen = decisions.map((d) => Object.freeze({ ...d }));
  let checked = 0;
  for (const round of [0, 1, 2]) {
    for (const event of events()) {
      const shared: RequestEvent = { ...event, decision: frozen[decisions.indexOf(event.decision)]! };
      let got: string;
      try {
        got = ocsfLine(shared);
      } catch (err) {
        t.fail(`round ${round}: ${(err as Error).stack}`);
        return;
      }
      t.equal(got, reference(shared), `round ${round}: ${shared.method}, decision ${decisions.indexOf(event.decision)}`);
      checked++;
    }
  }
  t.ok(checked > 3000);
});

t.test('events the field-by-field writer leaves to JSON.stringify are still written as their record', async (t) => {
  const base = { ...requestAllowed, decision: Object.freeze({ ...requestAllowed.decision }) };
  const others: RequestEvent[] = [
    { ...base, websocket: { messagesOut: 1, bytesOut: 2, messagesIn: 3, bytesIn: 4, closeCode: 1000, closedBy: 'client' } },
    { ...base, llm: { hostClass: 'provider', api: 'openai-chat', stream: true } },
    { ...base, error: { code: 'SLUICE_UPSTREAM_REFUSED', reason: 'refused ?q=1' } },
    { ...base, decision: { action: 'deny', code: 'policy_denied', reason: 'r', remedy: { summary: 's /p?q=1', yaml: 'y' } } },
  ];
  for (const event of [...others, ...allEvents]) t.equal(ocsfLine(event), reference(event), `${event.type}`);
});

t.test('a decision that is not shared (not frozen) is written as it is now, not as it was', async (t) => {
  const decision: Decision = { action: 'allow', code: 'allowed', policy: 'p', rule: 'r', reason: 'first' };
  const event: RequestEvent = { ...requestAllowed, decision };
  t.equal(ocsfLine(event), reference(event));
  decision.reason = 'second';
  decision.action = 'deny';
  decision.code = 'l7_denied';
  t.equal(ocsfLine(event), reference(event), 'the changed decision');
  t.match(ocsfLine(event), /"message":"second"/);
});
