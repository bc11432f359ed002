import t from 'tap';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createLiteralSearch, NATIVE_PATHS, nativeLiterals, type LiteralSearch } from '../../core/index.js';

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

/** Every C++ loop this machine runs, by name, and the RegExp: all must answer alike. */
function searches(literals: readonly string[]): [string, LiteralSearch][] {
  const paths = nativeLiterals().addon?.paths ?? [];
  const native = NATIVE_PATHS.filter((p) => paths.includes(p)).map((path): [string, LiteralSearch] => [path, createLiteralSearch(literals, { path })]);
  return [...native, ['default', createLiteralSearch(literals)], ['RegExp', createLiteralSearch(literals, { native: false })]];
}

t.test('the vector loops are built where the machine has them, and the fastest is the default', async (t) => {
  const addon = nativeLiterals().addon;
  if (addon === undefined) return;
  t.same(addon.paths.length, NATIVE_PATHS.length);
  t.equal(addon.paths[0], 'scalar', 'the scalar loop runs everywhere');
  // What the CPU says it has (Linux): each loop it can run is built and offered, the fastest is the default.
  const flags = process.arch === 'x64' && existsSync('/proc/cpuinfo') ? new Set(/^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim().split(/\s+/)) : undefined;
  if (flags) {
    t.equal(addon.paths[1], flags.has('ssse3') ? 'ssse3' : null, 'SSSE3 as the CPU has it');
    t.equal(addon.paths[2], flags.has('avx2') ? 'avx2' : null, 'AVX2 as the CPU has it');
    t.equal(addon.path, flags.has('avx2') ? 'avx2' : flags.has('ssse3') ? 'ssse3' : 'scalar');
  }
  t.throws(() => addon.firstOf(Buffer.from('abc'), new Uint8Array(8800), 7), RangeError, 'no such loop');
});

t.test('every loop agrees with indexOf: planted, cut off at the end, overlapping, at block edges', async (t) => {
  // Literals that share first bytes, hold one another, and end in bytes that start others; and a latin1 byte.
  const literals = ['sk-', 'sk-proj-', 'ghp_', 'github_pat_', 'gh', 'AIza', 'openshell:resolve:env:', 'caf\xe9', 'zz'];
  const alphabet = 'skprojghitub_paAIzaopenshell:rv-cf\xe9z';
  const all = searches(literals);
  let mismatches = 0;
  let found = 0;
  for (let round = 0; round < 6000 && mismatches < 5; round++) {
    // Lengths around the vector loops' blocks (16 and 32 positions, 2 more bytes read) and past several of them.
    const len = round % 3 === 2 ? 60 + (round % 140) : round % 70;
    const bytes = Buffer.from([...randomBytes(len)].map((b) => alphabet.charCodeAt(b % alphabet.length) & 0xff));
    if (round % 3 === 0 && len > 0) {
      // Plant a literal anywhere, possibly running past the end (then it must not be found there).
      const l = Buffer.from(literals[round % literals.length]!, 'latin1');
      l.copy(bytes, (round * 7) % len);
    }
    const expected = naive(bytes, literals);
    if (expected >= 0) found++;
    for (const [name, search] of all) {
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

t.test('every loop over sparse text: literals at every offset of a block, the Sluice sets, near misses', async (t) => {
  // The egress gate's and the guard's literal sets (a 2-byte literal too), planted alone at each offset of a
  // 200-byte filler: the vector loops must find each at every position a block can put it in, and nothing in
  // near misses (a literal's first two or three bytes, its nibbles in other buckets).
  const literals = ['-----BEGIN', 'A3T', 'AKIA', 'ghp_', 'github_pat_', 'sk-', 'sk-ant-', 'xoxb-', 'sk_live_', 'rk_live_', 'AIza', 'aws', 'AW\xc5\xbf', 'nvapi-', 'glpat-', 'hf_', 'npm_', 'openshell:resolve:env:', 'zq'];
  const all = searches(literals);
  const misses = ['AK', 'gh', 'sk', 'xox', 'sk_', 'AIz', 'aw', 'AW\xc5', 'nva', 'hf', 'npm', 'z', 'q', 'Kq', '---', 'AIzA', 'SK-', 'Zq', 'zQ'];
  let mismatches = 0;
  for (const filler of ['u', ' ', '\n', '\0', '\xff', 'qz']) {
    for (const [name, search] of all) {
      for (let at = 0; at < 200 && mismatches < 5; at++) {
        const literal = literals[at % literals.length]!;
        const bytes = Buffer.from(filler.repeat(200).slice(0, 200), 'latin1');
        const planted = Buffer.from(literal, 'latin1');
        const fits = at + planted.length <= bytes.length;
        planted.copy(bytes, at);
        const expected = naive(bytes, literals);
        if (search.firstIn(bytes) !== expected || (fits && expected > at)) {
          mismatches++;
          t.fail(`${name}: ${search.firstIn(bytes)} for ${literal} at ${at} in ${JSON.stringify(filler)}, indexOf says ${expected}`);
        }
        const miss = Buffer.from(filler.repeat(200).slice(0, 200), 'latin1');
        Buffer.from(misses[at % misses.length]!, 'latin1').copy(miss, at);
        const none = naive(miss, literals);
        if (search.firstIn(miss) !== none) {
          mismatches++;
          t.fail(`${name}: ${search.firstIn(miss)} for the near miss ${misses[at % misses.length]} at ${at}, indexOf says ${none}`);
        }
      }
    }
  }
  t.equal(mismatches, 0);
});

t.test('no literal, one cut off by the end, and offsets relative to a view', async (t) => {
  for (const [, s] of searches(['AIza', 'hf_'])) {
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
  // The literals start at 8800 (core/literal-search.ts: pairs 8192, first and second bytes 2 × 256, nibbles 96).
  const table = new Uint8Array(8800 + 3);
  table[8800] = 5;
  t.throws(() => addon.firstOf(Buffer.from('abc'), table), RangeError, 'a literal that runs past the table');
  table[8800] = 1;
  t.throws(() => addon.firstOf(Buffer.from('abc'), table), RangeError, 'a literal of one byte');
  t.throws(() => addon.firstOf('abc' as unknown as Uint8Array, table), TypeError, 'a string, not bytes');
  t.throws(() => (addon.firstOf as (...a: unknown[]) => number)(Buffer.from('abc')), TypeError, 'one argument');
});
