/**
 * Finds many fixed byte patterns in one pass. Calling Buffer#indexOf once per pattern costs a
 * full pass each (~50 spellings for 7 providers); here every position costs one multiply and a
 * table probe on its last 4 bytes, and only probe hits are compared in full.
 */
export interface MultiMatch<T> {
  start: number;
  pattern: T;
}

export interface MultiMatcher<T> {
  /** Every occurrence, ordered by start (overlaps included). */
  findAll(buf: Buffer): MultiMatch<T>[];
  /** The first pattern found anywhere, or undefined. */
  first(buf: Buffer): T | undefined;
}

const TABLE_BITS = 16;

export function createMultiMatcher<T extends { bytes: Buffer }>(patterns: readonly T[]): MultiMatcher<T> {
  const buckets = new Map<number, T[]>();
  const table = new Uint8Array(1 << TABLE_BITS);
  const short: T[] = [];
  for (const p of patterns) {
    if (p.bytes.length < 4) {
      short.push(p);
      continue;
    }
    const key = p.bytes.readUInt32BE(0);
    const list = buckets.get(key);
    if (list) list.push(p);
    else buckets.set(key, [p]);
    table[Math.imul(key, 0x9e3779b1) >>> (32 - TABLE_BITS)] = 1;
  }

  function scan(buf: Buffer, onMatch: (m: MultiMatch<T>) => boolean): void {
    for (const p of short) {
      for (let at = buf.indexOf(p.bytes); at >= 0; at = buf.indexOf(p.bytes, at + 1)) if (onMatch({ start: at, pattern: p })) return;
    }
    if (buckets.size === 0) return;
    let word = 0;
    const n = buf.length;
    for (let i = 0; i < n; i++) {
      word = ((word << 8) | buf[i]!) >>> 0;
      if (i < 3 || table[Math.imul(word, 0x9e3779b1) >>> (32 - TABLE_BITS)] === 0) continue;
      const list = buckets.get(word);
      if (!list) continue;
      const start = i - 3;
      for (const p of list) {
        const end = start + p.bytes.length;
        if (end <= n && buf.compare(p.bytes, 0, p.bytes.length, start, end) === 0 && onMatch({ start, pattern: p })) return;
      }
    }
  }

  return {
    findAll(buf) {
      const out: MultiMatch<T>[] = [];
      scan(buf, (m) => {
        out.push(m);
        return false;
      });
      return out.sort((a, b) => a.start - b.start);
    },
    first(buf) {
      let found: T | undefined;
      scan(buf, (m) => {
        found = m.pattern;
        return true;
      });
      return found;
    },
  };
}
