import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { createConnectionSlots, defaultMaxConnections } from '../../proxy/connection-slots.js';

function fakeSocket(): net.Socket & { closedByUs: boolean } {
  const s = new EventEmitter() as net.Socket & { closedByUs: boolean };
  s.closedByUs = false;
  Object.assign(s, {
    destroyed: false,
    destroy() {
      s.closedByUs = true;
      (s as { destroyed: boolean }).destroyed = true;
      s.emit('close');
      return s;
    },
  });
  return s;
}

t.test('at the cap, the connection idle longest is shed; busy ones never are', async (t) => {
  const slots = createConnectionSlots(3);
  const [a, b, c, d, e] = [fakeSocket(), fakeSocket(), fakeSocket(), fakeSocket(), fakeSocket()];
  for (const s of [a, b, c]) t.ok(slots.admit(s));
  slots.busy(a);
  slots.idle(b); // b waits again, now after c
  t.ok(slots.admit(d), 'room made');
  t.ok(c.closedByUs, 'c, idle longest, was shed');
  t.notOk(a.closedByUs || b.closedByUs);
  slots.busy(b);
  slots.busy(d);
  t.notOk(slots.admit(e), 'every slot carries traffic: refused');
  t.equal(slots.size, 3);
  t.equal(slots.shed, 1);
  slots.idle(b);
  t.ok(slots.admit(e), 'b waits again: shed for e');
  t.ok(b.closedByUs);
});

t.test('exchanges are counted: pipelined requests keep a connection busy until the last ends', async (t) => {
  const slots = createConnectionSlots(1);
  const a = fakeSocket();
  slots.admit(a);
  slots.busy(a);
  slots.busy(a);
  slots.idle(a);
  t.notOk(slots.admit(fakeSocket()), 'one exchange still open');
  slots.idle(a);
  t.ok(slots.admit(fakeSocket()), 'idle now: shed for the newcomer');
  t.ok(a.closedByUs);
});

t.test('default cap follows the file-descriptor limit', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-limits-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = (soft: string) => {
    const f = path.join(dir, soft);
    fs.writeFileSync(f, `Limit                     Soft Limit           Hard Limit           Units\nMax open files            ${soft}                20000                files\n`);
    return f;
  };
  t.equal(defaultMaxConnections(file('20000')), 9744);
  t.equal(defaultMaxConnections(file('1024')), 256);
  t.equal(defaultMaxConnections(file('1048576')), 16384);
  t.equal(defaultMaxConnections(file('unlimited')), 16384);
  t.equal(defaultMaxConnections(path.join(dir, 'missing')), 16384);
});
