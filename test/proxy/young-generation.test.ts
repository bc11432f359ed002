import t from 'tap';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Cancellation, createEventBus, makeDestination } from '../../core/index.js';
import type { Classifier } from '../../core/index.js';
import { createRequestContext } from '../../proxy/index.js';
import { createRedactor } from '../../redact/index.js';
import { translate } from '../../privacy/index.js';

// What one request builds must die young. An object with a getter closure of its own gets a hidden
// class of its own, and V8's scavenger keeps every such hidden class alive, with all its closure
// reaches, until the next full collection: each request was promoted whole, and the scavenges that
// copied ~1.5 MB each were the LLM lanes' time-to-first-token p99 (issue 15). Each case below builds
// what a request builds 2,000 times (a request context's closure reaching ~8 KB), drops it, and
// measures what two scavenges promote.

v8.setFlagsFromString('--expose-gc');
// Payloads that survive make V8 allocate the next ones from the same site directly in the old
// generation (pretenuring), which would count the probe's leak against the cases after it.
v8.setFlagsFromString('--no-allocation-site-pretenuring');
const gc = vm.runInNewContext('gc') as (options?: { type: 'major' | 'minor' }) => void;
const oldSpace = (): number => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')!.space_used_size;

const ROUNDS = 2000;
/** An 8 KB payload per round: what a real request's closures reach (its headers, body, streams). */
const payload = (i: number): number[] => new Array<number>(1000).fill(i);
/**
 * What two scavenges may promote: each case promotes 60–80 KB here; kept, the request contexts
 * promote ~17 MB (their payloads), the scanners ~1.3 MB and 6,000 decoders ~1.7 MB (their own state).
 */
const LIMIT = 400 * 1024;

/** Bytes promoted to the old generation by building ROUNDS objects with `make` and dropping them. */
function promotedBy(make: (payload: number[]) => unknown, rounds = ROUNDS): number {
  let made = 0;
  gc();
  const before = oldSpace();
  for (let i = 0; i < rounds; i++) if (make(payload(i)) !== undefined) made++;
  gc({ type: 'minor' });
  gc({ type: 'minor' });
  if (made !== rounds) throw new Error(`made ${made} of ${rounds}`);
  return oldSpace() - before;
}

t.test('a request context dies young', async (t) => {
  const classifier: Classifier = { hostClass: () => 'other', classify: ({ rawPath }) => ({ hostClass: 'other', path: rawPath, api: undefined, shape: undefined }) };
  const bus = createEventBus();
  const dest = makeDestination('api.github.com', 443);
  const signals = { asked: 0 };
  const make = (p: number[]) => createRequestContext({
    src: { ip: '127.0.0.1', port: 1 }, dest, scheme: 'https', sandbox: undefined, bus, classifier,
    signal: () => {
      signals.asked += p.length > 0 ? 1 : 0;
      return AbortSignal.abort();
    },
    cancel: new Cancellation(),
    method: 'GET', target: '/repos?x=1', headers: { host: 'api.github.com' },
  });
  const promoted = promotedBy(make);
  t.ok(promoted < LIMIT, `promoted ${promoted} bytes`);
  t.equal(signals.asked, 0, 'the signal is made only when a stage asks for it');
  t.equal(make([1]).signal.aborted, true);
  t.equal(signals.asked, 1);
});

t.test('an egress scanner dies young, and still counts what it scanned', async (t) => {
  const r = createRedactor(undefined);
  t.teardown(() => r.close());
  const promoted = promotedBy((p) => {
    const s = r.createEgressScanner();
    s.push(Buffer.alloc(300, 0x61));
    return { s, p };
  });
  t.ok(promoted < LIMIT, `promoted ${promoted} bytes`);
  const s = r.createEgressScanner();
  t.equal(s.scanned, 0);
  s.push('x'.repeat(10));
  t.equal(s.scanned, 0, 'a small push waits for more before it is scanned');
  s.push('y'.repeat(600));
  t.equal(s.scanned, 610);
  s.end();
  t.equal(s.scanned, 610);
});

t.test('a Responses stream decoder dies young, and still says when its stream ended', async (t) => {
  const promoted = promotedBy((p) => {
    const d = translate.createResponsesEventDecoder();
    d.push({ type: 'response.created', response: { id: `r${p.length}` } }, []);
    return { d, p };
  }, 3 * ROUNDS);
  t.ok(promoted < LIMIT, `promoted ${promoted} bytes`);
  const d = translate.createResponsesEventDecoder();
  t.equal(d.ended, false);
  d.push({ type: 'response.completed', response: { status: 'completed' } }, []);
  t.equal(d.ended, true);
});

t.test("a request's cancellation dies young, with what its listeners reach (an AbortController does not)", async (t) => {
  const promoted = promotedBy((p) => {
    const cancel = new Cancellation();
    cancel.once('abort', () => p.length);
    return cancel;
  });
  t.ok(promoted < LIMIT, `promoted ${promoted} bytes`);
  const fired: number[] = [];
  const cancel = new Cancellation();
  cancel.once('abort', () => fired.push(1));
  cancel.abort();
  cancel.abort();
  t.same(fired, [1], 'abort is emitted once');
  t.equal(cancel.aborted, true);
  // Why the router does not take ctx.signal: Node 20's AbortController (its signal, its listeners) is promoted.
  const kept = promotedBy((p) => {
    const controller = new AbortController();
    controller.signal.addEventListener('abort', () => p.length);
    return controller;
  });
  t.ok(kept > 2 * LIMIT, `an AbortController per request is promoted (${kept} bytes)`);
});

t.test('the probe sees the leak it guards against', async (t) => {
  // Last, so that what it promotes cannot be mistaken for the cases' own. An object literal with a getter closure per object: the pattern the product code no longer uses.
  const kept = promotedBy((p) => ({ id: p.length, get payload() { return p; } }));
  t.ok(kept > 20 * LIMIT, `a getter closure per object promotes its payloads (${kept} bytes)`);
});
