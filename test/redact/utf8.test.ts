import t from 'tap';
import { createUtf8Encoder, wellFormed } from '../../redact/utf8.js';

const encodeUtf8 = createUtf8Encoder();

t.test('an encoder gives the bytes Buffer.from gives, for any length; wellFormed tells lone surrogates apart', async (t) => {
  const texts = ['', 'ascii', 'Ünïcödé ✓ 😀', '\ud800 lone', 'real \ufffd', 'x'.repeat(100_000) + '😀', 'é'.repeat(1_500_000), '\udfff'.repeat(300)];
  for (const text of texts) {
    const bytes = encodeUtf8(text);
    t.ok(bytes.equals(Buffer.from(text, 'utf8')), `bytes of ${JSON.stringify(text.slice(0, 12))} (${text.length} units)`);
    t.equal(wellFormed(text, bytes), !/[\ud800-\udfff]/.test(text.replace(/[\ud800-\udbff][\udc00-\udfff]/g, '')), 'well-formed');
  }
  const first = encodeUtf8('first text');
  const copy = Buffer.from(first);
  encodeUtf8('second');
  t.notOk(first.equals(copy), 'a view: the next call overwrites it (callers use it at once)');
  const other = createUtf8Encoder();
  const mine = encodeUtf8('mine');
  other('theirs, longer');
  t.equal(mine.toString(), 'mine', 'encoders do not share their scratch');
});
