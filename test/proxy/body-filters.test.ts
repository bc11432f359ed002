import t from 'tap';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BodyFilter } from '../../core/index.js';
import { filterBuffer, filterStream, keepLength } from '../../proxy/body-filters.js';

/**
 * A chain runs without a promise per chunk while its filters answer at once, and as before from the first
 * that answers with a promise: same bytes, same order, same errors, whatever mix of the two a chain holds.
 */

/** Holds back its last `hold` bytes until the next chunk (or the end), like the scanners do. */
function holder(hold: number, async: boolean): BodyFilter {
  let carry = Buffer.alloc(0);
  const run = (chunk: Buffer): Buffer => {
    const all = Buffer.concat([carry, chunk]);
    const cut = Math.max(0, all.length - hold);
    carry = Buffer.from(all.subarray(cut));
    return all.subarray(0, cut);
  };
  return {
    keepsLength: true,
    transform: async ? async (chunk) => (await sleep(0), run(chunk)) : run,
    flush: () => carry,
  };
}

/** Changes the bytes (and the length): every `a` becomes `AA`. */
function doubler(async: boolean): BodyFilter {
  const run = (chunk: Buffer) => Buffer.from(chunk.toString('latin1').replaceAll('a', 'AA'), 'latin1');
  return { transform: async ? (chunk) => Promise.resolve(run(chunk)) : run };
}

/** Throws (or rejects) on the chunk that holds `x`. */
function refuser(async: boolean): BodyFilter {
  const run = (chunk: Buffer): Buffer => {
    if (chunk.includes('x')) throw new Error('refused');
    return chunk;
  };
  return { keepsLength: true, transform: async ? async (chunk) => run(chunk) : run };
}

async function streamed(filters: BodyFilter[], chunks: Buffer[]): Promise<{ out: Buffer; error?: string }> {
  const outs: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      outs.push(chunk);
      cb();
    },
  });
  try {
    await pipeline(Readable.from(chunks), filterStream(filters), sink);
    return { out: Buffer.concat(outs) };
  } catch (err) {
    return { out: Buffer.concat(outs), error: (err as Error).message };
  }
}

function chunksOf(body: Buffer, seed: number): Buffer[] {
  const out: Buffer[] = [];
  let x = seed;
  for (let at = 0; at < body.length; ) {
    const n = 1 + ((x = (x * 1103515245 + 12345) >>> 0) % 40);
    out.push(body.subarray(at, at + n));
    at += n;
  }
  return out;
}

const body = Buffer.from('banana and papaya, a salad of them all; '.repeat(20));
const mixes: [string, () => BodyFilter[]][] = [
  ['all at once', () => [holder(7, false), doubler(false), holder(3, false)]],
  ['all with promises', () => [holder(7, true), doubler(true), holder(3, true)]],
  ['a promise first', () => [holder(7, true), doubler(false), holder(3, false)]],
  ['a promise in the middle', () => [holder(7, false), doubler(true), holder(3, false)]],
  ['a promise last', () => [holder(7, false), doubler(false), holder(3, true)]],
];

t.test('every mix of filters that answer at once and with a promise gives the bytes the whole-buffer run gives', async (t) => {
  const expected = await filterBuffer([holder(7, false), doubler(false), holder(3, false)], body);
  t.equal(expected.toString('latin1'), body.toString('latin1').replaceAll('a', 'AA'), 'the reference run');
  for (const [name, make] of mixes) {
    for (let seed = 1; seed <= 5; seed++) {
      const { out, error } = await streamed(make(), chunksOf(body, seed));
      t.equal(error, undefined, `${name}, chunking ${seed}: no error`);
      t.ok(out.equals(expected), `${name}, chunking ${seed}: the same bytes`);
    }
  }
});

t.test('a filter that throws or rejects fails the stream, and nothing after the refused chunk comes out', async (t) => {
  const refused = Buffer.from(`${'clean '.repeat(50)}x${' more'.repeat(50)}`);
  for (const async of [false, true]) {
    for (const before of [false, true]) {
      const chain = [holder(4, before), refuser(async)];
      const { out, error } = await streamed(chain, chunksOf(refused, 3));
      t.equal(error, 'refused', `refuser ${async ? 'rejects' : 'throws'}, after a holder ${before ? 'with' : 'without'} promises: the stream fails`);
      t.notOk(out.includes('x'), 'the refused byte never came out');
      t.notOk(out.includes('more'), 'nor anything after it');
    }
  }
});

t.test('a body keeps its length only when every filter of the chain keeps it', async (t) => {
  t.ok(keepLength([holder(1, false), refuser(true)]), 'holders and refusers keep it');
  t.notOk(keepLength([holder(1, false), doubler(false)]), 'one filter that may change it is enough to send chunked');
  t.ok(keepLength([]), 'no filter, nothing changes');
});
