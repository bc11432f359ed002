import t from 'tap';
import { request } from 'undici';
import { startTestGateway, uniqueName } from '../helpers/gateway.js';
import type { TestGateway } from '../helpers/gateway.js';

// Real sandboxes and sluice processes: the file's wall time follows the shared machine's load
// (over the default 120 s at a load average of 25), as test/cli/run.test.ts found.
t.setTimeout(360_000);
interface SseEvent {
  id: number;
  event: string;
  data: Record<string, unknown>;
}

/** Reads a Server-Sent Events response until `until` says stop (or the stream ends). */
async function readEvents(body: AsyncIterable<Buffer> & { destroy(): void }, until: (events: SseEvent[]) => boolean): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  let buffer = '';
  for await (const chunk of body) {
    buffer += chunk.toString();
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const field = (name: string) => block.split('\n').find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2);
      const data = field('data');
      if (data === undefined) continue;
      events.push({ id: Number(field('id')), event: field('event') ?? '', data: JSON.parse(data) as Record<string, unknown> });
    }
    if (until(events)) break;
  }
  body.destroy();
  return events;
}

if (process.getuid?.() !== 0) {
  t.plan(0, 'the gateway runs sandboxes: needs root here; CI runs this as root');
} else {
  let gw: TestGateway;
  t.before(async () => {
    gw = await startTestGateway();
  });
  t.teardown(() => gw?.close());

  t.test('a sandbox filter sees that sandbox only: its life and its traffic, as OCSF with container.name', async (t) => {
    const mine = `sluice-${uniqueName('ev')}`;
    const other = `sluice-${uniqueName('other')}`;
    const res = await request(`http://sluice/v1/events?sandbox=${mine}`, { dispatcher: gw.agent });
    t.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8');
    const reading = readEvents(res.body, (events) => events.some((e) => e.event === 'sandbox' && e.data.unmapped && (e.data.unmapped as { activity: string }).activity === 'exited'));
    const curl = ['curl', '-sS', '--max-time', '10', 'https://denied.example.com/'];
    for (const name of [other, mine]) t.equal((await gw.call('POST', '/v1/sandboxes', { name, command: curl })).status, 201);
    const events = await reading;
    t.ok(events.every((e) => (e.data.container as { name: string } | undefined)?.name === mine), 'every event is of the filtered sandbox');
    const activities = events.filter((e) => e.event === 'sandbox').map((e) => (e.data.unmapped as { activity: string }).activity);
    t.same(activities, ['created', 'started', 'exited']);
    const refused = events.find((e) => e.event === 'connect');
    t.match(refused?.data, { class_uid: 4001, disposition: 'Blocked', dst_endpoint: { hostname: 'denied.example.com' } }, 'its denied CONNECT, attributed to it');
    t.ok(events.every((e, i) => i === 0 || e.id > events[i - 1]!.id), 'ids increase');
    for (const name of [mine, other]) {
      await gw.call('GET', `/v1/sandboxes/${name}/wait`);
      await gw.call('DELETE', `/v1/sandboxes/${name}`);
    }
  });

  t.test('a secret an agent puts in a host name reaches stream clients as scrubbed as the audit file holds it', async (t) => {
    // AWS-shaped, as an agent leaking a key through a CONNECT target or SNI would send it.
    const secret = 'AKIAZ7QWERTYUIOPASD2';
    const name = `sluice-${uniqueName('leak')}`;
    const res = await request(`http://sluice/v1/events?sandbox=${name}`, { dispatcher: gw.agent });
    const reading = readEvents(res.body, (events) => events.some((e) => e.event === 'sandbox' && (e.data.unmapped as { activity?: string } | undefined)?.activity === 'exited'));
    t.equal((await gw.call('POST', '/v1/sandboxes', { name, command: ['curl', '-sS', '--max-time', '10', `https://${secret}.example.com/`] })).status, 201);
    const events = await reading;
    const connect = events.find((e) => e.event === 'connect');
    t.ok(connect, 'the refused CONNECT is on the stream');
    t.notOk(JSON.stringify(events).includes(secret), 'no event on the stream carries the secret');
    const audited = (await gw.audit()).filter((e) => JSON.stringify(e).includes(name));
    t.ok(audited.length > 0, "the audit file holds the sandbox's events");
    t.notOk(JSON.stringify(audited).includes(secret), 'nor does the audit file');
    await gw.call('GET', `/v1/sandboxes/${name}/wait`);
    await gw.call('DELETE', `/v1/sandboxes/${name}`);
  });

  t.test('type and action filters; Last-Event-ID replays what was missed', async (t) => {
    const res = await request('http://sluice/v1/events?type=api&action=deny', { dispatcher: gw.agent });
    const reading = readEvents(res.body, (events) => events.length >= 2);
    await gw.call('PUT', '/v1/policy', 'version: 1\nnetwork_policies: {}\n');
    await gw.call('DELETE', '/v1/sandboxes/sluice-none-such');
    await gw.call('POST', '/v1/sandboxes/sluice-none-such/stop');
    const denied = await reading;
    t.same(denied.map((e) => [e.event, (e.data.api as { response: { code: number } }).response.code]), [['api', 404], ['api', 404]], 'refused calls only; the successful PUT is filtered out');

    const replay = await request('http://sluice/v1/events?type=api', { dispatcher: gw.agent, headers: { 'last-event-id': String(denied[0]!.id - 1) } });
    const again = await readEvents(replay.body, (events) => events.length >= 2);
    t.equal(again[0]!.id, denied[0]!.id, 'replayed from the ring after the given id');
    t.equal((await gw.call('GET', '/v1/events?type=bogus')).status, 400);
    t.equal((await gw.call('GET', '/v1/events?since=x')).status, 400);
  });
}
