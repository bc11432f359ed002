import { inspect } from 'node:util';
import { labelOf } from './entities.js';

/**
 * Pseudonyms of one conversation: `<EMAIL_1>` <-> the original. Originals live only in closures, so
 * neither JSON.stringify nor util.inspect (hence no logger) can print them.
 */
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

export function createVault(key: string, maxEntries: number): Vault {
  const byOriginal = new Map<string, string>();
  const byPlaceholder = new Map<string, { original: string; okey: string }>();
  const counters = new Map<string, number>();
  // Labels with their `<LABEL_` prefix, for prefix checks of streamed tails.
  const heads = new Map<string, string>();

  const vault = {
    key,
    get size() {
      return byPlaceholder.size;
    },
    pseudonym(type: string, original: string): string {
      const okey = `${type}\u0000${original}`;
      const known = byOriginal.get(okey);
      if (known !== undefined) {
        const entry = byPlaceholder.get(known)!;
        byPlaceholder.delete(known);
        byPlaceholder.set(known, entry);
        return known;
      }
      const label = labelOf(type);
      const n = (counters.get(label) ?? 0) + 1;
      counters.set(label, n);
      if (!heads.has(label)) heads.set(label, `<${label}_`);
      const placeholder = `<${label}_${n}>`;
      byOriginal.set(okey, placeholder);
      byPlaceholder.set(placeholder, { original, okey });
      while (byPlaceholder.size > maxEntries) {
        const [oldest, entry] = byPlaceholder.entries().next().value as [string, { okey: string }];
        byPlaceholder.delete(oldest);
        byOriginal.delete(entry.okey);
      }
      return placeholder;
    },
    original(placeholder: string): string | undefined {
      return byPlaceholder.get(placeholder)?.original;
    },
    couldBecomePlaceholder(tail: string): boolean {
      for (const [label, head] of heads) {
        if (tail.length <= head.length) {
          if (head.startsWith(tail)) return true;
          continue;
        }
        if (!tail.startsWith(head)) continue;
        const digits = tail.slice(head.length);
        // A prefix of some issued number n <= max iff it is itself <= max (no leading zero).
        if (/^[1-9][0-9]{0,8}$/.test(digits) && Number(digits) <= (counters.get(label) ?? 0)) return true;
      }
      return false;
    },
    toJSON() {
      return { key };
    },
    [inspect.custom]() {
      return `Vault(${key}, ${byPlaceholder.size} entries)`;
    },
  };
  return vault;
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
