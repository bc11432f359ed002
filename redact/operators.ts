import { createHmac } from 'node:crypto';
import type { Operator } from './schema.js';
import { labelOf } from './entities.js';
import type { Vault } from './vault.js';

/** Types whose last four characters are conventionally left visible when masked. */
const KEEP_LAST_FOUR = new Set(['credit_card', 'phone', 'iban', 'us_ssn']);

export function maskValue(type: string, original: string): string {
  const keep = KEEP_LAST_FOUR.has(type) ? 4 : 0;
  let kept = 0;
  const chars = [...original];
  for (let i = chars.length - 1; i >= 0; i--) {
    const ch = chars[i]!;
    if (!/[\p{L}\p{N}]/u.test(ch)) continue;
    if (kept < keep) kept++;
    else chars[i] = '*';
  }
  return chars.join('');
}

/** Keyed HMAC: stable for a key, useless to anyone without it. The `#` keeps it outside the placeholder grammar. */
export function hashValue(type: string, original: string, key: Buffer): string {
  const mac = createHmac('sha256', key).update(type).update('\u0000').update(original).digest('hex');
  return `<${labelOf(type)}#${mac.slice(0, 16)}>`;
}

/** The replacement of the value text[start, end): the vault reads it where it stands, the others as a string. */
export function applyOperator(op: Operator, type: string, text: string, start: number, end: number, vault: Vault, key: Buffer): string {
  switch (op) {
    case 'pseudonymize':
      return vault.pseudonymIn(type, text, start, end);
    case 'mask':
      return maskValue(type, text.slice(start, end));
    case 'hash':
      return hashValue(type, text.slice(start, end), key);
    case 'remove':
      return '';
    case 'block':
      // The request is refused by the caller; the text is still scrubbed in case it is logged.
      return maskValue(type, text.slice(start, end));
  }
}
