import t from 'tap';
import { Coverage } from '../../redact/coverage.js';

const span = (start: number, end: number) => ({ type: 'x', start, end, score: 1, priority: 1 });

t.test('coverage: taken units, per detection, whatever the text length', async (t) => {
  const c = new Coverage();
  for (const units of [10, 5000, Coverage.KEEP + 10, 20, 3 * Coverage.KEEP, 8]) {
    c.reset(units);
    t.notOk(c.overlaps(0, units), `${units} units: nothing taken after a reset (earlier marks do not leak)`);
    c.take(2, 5, 0);
    c.take(5, 7, 1);
    c.take(0, 1, 2);
    t.ok(c.covers(2, 7), 'adjacent spans cover their union');
    t.notOk(c.covers(1, 7), 'unit 1 is free');
    t.ok(c.overlaps(6, 8) && !c.overlaps(7, 8) && !c.overlaps(1, 2), 'overlap is per unit');
    const spans = [span(2, 5), span(5, 7), span(0, 1)];
    t.same(c.inOrder(spans), [spans[2], spans[0], spans[1]], 'kept spans by position');
  }
});
