import { randomFillSync } from 'node:crypto';
import { inspect } from 'node:util';
import { labelOf } from './entities.js';

/** Pseudonyms of one conversation: `<EMAIL_1>` <-> the original. Never printable (see MemoryVault). */
export interface Vault {
  readonly key: string;
  /** Number of pseudonyms currently held. */
  readonly size: number;
  /** Same (type, original) -> same placeholder for the life of the vault. */
  pseudonym(type: string, original: string): string;
  /** `pseudonym(type, text.slice(start, end))` without making that string. */
  pseudonymIn(type: string, text: string, start: number, end: number): string;
  /** A hint before adding up to `values` values of `chars` characters in all: room for them at once. */
  reserve(values: number, chars: number): void;
  original(placeholder: string): string | undefined;
  /** Whether `tail`, which starts with `<`, could still grow into a placeholder this vault issued. */
  couldBecomePlaceholder(tail: string): boolean;
}

export interface VaultStore {
  /** Get-or-create; refreshes the vault's TTL. */
  get(key: string): Vault;
  readonly size: number;
  close(): void;
}

export interface VaultLimits {
  /** Conversations kept (least recently used evicted). */
  readonly maxVaults: number;
  /** Pseudonyms per conversation (least recently used evicted; numbers are never reused). */
  readonly maxEntries: number;
  /** Idle time after which a conversation's vault is dropped. */
  readonly ttlMs: number;
}

/**
 * Placeholder heads (`<LABEL_`) of every type seen, process-wide: a vault refers to them by index. Types that
 * share a label (a custom name differing only in case) share its index, so their numbering stays unique.
 */
const heads: string[] = [];
const headIndex = new Map<string, number>();
const labelOfType = new Map<string, number>();

function labelFor(type: string): number {
  let index = labelOfType.get(type);
  if (index === undefined) {
    const head = `<${labelOf(type)}_`;
    index = headIndex.get(head);
    if (index === undefined) headIndex.set(head, (index = heads.push(head) - 1));
    labelOfType.set(type, index);
  }
  return index;
}

const NONE = -1;

/** Seeds for new vaults, from the CSPRNG a batch at a time (a randomInt call per vault cost ~3 µs). */
const seeds = new Int32Array(256);
let seedsLeft = 0;
function nextSeed(): number {
  if (seedsLeft === 0) {
    randomFillSync(seeds);
    seedsLeft = seeds.length;
  }
  return seeds[--seedsLeft]!;
}

/** Entries a vault makes room for with its first value (~9 KB in all). */
const FIRST_ENTRIES = 128;
/** Label indexes a vault makes room for at first (it grows when a process has seen more types). */
const LABELS = 32;
/** Placeholders of an empty vault, never written: the first value allocates real ones. */
const NO_DATA = Buffer.alloc(0);
const NO_ENTRIES = new Int32Array(0);
const NO_BUCKETS = Int32Array.of(NONE);

/** Fields of an entry in the entry table (one Int32Array, FIELDS slots per entry). */
const START = 0; // byte offset of the value in the data buffer, NONE once evicted
const UNITS = 1; // UTF-16 code units; negative when stored as UTF-16LE, else one byte each (Latin-1)
const LABEL = 2; // index into `heads`
const NUMBER = 3; // placeholder number
const USED = 4; // tick of the last use
const HASH = 5; // hash of (label, value)
const NEXT = 6; // next entry in the same value bucket, or NONE
const NEXT_NUMBER = 7; // next entry in the same (label, number) bucket, or NONE
const FIELDS = 8;

const numberHash = (label: number, n: number): number => Math.imul(label + 1, 0x9e3779b1) ^ n;

/**
 * FNV-1a over a seed, a label index and the code units of a value, then murmur3's finalizer: FNV's low bits
 * (the bucket index) depend only on the inputs' low bits, so without the mixing a seed would barely move them.
 * Over value[start, end); `out.or` gets the OR of the code units (whether the value is Latin-1, in the same pass).
 * With `into`, each unit's low byte is also written there from `at` on (the vault stages a Latin-1 copy of a new
 * value in the same pass, instead of a second pass over it).
 */
export function valueHash(seed: number, label: number, value: string, start = 0, end = value.length, out?: { or: number }, into?: Uint8Array, at = 0): number {
  let h = Math.imul(0x811c9dc5 ^ seed ^ label, 0x01000193);
  let units = 0;
  for (let i = start; i < end; i++) {
    const c = value.charCodeAt(i);
    units |= c;
    h = Math.imul(h ^ c, 0x01000193);
    if (into !== undefined) into[at++] = c;
  }
  if (out !== undefined) out.or = units;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * The pseudonyms of one conversation. Vaults outlive requests (1,000 conversations of up to 10,000 values by
 * default), so they live off the JS heap: the values' code units in one Buffer (one byte each when they all fit,
 * else UTF-16LE, so lone surrogates come back exactly), their bookkeeping in one Int32Array, and two hash tables
 * of chained buckets (by value, and by placeholder number) in two more. A vault is a handful of heap objects
 * whatever it holds, so garbage collection neither copies nor walks its values (a million values: full GC 6 ms
 * instead of 50 ms), and nothing in it is printable: neither JSON.stringify nor util.inspect sees private fields.
 */
class MemoryVault implements Vault {
  // Allocated with the first value (every request gets its conversation's vault, most hold nothing), at a size
  // that holds an entity-dense prompt's values without growing: an ArrayBuffer costs microseconds to make.
  #data = NO_DATA;
  #end = 0;
  #deadBytes = 0;
  #table = NO_ENTRIES;
  /** First entry of each bucket, by value hash and by (label, number); at least as many buckets as values. */
  #byValue = NO_BUCKETS;
  #byNumber = NO_BUCKETS;
  /** Last number issued, per label index. */
  #issued = NO_ENTRIES;
  /** Entry slots in use or freed; freed ones (of evicted values) are taken again first. */
  #entries = 0;
  readonly #free: number[] = [];
  #size = 0;
  #clock = 0;

  constructor(
    readonly key: string,
    readonly maxEntries: number,
  ) {}

  get size(): number {
    return this.#size;
  }

  /**
   * Seed of this vault's hash: the sandbox writes the values, and with a known hash it could fill one bucket
   * chain on purpose and make every lookup walk it (V8's own string hashes are seeded per process for the same
   * reason).
   */
  readonly #seed = nextSeed();
  /** The OR of the code units valueHash saw: above 0xff means not Latin-1 (the hash pass tells, for #add). */
  readonly #units = { or: 0 };

  /** The entry holding text[start, end) under `label`, or NONE. */
  #find(label: number, text: string, start: number, end: number, hash: number): number {
    const t = this.#table;
    const data = this.#data;
    const length = end - start;
    for (let k = this.#byValue[hash & (this.#byValue.length - 1)]!; k !== NONE; k = t[k * FIELDS + NEXT]!) {
      const e = k * FIELDS;
      const units = t[e + UNITS]!;
      if (t[e + HASH] !== hash || t[e + LABEL] !== label || Math.abs(units) !== length) continue;
      let at = t[e + START]!;
      let i = start;
      if (units < 0) for (; i < end; i++, at += 2) if ((data[at]! | (data[at + 1]! << 8)) !== text.charCodeAt(i)) break;
      if (units >= 0) for (; i < end; i++, at++) if (data[at] !== text.charCodeAt(i)) break;
      if (i === end) return k;
    }
    return NONE;
  }

  pseudonym(type: string, original: string): string {
    return this.pseudonymIn(type, original, 0, original.length);
  }

  pseudonymIn(type: string, text: string, start: number, end: number): string {
    const label = labelFor(type);
    // The value's Latin-1 bytes are staged past the data's end while it is hashed: #add keeps them if it is new.
    if (this.#table === NO_ENTRIES) this.reserve(FIRST_ENTRIES, 0);
    if (this.#end + (end - start) > this.#data.length) this.#makeRoom(end - start);
    const hash = valueHash(this.#seed, label, text, start, end, this.#units, this.#data, this.#end);
    let k = this.#find(label, text, start, end, hash);
    if (k === NONE) k = this.#add(label, text, start, end, hash, this.#units.or > 0xff);
    this.#table[k * FIELDS + USED] = ++this.#clock;
    const placeholder = heads[label]! + this.#table[k * FIELDS + NUMBER]! + '>';
    if (this.#size > this.maxEntries) this.#evict();
    return placeholder;
  }

  /**
   * `wide`: some code unit of the value is above U+00FF (stored as UTF-16LE, not Latin-1); else its bytes are
   * already staged at the data's end (pseudonymIn).
   */
  #add(label: number, text: string, start: number, end: number, hash: number, wide: boolean): number {
    const length = end - start;
    if (wide && this.#end + 2 * length > this.#data.length) this.#makeRoom(2 * length);
    const k = this.#free.pop() ?? this.#entries++;
    if ((k + 1) * FIELDS > this.#table.length) this.#table = grown(this.#table, this.#table.length * 2);
    if (label >= this.#issued.length) this.#issued = grown(this.#issued, 2 * label + 2);
    const n = ++this.#issued[label]!;
    const e = k * FIELDS;
    const t = this.#table;
    t[e + START] = this.#end;
    t[e + UNITS] = wide ? -length : length;
    t[e + LABEL] = label;
    t[e + NUMBER] = n;
    t[e + HASH] = hash;
    this.#link(k);
    this.#end += wide ? this.#data.write(text.slice(start, end), this.#end, 'utf16le') : length;
    if (++this.#size > this.#byValue.length) this.#rehash();
    return k;
  }

  /** Puts entry k at the head of its two buckets. */
  #link(k: number): void {
    const t = this.#table;
    const e = k * FIELDS;
    const v = t[e + HASH]! & (this.#byValue.length - 1);
    t[e + NEXT] = this.#byValue[v]!;
    this.#byValue[v] = k;
    const b = numberHash(t[e + LABEL]!, t[e + NUMBER]!) & (this.#byNumber.length - 1);
    t[e + NEXT_NUMBER] = this.#byNumber[b]!;
    this.#byNumber[b] = k;
  }

  reserve(values: number, chars: number): void {
    if (this.#table !== NO_ENTRIES) return; // only the first allocation is sized ahead; later ones double
    const entries = 2 ** Math.ceil(Math.log2(Math.max(FIRST_ENTRIES, values)));
    // The entry table, both bucket tables, the numbers issued and the values' bytes in one allocation (they grow
    // apart later): an ArrayBuffer costs about a microsecond to make.
    const count = entries * (FIELDS + 2) + LABELS;
    const memory = new ArrayBuffer(4 * count + Math.max(FIRST_ENTRIES * 32, chars));
    const ints = new Int32Array(memory, 0, count);
    this.#table = ints.subarray(0, entries * FIELDS);
    ints.fill(NONE, entries * FIELDS, entries * (FIELDS + 2));
    this.#byValue = ints.subarray(entries * FIELDS, entries * (FIELDS + 1));
    this.#byNumber = ints.subarray(entries * (FIELDS + 1), entries * (FIELDS + 2));
    this.#issued = ints.subarray(entries * (FIELDS + 2));
    this.#data = Buffer.from(memory, 4 * count);
  }

  /** Empty buckets, `count` of each kind, in one allocation. */
  #buckets(count: number): void {
    const both = new Int32Array(2 * count).fill(NONE);
    this.#byValue = both.subarray(0, count);
    this.#byNumber = both.subarray(count);
  }

  /** Twice the buckets, every live entry relinked. */
  #rehash(): void {
    this.#buckets(this.#byValue.length * 2);
    for (let k = 0; k < this.#entries; k++) if (this.#table[k * FIELDS + START] !== NONE) this.#link(k);
  }

  /** Doubles the data at least, after dropping the bytes of evicted values when they are a quarter of it. */
  #makeRoom(bytes: number): void {
    const old = this.#data;
    const data = Buffer.alloc(Math.max(2 * old.length, this.#end + bytes));
    if (this.#deadBytes * 4 < this.#end) {
      old.copy(data, 0, 0, this.#end);
      this.#data = data;
      return;
    }
    const t = this.#table;
    let end = 0;
    for (let e = 0; e < this.#entries * FIELDS; e += FIELDS) {
      const from = t[e + START]!;
      if (from === NONE) continue;
      t[e + START] = end;
      const units = t[e + UNITS]!;
      end += old.copy(data, end, from, from + (units < 0 ? -units * 2 : units));
    }
    this.#data = data;
    this.#end = end;
    this.#deadBytes = 0;
  }

  /** Removes entry k from the chain that starts at `buckets[bucket]` and runs through field `next`. */
  #unlink(buckets: Int32Array, bucket: number, k: number, next: number): void {
    const t = this.#table;
    if (buckets[bucket] === k) buckets[bucket] = t[k * FIELDS + next]!;
    else {
      let prev = buckets[bucket]!;
      while (t[prev * FIELDS + next] !== k) prev = t[prev * FIELDS + next]!;
      t[prev * FIELDS + next] = t[k * FIELDS + next]!;
    }
  }

  /**
   * Drops the least recently used values: the excess, and at least 1% of the limit at once, so that a full vault
   * sorts its entries once per hundredth of its size instead of on every new value. Numbers are never reused.
   */
  #evict(): void {
    const t = this.#table;
    const live: number[] = [];
    for (let k = 0; k < this.#entries; k++) if (t[k * FIELDS + START] !== NONE) live.push(k);
    live.sort((a, b) => t[a * FIELDS + USED]! - t[b * FIELDS + USED]!);
    const count = Math.max(this.#size - this.maxEntries, Math.floor(this.maxEntries / 100));
    for (const k of live.slice(0, count)) {
      const e = k * FIELDS;
      this.#unlink(this.#byValue, t[e + HASH]! & (this.#byValue.length - 1), k, NEXT);
      this.#unlink(this.#byNumber, numberHash(t[e + LABEL]!, t[e + NUMBER]!) & (this.#byNumber.length - 1), k, NEXT_NUMBER);
      const units = t[e + UNITS]!;
      this.#deadBytes += units < 0 ? -units * 2 : units;
      t[e + START] = NONE;
      this.#free.push(k);
      this.#size--;
    }
  }

  #decode(k: number): string {
    const e = k * FIELDS;
    const start = this.#table[e + START]!;
    const units = this.#table[e + UNITS]!;
    return units < 0 ? this.#data.toString('utf16le', start, start - units * 2) : this.#data.toString('latin1', start, start + units);
  }

  original(placeholder: string): string | undefined {
    const cut = placeholder.lastIndexOf('_') + 1;
    if (cut === 0 || placeholder[placeholder.length - 1] !== '>') return undefined;
    const label = headIndex.get(placeholder.slice(0, cut));
    if (label === undefined) return undefined;
    const digits = placeholder.slice(cut, -1);
    const n = Number(digits);
    // Only numbers as issued: `<EMAIL_01>` or `<EMAIL_1.0>` name nothing.
    if (!Number.isInteger(n) || n < 1 || String(n) !== digits) return undefined;
    const t = this.#table;
    for (let k = this.#byNumber[numberHash(label, n) & (this.#byNumber.length - 1)]!; k !== NONE; k = t[k * FIELDS + NEXT_NUMBER]!) {
      if (t[k * FIELDS + LABEL] === label && t[k * FIELDS + NUMBER] === n) return this.#decode(k);
    }
    return undefined;
  }

  couldBecomePlaceholder(tail: string): boolean {
    for (let label = 0; label < this.#issued.length; label++) {
      const issued = this.#issued[label]!;
      if (issued === 0) continue;
      const head = heads[label]!;
      if (tail.length <= head.length) {
        if (head.startsWith(tail)) return true;
        continue;
      }
      if (!tail.startsWith(head)) continue;
      const digits = tail.slice(head.length);
      // A prefix of some issued number n <= max iff it is itself <= max (no leading zero).
      if (/^[1-9][0-9]{0,8}$/.test(digits) && Number(digits) <= issued) return true;
    }
    return false;
  }

  toJSON(): { key: string } {
    return { key: this.key };
  }

  [inspect.custom](): string {
    return `Vault(${this.key}, ${this.#size} entries)`;
  }
}

/** A copy of `a` with room for `length` elements. */
function grown(a: Int32Array, length: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(length);
  b.set(a);
  return b;
}

export function createVault(key: string, maxEntries: number): Vault {
  return new MemoryVault(key, maxEntries);
}

export function createVaultStore(limits: VaultLimits, now: () => number): VaultStore {
  const vaults = new Map<string, { vault: Vault; expires: number }>();
  let closed = false;

  function sweep(t: number): void {
    // Map order is least-recently-used first, so expired vaults sit at the front.
    for (const [key, entry] of vaults) {
      if (entry.expires > t) break;
      vaults.delete(key);
    }
  }

  return {
    get(key: string): Vault {
      const t = now();
      sweep(t);
      let entry = vaults.get(key);
      if (entry !== undefined) vaults.delete(key);
      else entry = { vault: createVault(key, limits.maxEntries), expires: 0 };
      entry.expires = t + limits.ttlMs;
      if (!closed) vaults.set(key, entry);
      while (vaults.size > limits.maxVaults) vaults.delete(vaults.keys().next().value as string);
      return entry.vault;
    },
    get size() {
      sweep(now());
      return vaults.size;
    },
    close() {
      closed = true;
      vaults.clear();
    },
  };
}
