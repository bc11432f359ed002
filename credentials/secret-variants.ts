/** One spelling of a real secret that must never leave toward the wrong place. */
export interface SecretPattern {
  provider: string;
  kind: 'raw' | 'url' | 'base64' | 'hex';
  bytes: Buffer;
  /** latin1 view of `bytes`, for header values (which Node decodes as latin1). */
  text: string;
}

/** Shorter encoded fragments would match innocent data; real keys are far longer. */
const MIN_ENCODED_LENGTH = 12;

/**
 * Spellings of `secret` to look for: raw, URL-encoded (upper and lower case escapes), hex
 * (lower, upper), and base64 (standard and URL-safe) for each of the 3 byte alignments the
 * secret can have inside a larger encoded blob. For an alignment, only the characters that
 * depend on the secret's bytes alone are kept, so the fragment matches whatever surrounds it.
 */
export function secretVariants(provider: string, secret: string): SecretPattern[] {
  const raw = Buffer.from(secret, 'utf8');
  const spellings = new Map<string, SecretPattern['kind']>();
  spellings.set(raw.toString('latin1'), 'raw');
  const url = encodeURIComponent(secret).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  addIfNew(spellings, url, 'url');
  addIfNew(spellings, url.replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()), 'url');
  addIfNew(spellings, raw.toString('hex'), 'hex');
  addIfNew(spellings, raw.toString('hex').toUpperCase(), 'hex');
  for (let align = 0; align < 3; align++) {
    const padded = Buffer.concat([Buffer.alloc(align), raw]);
    const full = padded.toString('base64').replace(/=+$/, '');
    const start = [0, 2, 3][align]!;
    const end = Math.floor((padded.length * 8) / 6);
    const fragment = full.slice(start, end);
    if (fragment.length < MIN_ENCODED_LENGTH) continue;
    addIfNew(spellings, fragment, 'base64');
    addIfNew(spellings, fragment.replace(/\+/g, '-').replace(/\//g, '_'), 'base64');
  }
  return [...spellings].map(([text, kind]) => ({ provider, kind, text, bytes: Buffer.from(text, 'latin1') }));
}

function addIfNew(map: Map<string, SecretPattern['kind']>, text: string, kind: SecretPattern['kind']): void {
  if (!map.has(text)) map.set(text, kind);
}

/** The first pattern found in `text`, if any. */
export function findSecretInText(patterns: readonly SecretPattern[], text: string): SecretPattern | undefined {
  return patterns.find((p) => text.includes(p.text));
}
