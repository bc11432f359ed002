import t from 'tap';
import { SluiceError } from '../../core/index.js';
import type { RequestContext, Stage, WebSocketMessage } from '../../core/index.js';
import { createRelay, type RelaySide } from '../../proxy/websocket-relay.js';

// The relay on its own, between two recording sides whose writes complete only when the test says:
// what counts as in flight for backpressure, message order through sync and async hooks, and a close
// that must not overtake the messages sent before it.

interface Recorder extends RelaySide {
  sent: string[];
  /** Write callbacks not yet called: the bytes are not written yet. */
  unwritten: Array<() => void>;
  log: string[];
  writeAll(): void;
}

function recorder(log: string[], name: string): Recorder {
  const side: Recorder = {
    sent: [],
    unwritten: [],
    log,
    send(data, _binary, done) {
      side.sent.push(data.toString());
      side.unwritten.push(done);
    },
    close: (code) => void log.push(`${name} close ${code}`),
    terminate: () => void log.push(`${name} terminate`),
    pause: () => void log.push(`${name} pause`),
    resume: () => void log.push(`${name} resume`),
    writeAll() {
      for (const done of side.unwritten.splice(0)) done();
    },
  };
  return side;
}

const ctx = {} as RequestContext;
const tick = () => new Promise((resolve) => setImmediate(resolve));

t.test('bytes count as in flight until written: the sender is paused past 1 MiB and resumed once they are', async (t) => {
  const log: string[] = [];
  const client = recorder(log, 'client');
  const upstream = recorder(log, 'upstream');
  const relay = createRelay(ctx, [], client, upstream);
  const big = Buffer.alloc(300 * 1024, 'a');
  for (let i = 0; i < 4; i++) relay.message('in', big, false);
  await tick();
  t.equal(client.sent.length, 4, 'every message was handed to the client side');
  t.same(log, ['upstream pause'], 'the upstream is paused: 1.2 MB handed on but none of it written');
  client.writeAll();
  t.same(log, ['upstream pause', 'upstream resume'], 'resumed once the writes completed');
});

t.test('sync and async hooks keep the order of messages, and replace or drop them', async (t) => {
  const log: string[] = [];
  const client = recorder(log, 'client');
  const upstream = recorder(log, 'upstream');
  const hooks: Stage[] = [
    {
      name: 'slow-on-even',
      onWebSocketMessage(_ctx: RequestContext, m: WebSocketMessage) {
        const n = Number(m.data.toString());
        if (n === 3) return [];
        return n % 2 ? undefined : new Promise<Buffer>((resolve) => setTimeout(() => resolve(Buffer.from(`${n}!`)), 5));
      },
    } as Stage,
    { name: 'sync', onWebSocketMessage: (_ctx: RequestContext, m: WebSocketMessage) => Buffer.from(`${m.data.toString()}.`) } as Stage,
  ];
  const relay = createRelay(ctx, hooks, client, upstream);
  for (let i = 0; i < 6; i++) relay.message('out', Buffer.from(String(i)), false);
  await new Promise((resolve) => setTimeout(resolve, 60));
  t.same(upstream.sent, ['0!.', '1.', '2!.', '4!.', '5.'], 'in order, 3 dropped, the rest replaced by both hooks');
  upstream.writeAll();
  t.same(relay.stats, { messagesOut: 5, bytesOut: 13, messagesIn: 0, bytesIn: 0 });
});

t.test('a close from one side reaches the other only after what it sent before is written', async (t) => {
  const log: string[] = [];
  const client = recorder(log, 'client');
  const upstream = recorder(log, 'upstream');
  const relay = createRelay(ctx, [], client, upstream);
  relay.message('in', Buffer.from('last words'), false);
  relay.closed('upstream', 1006, Buffer.alloc(0));
  await tick();
  t.same(client.sent, ['last words']);
  t.notOk(log.includes('client terminate'), 'not terminated while the message is still being written');
  client.writeAll();
  await tick();
  t.ok(log.includes('client terminate'), 'terminated once it was written');
  relay.closed('client', 1006, Buffer.alloc(0));
  t.equal(await relay.done, undefined, 'done, with no refusal');
});

t.test('a hook that refuses closes both sides with 1008, and what it held is no longer in flight', async (t) => {
  const log: string[] = [];
  const client = recorder(log, 'client');
  const upstream = recorder(log, 'upstream');
  const refuse = {
    name: 'guard',
    async onWebSocketMessage(_ctx: RequestContext, m: WebSocketMessage) {
      if (m.data.length > 1000) throw new SluiceError('SLUICE_SECRET_EXFILTRATION', 'no', { reason: 'a secret in a frame' });
    },
  } as unknown as Stage;
  const relay = createRelay(ctx, [refuse], client, upstream);
  relay.message('out', Buffer.alloc(1024 * 1024 + 1, 'x'), false);
  relay.message('out', Buffer.from('after'), false);
  await tick();
  t.same(upstream.sent, [], 'nothing reached the upstream');
  t.equal(log[0], 'client pause', 'the client was paused while 1 MiB was held');
  t.ok(log.includes('client close 1008') && log.includes('upstream close 1008'), 'both sides closed with 1008');
  t.equal(log.filter((l) => l.endsWith('pause') || l.endsWith('resume')).at(-1), 'client resume', 'the held bytes were released: the client is not left paused');
});
