import t from 'tap';
import { randomBytes } from 'node:crypto';
import { createLiteralSearch, nativeLiterals } from '../../core/index.js';

/** The leftmost start of any literal, the slow and obvious way. */
function naive(bytes: Buffer, literals: readonly string[]): number {
  let best = -1;
  for (const l of literals) {
    const at = bytes.indexOf(Buffer.from(l, 'latin1'));
    if (at >= 0 && (best < 0 || at < best)) best = at;
  }
  return best;
}

t.test('the C++ loop is built and used (SLUICE_NATIVE_COLLECTOR=0 turns it off)', async (t) => {
  const search = createLiteralSearch(['sk-', 'ghp_']);
  if (process.env.SLUICE_NATIVE_COLLECTOR === '0') {
    t.equal(search.native, false);
    return;
  }
  t.ok(nativeLiterals().addon, nativeLiterals().reason);
  t.equal(search.native, true);
  t.equal(createLiteralSearch(['sk-'], { native: false }).native, false, 'native: false keeps to the RegExp');
});

t.test('native and RegExp searches agree with indexOf: planted, cut off at the end, overlapping, at block edges', async (t) => {
  // Literals that share first bytes, hold one another, and end in bytes that start others; and a latin1 byte.
  const literals = ['sk-', 'sk-proj-', 'ghp_', 'github_pat_', 'gh', 'AIza', 'openshell:resolve:env:', 'caf\xe9', 'zz'];
  const alphabet = 'skprojghitub_paAIzaopenshell:rv-cf\xe9z';
  const native = createLiteralSearch(literals);
  const js = createLiteralSearch(literals, { native: false });
  let mismatches = 0;
  let found = 0;
  for (let round = 0; round < 3000 && mismatches < 5; round++) {
    const len = round % 70;
    const bytes = Buffer.from([...randomBytes(len)].map((b) => alphabet.charCodeAt(b % alphabet.length) & 0xff));
    if (round % 3 === 0 && len > 0) {
      // Plant a literal anywhere, possibly running past the end (then it must not be found there).
      const l = Buffer.from(literals[round % literals.length]!, 'latin1');
      l.copy(bytes, (round * 7) % len);
    }
    const expected = naive(bytes, literals);
    if (expected >= 0) found++;
    for (const [name, search] of [['native', native], ['RegExp', js]] as const) {
      const got = search.firstIn(bytes);
      if (got !== expected) {
        mismatches++;
        t.fail(`${name}: ${got} for ${JSON.stringify(bytes.toString('latin1'))}, indexOf says ${expected}`);
      }
    }
  }
  t.equal(mismatches, 0);
  t.ok(found > 500, `the rounds found literals (${found}) as well as none`);
});

t.test('no literal, one cut off by the end, and offsets relative to a view', async (t) => {
  for (const native of [true, false]) {
    const s = createLiteralSearch(['AIza', 'hf_'], { native });
    t.equal(s.firstIn(Buffer.alloc(65536, 'u')), -1, 'a long body with none');
    t.equal(s.firstIn(Buffer.from('xxAIz')), -1, 'AIz at the end is not AIza');
    t.equal(s.firstIn(Buffer.from('')), -1);
    t.equal(s.firstIn(Buffer.from('h')), -1);
    const big = Buffer.alloc(100_000, 'u');
    big.write('hf_', 99_997);
    t.equal(s.firstIn(big), 99_997, 'at the very end of a long body');
    const backing = Buffer.from('..AIza....hf_..');
    t.equal(s.firstIn(backing.subarray(3)), 7, 'a view: the offset is the view\'s, and what lies before it is not seen');
    t.equal(s.firstIn(new Uint8Array(backing.buffer, backing.byteOffset + 2, 4)), 0);
  }
  t.equal(createLiteralSearch([]).firstIn(Buffer.from('anything')), -1, 'no literals: never found');
});

t.test('bad literals and bad tables are refused', async (t) => {
  t.throws(() => createLiteralSearch(['']), RangeError);
  t.throws(() => createLiteralSearch(['\u20ac']), RangeError, 'outside latin1');
  const single = createLiteralSearch(['x', 'yz']);
  t.equal(single.native, false, 'a one-byte literal goes to the RegExp');
  t.equal(single.firstIn(Buffer.from('aayzx')), 2);
  const addon = nativeLiterals().addon;
  if (addon === undefined) return;
  t.throws(() => addon.firstOf(Buffer.from('abc'), new Uint8Array(10)), RangeError, 'a table too short');
  const table = new Uint8Array(8704 + 3);
  table[8704] = 5;
  t.throws(() => addon.firstOf(Buffer.from('abc'), table), RangeError, 'a literal that runs past the table');
  table[8704] = 1;
  t.throws(() => addon.firstOf(Buffer.from('abc'), table), RangeError, 'a literal of one byte');
  t.throws(() => addon.firstOf('abc' as unknown as Uint8Array, table), TypeError, 'a string, not bytes');
  t.throws(() => (addon.firstOf as (...a: unknown[]) => number)(Buffer.from('abc')), TypeError, 'one argument');
});
