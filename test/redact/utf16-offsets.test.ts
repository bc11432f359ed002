import t from 'tap';
import { utf16OffsetOf } from '../../redact/utf16-offsets.js';

// Every character boundary of random texts: the byte offset Buffer.byteLength gives for the prefix must map
// back to the prefix's length, through the sparse map (few non-ASCII characters) and the table (many).
t.test('byte offsets map back to UTF-16 offsets at every character boundary', async (t) => {
  let seed = 11;
  const rand = (n: number) => Math.floor(((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * n);
  const atoms = ['a', ' ', '\n', 'é', 'ß', '€', '日', '😀', '\ud800', '\udfff', '\u0080', '\u07ff', '\u0800', '\uffff', '\u0000'];
  for (const [name, weights] of [['sparse', 40], ['table', 1]] as const) {
    let checked = 0;
    for (let run = 0; run < 60; run++) {
      const pieces = Array.from({ length: 50 + rand(2000) }, () => (rand(weights) === 0 ? atoms[1 + rand(atoms.length - 1)]! : 'a'));
      const text = pieces.join('');
      const buf = Buffer.from(text);
      const toUnit = utf16OffsetOf(text, buf, buf.length);
      for (let i = 0; i < text.length; i++) {
        // Between the halves of a surrogate pair (which adjacent lone halves can form) is not a boundary.
        if (/[\ud800-\udbff]/.test(text[i - 1] ?? '') && /[\udc00-\udfff]/.test(text[i]!)) continue;
        if (toUnit(Buffer.byteLength(text.slice(0, i))) !== i) t.fail(`${name} run ${run}: offset ${i}`);
        checked++;
      }
      t.equal(toUnit(buf.length), text.length, `${name} run ${run}: the end`);
    }
    t.ok(checked > 10_000, `${name}: ${checked} boundaries`);
  }
});
