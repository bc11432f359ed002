import t from 'tap';
import { scrubEvent } from '../../audit/index.js';
import type { ConnectEvent, RequestEvent, SluiceEvent } from '../../core/index.js';
import { allEvents, connectAllowed, requestAllowed } from './events.js';

const SECRET = 'sk-live-0123456789abcdef';
const scrub = (value: string): string => value.replaceAll(SECRET, '[SECRET]');

/** Every string of the event, however deep. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value === null || typeof value !== 'object') return [];
  return Object.values(value).flatMap(strings);
}

const denied: RequestEvent = {
  ...requestAllowed,
  decision: {
    action: 'deny',
    code: 'l7_denied',
    reason: 'no rule allows GET /x',
    path: '/x',
    remedy: { summary: 'allow GET /x on api.github.com', yaml: 'rules:\n  - allow: { method: GET, path: /x }' },
  },
};

/** Puts the secret into one field at a time; the scrubbed event must not hold it anywhere. */
const placements: Array<[string, SluiceEvent]> = [
  ['request host', { ...requestAllowed, dst: { ...requestAllowed.dst, host: `${SECRET}.example.com` } }],
  ['request path', { ...requestAllowed, path: `/v1/${SECRET}` }],
  ['request reason', { ...requestAllowed, decision: { ...requestAllowed.decision, reason: `allowed ${SECRET}` } }],
  ['decision path', { ...denied, decision: { ...denied.decision, path: `/${SECRET}` } }],
  ['remedy summary', { ...denied, decision: { ...denied.decision, remedy: { ...denied.decision.remedy!, summary: `allow /${SECRET}` } } }],
  ['remedy yaml', { ...denied, decision: { ...denied.decision, remedy: { ...denied.decision.remedy!, yaml: `path: /${SECRET}` } } }],
  ['connect host', { ...connectAllowed, dst: { ...connectAllowed.dst, host: `${SECRET}.example.com` } } satisfies ConnectEvent],
  ['connect reason', { ...connectAllowed, decision: { ...connectAllowed.decision, reason: `endpoint ${SECRET}` } } satisfies ConnectEvent],
];

t.test('a secret in any scrubbed field of a request or connect event is gone, and the event it came from is untouched', async (t) => {
  for (const [where, event] of placements) {
    const before = JSON.stringify(event);
    const out = scrubEvent(event, scrub);
    t.notOk(strings(out).some((s) => s.includes(SECRET)), `${where}: scrubbed`);
    t.ok(strings(out).some((s) => s.includes('[SECRET]')), `${where}: the scrubbed spelling is kept`);
    t.equal(JSON.stringify(event), before, `${where}: the emitted event is not changed`);
    t.not(out, event, `${where}: a changed event is a copy`);
  }
});

t.test('an event with nothing to scrub is passed on as it is, not copied', async (t) => {
  for (const event of [requestAllowed, connectAllowed, denied]) {
    const out = scrubEvent(event, scrub);
    t.equal(out, event, `${event.type}: the same object`);
  }
  // The other kinds are copied as before; their content is what they came with.
  for (const event of allEvents) t.same(scrubEvent(event, scrub), event, `${event.type}: same content`);
});
