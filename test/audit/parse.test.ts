import t from 'tap';
import { eventFromOcsf, ocsfLine, toOcsf } from '../../audit/index.js';
import { scrubQueries, stripQuery } from '../../audit/scrub.js';
import type { SluiceEvent } from '../../core/index.js';
import { allEvents, connectDenied, requestDenied } from './events.js';

/** What the log keeps of an event: no query string anywhere; an LLM call's method (POST unless told). */
function stored(event: SluiceEvent): unknown {
  const kept = JSON.parse(JSON.stringify(event, (key, value: unknown) => (key === 'path' && typeof value === 'string' ? stripQuery(value) : key === 'reason' && typeof value === 'string' ? scrubQueries(value) : value))) as SluiceEvent;
  return kept.type === 'llm_call' ? { ...kept, method: kept.method ?? 'POST' } : kept;
}

const withFacts: SluiceEvent[] = [
  {
    ...connectDenied,
    src: { ip: '10.0.0.2', port: 40000 },
    sandbox: 'sluice-abc',
    decision: { ...connectDenied.decision, remedy: { summary: 'add the endpoint { host: evil.example, port: 443 } to a network policy', yaml: 'network_policies:\n  x: {}' } },
  },
  { ...requestDenied, src: { ip: '10.0.0.2', port: 40001 }, sandbox: 'sluice-abc', decision: { ...requestDenied.decision, remedy: { summary: 'add a rule', yaml: '' } } },
  {
    type: 'request',
    time: 5,
    src: { ip: '127.0.0.1', port: 1 },
    dst: { host: 'down.example.com', port: 443 },
    method: 'GET',
    path: '/x',
    scheme: 'https',
    decision: { action: 'allow', code: 'allowed', policy: 'p', rule: 'down.example.com:443', reason: 'allowed' },
    status: 502,
    error: { code: 'dns_failed', reason: 'could not resolve down.example.com: ENOTFOUND' },
  },
  { type: 'policy', time: 6, activity: 'loaded', file: '/tmp/p.yaml', sandbox: 'sluice-abc', reason: 'policy loaded from /tmp/p.yaml' },
];

t.test('every event survives the audit log: eventFromOcsf(toOcsf(e)) gives e back', async (t) => {
  for (const event of [...allEvents, ...withFacts]) {
    const back = eventFromOcsf(JSON.parse(ocsfLine(event)));
    t.same(back, stored(event), `${event.type} @${event.time}`);
    t.same(eventFromOcsf(toOcsf(event)), back, 'the compacted record reads the same');
  }
});

t.test('the sandbox and the fix are in the record where a SIEM looks', async (t) => {
  const record = toOcsf(withFacts[0]!) as { container: { name: string }; metadata: { profiles: string[] }; unmapped: { fix: { summary: string } } };
  t.equal(record.container.name, 'sluice-abc', 'the sandbox is OCSF\'s container (the container profile)');
  t.ok(record.metadata.profiles.includes('container'));
  t.match(record.unmapped.fix.summary, /^add the endpoint/);
  const failed = toOcsf(withFacts[2]!) as { action_id: number; unmapped: { error: { code: string } } };
  t.equal(failed.action_id, 1, 'an upstream failure is not logged as a denial');
  t.equal(failed.unmapped.error.code, 'dns_failed');
});

t.test('records that are not Sluice events are skipped, not thrown on', async (t) => {
  for (const junk of [null, 1, 'x', [], {}, { time: 'now' }, { time: 1, class_uid: 9999 }]) t.equal(eventFromOcsf(junk), undefined);
});
