import type { Vault } from './vault.js';

/** The placeholder grammar: `<LABEL_n>`, LABEL upper-case, n from 1. Bounded, so linear on any input. */
const PLACEHOLDER = /<[A-Z][A-Z0-9_]{0,40}_[1-9][0-9]{0,8}>/g;
const MAX_PLACEHOLDER = 1 + 41 + 1 + 9 + 1;

export interface RestoreOptions {
  /**
   * The text is the inside of a JSON string (e.g. streamed tool-call `arguments`): originals are
   * JSON-escaped so that quotes or backslashes in them keep the JSON valid.
   */
  readonly json?: boolean;
}

export function restoreText(text: string, vault: Vault, options: RestoreOptions = {}): string {
  if (vault.size === 0 || !text.includes('<')) return text;
  return text.replace(PLACEHOLDER, (p) => {
    const original = vault.original(p);
    if (original === undefined) return p;
    return options.json ? JSON.stringify(original).slice(1, -1) : original;
  });
}

/** Restores every string (values and keys) of a parsed JSON value, iteratively; mutates containers in place. */
export function restoreJson(value: unknown, vault: Vault): unknown {
  if (typeof value === 'string') return restoreText(value, vault);
  if (value === null || typeof value !== 'object' || vault.size === 0) return value;
  const stack: object[] = [value];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const v: unknown = node[i];
        if (typeof v === 'string') node[i] = restoreText(v, vault);
        else if (v !== null && typeof v === 'object') stack.push(v);
      }
      continue;
    }
    const rec = node as Record<string, unknown>;
    for (const k of Object.keys(rec)) {
      const v = rec[k];
      let key = k;
      if (k.includes('<')) {
        key = restoreText(k, vault);
        if (key !== k) {
          delete rec[k];
          rec[key] = v;
        }
      }
      if (typeof v === 'string') rec[key] = restoreText(v, vault);
      else if (v !== null && typeof v === 'object') stack.push(v);
    }
  }
  return value;
}

export interface Restorer {
  /** Returns the restored text that can no longer be part of a placeholder. */
  push(text: string): string;
  /** Returns whatever was held back. */
  flush(): string;
}

/**
 * Streaming restore for SSE deltas and NDJSON chunks. Only the text from the last `<` can still become a
 * placeholder (placeholders contain no other `<`), and only if it is a prefix of one this vault issued:
 * that tail is held back, everything else is returned at once.
 */
export function createRestorer(vault: Vault, options: RestoreOptions = {}): Restorer {
  let pending = '';
  return {
    push(text: string): string {
      const buf = pending + text;
      let cut = buf.length;
      const lt = buf.lastIndexOf('<');
      if (lt >= 0 && buf.length - lt < MAX_PLACEHOLDER && buf.indexOf('>', lt) < 0 && vault.couldBecomePlaceholder(buf.slice(lt))) {
        cut = lt;
      }
      pending = buf.slice(cut);
      return restoreText(cut === buf.length ? buf : buf.slice(0, cut), vault, options);
    },
    flush(): string {
      const out = restoreText(pending, vault, options);
      pending = '';
      return out;
    },
  };
}
