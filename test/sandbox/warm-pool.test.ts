import t from 'tap';
import { createWarmPool } from '../../sandbox/warm-pool.js';

// The pool's bookkeeping alone, with entries that are plain numbers: each is handed out once,
// what fails stops the filling without blocking takers, and closing destroys what was not taken.

function numbers(size: number, opts: { fail?: (n: number) => boolean; retryDelaysMs?: number[] } = {}) {
  let next = 0;
  const made: number[] = [];
  const destroyed: number[] = [];
  const errors: unknown[] = [];
  let release: (() => void) | undefined;
  let gate: Promise<void> | undefined;
  const pool = createWarmPool<number>({
    size,
    async make() {
      await gate;
      const n = ++next;
      if (opts.fail?.(n)) throw new Error(`make ${n} failed`);
      made.push(n);
      return n;
    },
    async destroy(n) {
      destroyed.push(n);
    },
    onError: (err) => errors.push(err),
    ...(opts.retryDelaysMs ? { retryDelaysMs: opts.retryDelaysMs } : {}),
  });
  const hold = () => {
    gate = new Promise((resolve) => (release = resolve));
  };
  return { pool, made, destroyed, errors, hold, release: () => release?.() };
}

async function filled(pool: { ready: number }, count: number): Promise<void> {
  for (let i = 0; i < 1000 && pool.ready < count; i++) await new Promise((r) => setImmediate(r));
  if (pool.ready < count) throw new Error(`pool has ${pool.ready} ready, not ${count}`);
}

t.test('nothing is made before fill(), and no more than size', async (t) => {
  const { pool, made } = numbers(2);
  await new Promise((r) => setImmediate(r));
  t.same(made, [], 'not made ahead of the first fill');
  t.equal(pool.take(), undefined, 'an empty pool hands out nothing');
  pool.fill();
  pool.fill();
  await filled(pool, 2);
  await new Promise((r) => setImmediate(r));
  t.same(made, [1, 2], 'two made, one at a time, however often fill() is called');
  await pool.close();
});

t.test('each entry is handed out once; a taken one is never handed out again', async (t) => {
  const { pool } = numbers(3);
  pool.fill();
  await filled(pool, 3);
  const taken = Array.from({ length: 5 }, () => pool.take());
  t.same(taken, [1, 2, 3, undefined, undefined], 'five takers at once: three entries, each to one taker');
  pool.fill();
  await filled(pool, 3);
  const again = [pool.take(), pool.take(), pool.take()];
  t.same(again, [4, 5, 6], 'refilled with new entries, none of the taken ones');
  await pool.close();
});

t.test('size 0: never makes anything', async (t) => {
  const { pool, made } = numbers(0);
  pool.fill();
  await new Promise((r) => setImmediate(r));
  t.same(made, []);
  t.equal(pool.take(), undefined);
  await pool.close();
});

t.test('with no retries left, a make that fails stops the filling until the next fill(); takers are not held up', async (t) => {
  const { pool, errors, made } = numbers(2, { fail: (n) => n === 2, retryDelaysMs: [] });
  pool.fill();
  await filled(pool, 1);
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
  t.equal(errors.length, 1, 'the failure is reported');
  t.same(made, [1], 'and no make is tried again on its own');
  t.equal(pool.take(), 1);
  t.equal(pool.take(), undefined, 'then empty: the caller makes its own');
  pool.fill();
  await filled(pool, 2);
  t.same([pool.take(), pool.take()], [3, 4], 'the next fill() tries again');
  await pool.close();
});

t.test('close() destroys what was not taken, the entry being made included, and stops filling', async (t) => {
  const { pool, destroyed, hold, release, made } = numbers(2);
  pool.fill();
  await filled(pool, 2);
  const taken = pool.take();
  hold();
  pool.fill();
  await new Promise((r) => setImmediate(r));
  const closing = pool.close();
  release();
  await closing;
  t.equal(taken, 1);
  t.same(destroyed.sort(), [2, 3], 'the ready one and the one in the making; not the taken one');
  t.same(made, [1, 2, 3]);
  pool.fill();
  await new Promise((r) => setImmediate(r));
  t.equal(pool.take(), undefined, 'a closed pool makes nothing more');
  t.same(made, [1, 2, 3]);
});

t.test('a make that fails is tried again after a pause, without another fill()', async (t) => {
  const { pool, errors, made } = numbers(2, { fail: (n) => n === 2, retryDelaysMs: [20, 40] });
  pool.fill();
  await filled(pool, 1);
  t.equal(pool.ready, 1, 'one ready while the pause runs');
  await new Promise((r) => setTimeout(r, 100));
  t.equal(pool.ready, 2, 'full again once the failed make was tried again');
  t.equal(errors.length, 1, 'the failure is reported once');
  t.same(made, [1, 3]);
  await pool.close();
});

t.test('a make that keeps failing is tried once per pause, then filling stops until the next fill()', async (t) => {
  let failing = true;
  const { pool, errors, made } = numbers(1, { fail: () => failing, retryDelaysMs: [10, 10, 10] });
  pool.fill();
  await new Promise((r) => setTimeout(r, 150));
  t.equal(errors.length, 4, 'the first try and one per pause');
  t.equal(pool.ready, 0);
  await new Promise((r) => setTimeout(r, 60));
  t.equal(errors.length, 4, 'and then no more on its own');
  failing = false;
  pool.fill();
  await filled(pool, 1);
  t.same(made, [5], 'the next fill() starts over');
  await pool.close();
});

t.test('close() during a pause returns at once and makes nothing more', async (t) => {
  const { pool, errors, made } = numbers(1, { fail: (n) => n === 1, retryDelaysMs: [60_000] });
  pool.fill();
  for (let i = 0; i < 10 && errors.length === 0; i++) await new Promise((r) => setImmediate(r));
  t.equal(errors.length, 1);
  const started = Date.now();
  await pool.close();
  t.ok(Date.now() - started < 1_000, `closed in ${Date.now() - started} ms, not after the minute's pause`);
  await new Promise((r) => setTimeout(r, 20));
  t.same(made, [], 'nothing made after close');
});
