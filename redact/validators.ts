/** Checksums and shape checks used by recognizers; pure functions over strings. */

export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** Major card brands by IIN prefix and length (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro). */
export function cardBrandValid(digits: string): boolean {
  return digits.length >= 6 && /^[0-9]+$/.test(digits) && cardBrandValidPrefix(Number(digits.slice(0, 6)), digits.length);
}

/** cardBrandValid for a number of `n` digits whose first six are `p6`. */
export function cardBrandValidPrefix(p6: number, n: number): boolean {
  const p2 = Math.floor(p6 / 10_000);
  const p3 = Math.floor(p6 / 1000);
  const p4 = Math.floor(p6 / 100);
  if (p6 >= 400_000 && p6 < 500_000) return n === 13 || n === 16 || n === 19;
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n === 16;
  if (p2 === 34 || p2 === 37) return n === 15;
  if (p4 === 6011 || p2 === 65 || (p3 >= 644 && p3 <= 649) || (p6 >= 622126 && p6 <= 622925)) return n >= 16 && n <= 19;
  if (p4 >= 3528 && p4 <= 3589) return n >= 16 && n <= 19;
  if (p2 === 36 || p2 === 38 || p2 === 39 || (p3 >= 300 && p3 <= 305) || p2 === 30) return n >= 14 && n <= 19;
  if (p2 === 62) return n >= 16 && n <= 19;
  if (p2 === 50 || (p2 >= 56 && p2 <= 69)) return n >= 12 && n <= 19;
  return false;
}

/** US SSN: area 000, 666 and 900–999, group 00 and serial 0000 are never issued. */
export function ssnValid(digits: string): boolean {
  if (digits.length !== 9) return false;
  const area = Number(digits.slice(0, 3));
  const group = Number(digits.slice(3, 5));
  const serial = Number(digits.slice(5));
  if (area === 0 || area === 666 || area >= 900) return false;
  if (group === 0 || serial === 0) return false;
  // Well-known advertising / placeholder numbers.
  return digits !== '078051120' && digits !== '219099999';
}

/** IBAN lengths per country (ISO 13616 registry). */
export const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BR: 29, BY: 28, CH: 21, CR: 22, CY: 28,
  CZ: 24, DE: 22, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18,
  GR: 27, GT: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32,
  LI: 21, LT: 20, LU: 20, LV: 21, LY: 25, MC: 27, MD: 24, ME: 22, MK: 19, MR: 27, MT: 31, MU: 30, NL: 18, NO: 15,
  PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, SA: 24, SC: 31, SE: 24, SI: 19, SK: 24, SM: 27, ST: 25,
  SV: 28, TL: 23, IR: 26, RU: 33, OM: 23, NI: 28, MN: 20, SO: 23, YE: 30, SD: 18, FK: 18, DJ: 27, BI: 27, HN: 28, TN: 24, TR: 26, UA: 29, VA: 22, VG: 24, XK: 20,
};

export function ibanLength(country: string): number | undefined {
  return IBAN_LENGTHS[country];
}

/** ISO 7064 mod 97-10 over the rearranged IBAN, computed in chunks (no BigInt). */
export function ibanValid(compact: string): boolean {
  const iban = compact.toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(iban)) return false;
  const expected = IBAN_LENGTHS[iban.slice(0, 2)];
  if (expected !== undefined && iban.length !== expected) return false;
  if (expected === undefined && (iban.length < 15 || iban.length > 34)) return false;
  return ibanMod97(iban, 0, iban.length) === 1;
}

/**
 * ISO 7064 mod 97 of the IBAN in s[from, to) (upper-case letters and digits; spaces skipped), its first four
 * characters moved to the end: 1 for a valid IBAN.
 */
export function ibanMod97(s: string, from: number, to: number): number {
  let rem = 0;
  let head = 0; // characters of the first four seen
  let i = from;
  for (; i < to && head < 4; i++) if (s.charCodeAt(i) !== 32) head++;
  const step = (c: number): void => {
    const v = c >= 65 ? c - 55 : c - 48;
    rem = v >= 10 ? (rem * 100 + v) % 97 : (rem * 10 + v) % 97;
  };
  for (let k = i; k < to; k++) if (s.charCodeAt(k) !== 32) step(s.charCodeAt(k));
  for (let k = from; k < i; k++) if (s.charCodeAt(k) !== 32) step(s.charCodeAt(k));
  return rem;
}

/** looksRandom's counts per ASCII character and the distinct ones seen: scratch, zeroed again before it returns. */
const counts = new Int32Array(128);
const seen = new Uint8Array(128);
/** k * log2(k) for the counts candidate values have (the C++ checks get this table: the same doubles) (Math.log2 per distinct character was most of the cost). */
export const K_LOG_K = Float64Array.from({ length: 256 }, (_, k) => (k === 0 ? 0 : k * Math.log2(k)));
const kLogK = (k: number): number => (k < K_LOG_K.length ? K_LOG_K[k]! : k * Math.log2(k));

/** Character classes of ASCII, as bits: which alphabets a string draws from. */
const DIGIT = 1;
const LOWER = 2;
const UPPER = 4;
const SYMBOL = 8;
const NOT_HEX = 16;
const CLASS = Uint8Array.from({ length: 128 }, (_, c) => {
  if (c >= 48 && c <= 57) return DIGIT;
  if (c >= 97 && c <= 122) return LOWER | (c > 102 ? NOT_HEX : 0);
  if (c >= 65 && c <= 90) return UPPER | (c > 70 ? NOT_HEX : 0);
  return SYMBOL | NOT_HEX;
});

/**
 * Whether a string looks randomly generated: its Shannon entropy is close to the most a string of this length
 * over this alphabet could have (a fixed bits-per-char threshold would reject every short secret). The alphabet
 * is 16 when `s` is all hex digits, else 26 per letter case, 10 for digits and 32 for anything else that occurs.
 * One pass over `s` plus one over its distinct characters, no allocation for ASCII (secrets are ASCII).
 */
export function looksRandom(s: string, ratio = 0.7): boolean {
  const n = s.length;
  let other: Map<number, number> | undefined;
  let classes = 0;
  let distinct = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 128) {
      if (counts[c]!++ === 0) seen[distinct++] = c;
      classes |= CLASS[c]!;
    } else {
      (other ??= new Map()).set(c, (other.get(c) ?? 0) + 1);
      classes |= SYMBOL | NOT_HEX;
    }
  }
  // H = log2(n) - (sum over distinct characters of k * log2(k)) / n
  let sum = 0;
  for (let i = 0; i < distinct; i++) {
    const c = seen[i]!;
    sum += kLogK(counts[c]!);
    counts[c] = 0;
  }
  if (other) for (const k of other.values()) sum += kLogK(k);
  const entropy = n === 0 ? 0 : Math.log2(n) - sum / n;
  const alphabet =
    n === 0 ? 0 : (classes & NOT_HEX) === 0 ? 16 : (classes & LOWER ? 26 : 0) + (classes & UPPER ? 26 : 0) + (classes & DIGIT ? 10 : 0) + (classes & SYMBOL ? 32 : 0);
  return entropy >= ratio * Math.log2(Math.max(2, Math.min(n, alphabet)));
}

/** Checks that every octet is 0–255 without leading zeros. */
export function ipv4Valid(s: string): boolean {
  let parts = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46; // the end closes the last octet like a dot
    if (c === 46) {
      if (digits === 0 || value > 255) return false;
      parts++;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits === 1 && value === 0) return false; // a leading zero
      if (++digits > 3) return false;
      value = value * 10 + (c - 48);
    } else return false;
  }
  return parts === 4;
}

export function digitsOf(s: string): string {
  let out = '';
  let from = -1;
  // Runs of digits are sliced whole: one string per run, not one per digit.
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 0;
    const digit = c >= 48 && c <= 57;
    if (digit && from < 0) from = i;
    else if (!digit && from >= 0) {
      out += s.slice(from, i);
      from = -1;
    }
  }
  return out;
}
