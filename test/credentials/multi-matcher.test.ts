import t from 'tap';
import { randomBytes } from 'node:crypto';
import { createMultiMatcher } from '../../credentials/multi-matcher.js';

t.test('finds exactly what indexOf finds, overlaps and short patterns included', async (t) => {
  const words = ['abcdefgh', 'abcdXYZ', 'cdefab', 'xy', 'aaaa', 'aaaaaa', 'Z'];
  const patterns = words.map((w) => ({ bytes: Buffer.from(w), w }));
  const m = createMultiMatcher(patterns);
  const alphabet = 'abcdefghXYZ';
  for (let round = 0; round < 300; round++) {
    const len = 1 + (round % 64);
    const buf = Buffer.from([...randomBytes(len)].map((b) => alphabet.charCodeAt(b % alphabet.length)));
    const expected: string[] = [];
    for (const p of patterns) for (let at = buf.indexOf(p.bytes); at >= 0; at = buf.indexOf(p.bytes, at + 1)) expected.push(`${at}:${p.w}`);
    const got = m.findAll(buf).map((x) => `${x.start}:${x.pattern.w}`);
    if (JSON.stringify(got.sort()) !== JSON.stringify(expected.sort())) {
      t.fail(`mismatch on ${buf.toString()}`);
      return;
    }
    t.equal(m.first(buf) === undefined, expected.length === 0);
  }
  t.same(m.findAll(Buffer.from('.aaaaaa.')).map((x) => `${x.start}:${x.pattern.w}`).sort(), ['1:aaaa', '1:aaaaaa', '2:aaaa', '3:aaaa'], 'overlaps are all reported');
});

t.test('no patterns: nothing found', async (t) => {
  t.same(createMultiMatcher([]).findAll(Buffer.from('anything')), []);
});
