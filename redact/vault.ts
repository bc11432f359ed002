import { inspect } from 'node:util';
import { labelOf } from './entities.js';

/** Pseudonyms of one conversation: `<EMAIL_1>` <-> the original. Never printable (see MemoryVault). */
export interface Vault {
  readonly key: string;
  /** Number of pseudonyms currently held. */
  readonly size: number;
  /** Same (type, original) -> same placeholder for the life of the vault. */
  pseudonym(type: string, original: string): string;
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

/** Per entity type: its placeholder label, the `<LABEL_` head, the last number issued and the values seen. */
interface TypeState {
  readonly head: string;
  issued: number;
  readonly byOriginal: Map<string, string>;
}

/**
 * Originals live in private fields, so neither JSON.stringify nor util.inspect (hence no logger) can print them.
 */
class MemoryVault implements Vault {
  readonly #types = new Map<string, TypeState>();
  // Insertion order is recency order (a hit moves its entry to the end), so the front is least recently used.
  readonly #byPlaceholder = new Map<string, { readonly original: string; readonly state: TypeState }>();

  constructor(
    readonly key: string,
    readonly maxEntries: number,
  ) {}

  get size(): number {
    return this.#byPlaceholder.size;
  }

  #stateOf(type: string): TypeState {
    let state = this.#types.get(type);
    if (state === undefined) {
      // Types that share a label share its numbering, so placeholders stay unique.
      const head = `<${labelOf(type)}_`;
      for (const other of this.#types.values()) if (other.head === head) state = other;
      state ??= { head, issued: 0, byOriginal: new Map() };
      this.#types.set(type, state);
    }
    return state;
  }

  pseudonym(type: string, original: string): string {
    const state = this.#stateOf(type);
    const byPlaceholder = this.#byPlaceholder;
    const known = state.byOriginal.get(original);
    if (known !== undefined) {
      const entry = byPlaceholder.get(known)!;
      byPlaceholder.delete(known);
      byPlaceholder.set(known, entry);
      return known;
    }
    const placeholder = state.head + ++state.issued + '>';
    // A slice of a request body keeps the whole body alive in V8; the vault outlives the request, so it keeps
    // a copy of just the value (slicing a fresh concatenation flattens it into a string of its own).
    const own = (' ' + original).slice(1);
    state.byOriginal.set(own, placeholder);
    byPlaceholder.set(placeholder, { original: own, state });
    if (byPlaceholder.size > this.maxEntries) {
      for (const [oldest, entry] of byPlaceholder) {
        if (byPlaceholder.size <= this.maxEntries) break;
        byPlaceholder.delete(oldest);
        entry.state.byOriginal.delete(entry.original);
      }
    }
    return placeholder;
  }

  original(placeholder: string): string | undefined {
    return this.#byPlaceholder.get(placeholder)?.original;
  }

  couldBecomePlaceholder(tail: string): boolean {
    for (const { head, issued } of this.#types.values()) {
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
    return `Vault(${this.key}, ${this.#byPlaceholder.size} entries)`;
  }
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
