import type { Candidate, Recognizer } from './recognizer.js';
import {
  cardBrandValidPrefix, digitsOf, ibanLength, ibanMod97, ipv4Valid, looksRandom, ssnValid,
} from './validators.js';

// Neighbours are looked at as UTF-16 code units (NaN past either end, which no comparison accepts): a
// one-character string and a regex test per neighbour were most of what the checks cost.
const codeAt = (c: Candidate, at: number): number => c.text.charCodeAt(at);
const isDigit = (x: number): boolean => x >= 48 && x <= 57;
const isLetter = (x: number): boolean => (x >= 65 && x <= 90) || (x >= 97 && x <= 122);
const isWord = (x: number): boolean => isDigit(x) || isLetter(x) || x === 95;
/** True when the value is not glued to other letters/digits on either side. */
const standsAlone = (c: Candidate): boolean => !isWord(codeAt(c, c.start - 1)) && !isWord(codeAt(c, c.end));
// `=` may precede a token (`KEY=ghp_…`) but not follow it (base64 padding means the token goes on).
const tokenChar = (x: number): boolean => isWord(x) || x === 45 || x === 43 || x === 47; // - + /
const tokenAlone = (c: Candidate): boolean => {
  const a = codeAt(c, c.end);
  return !tokenChar(codeAt(c, c.start - 1)) && !tokenChar(a) && a !== 61; // =
};
const value = (c: Candidate): string => c.text.slice(c.start, c.end);
const joiner = (x: number): boolean => x === 46 || x === 45 || x === 47; // . - /
/** A digit run glued to `.`/`-` plus more digits is part of a longer number (versions, ids). */
const numberAlone = (c: Candidate): boolean =>
  standsAlone(c) &&
  !(joiner(codeAt(c, c.start - 1)) && isDigit(codeAt(c, c.start - 2))) &&
  !(joiner(codeAt(c, c.end)) && isDigit(codeAt(c, c.end + 1)));

/** Consistent separators: `4111 1111 1111 1111` or `4111111111111111`, not `4111-1111 1111.1111`. */
function separatorsConsistent(s: string): boolean {
  let sep = -1;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) continue;
    if (sep >= 0 && c !== sep) return false;
    sep = c;
  }
  return true;
}

const PHONE_CONTEXT = ['phone', 'tel', 'call', 'mobile', 'cell', 'fax', 'contact', 'whatsapp', 'sms', 'text me', 'number', 'reach', 'dial', 'telefon', 'téléphone'];

const PHONE_EXTENSION = /\s*(?:x|ext\.?)\s*\d+$/i;

function phoneCheck(c: Candidate, score: number): number {
  if (!numberAlone(c)) return 0;
  let v = value(c);
  if (v.includes('x') || v.includes('X')) v = v.replace(PHONE_EXTENSION, '');
  // 7 to 15 digits, not all the same (1111111 is test data or an id, not a number someone dials).
  let digits = 0;
  let first = -1;
  let same = true;
  for (let i = 0; i < v.length; i++) {
    const x = v.charCodeAt(i);
    if (!isDigit(x)) continue;
    digits++;
    if (first < 0) first = x;
    else if (x !== first) same = false;
  }
  return digits < 7 || digits > 15 || same ? 0 : score;
}

/** Words that make the IPv4-shaped value after them a version number (the C++ check gets the same list). */
export const VERSION_WORDS = ['version', 'ver', 'ver.', 'release', 'released', 'build', 'rev', 'chrome', 'firefox', 'safari', 'section', 'chapter', '§'];
/** The text before an IPv4-shaped value, lower-cased, ends with a version word, a lone `v` or an operator (`>=`). */
export const VERSION_BEFORE = new RegExp(`(?:(?:^|[^a-z])v|${VERSION_WORDS.map((w) => w.replace('.', '\\.')).join('|')}|[=~<>!]=)[\\s:=/]*$`);

function ipv4Check(c: Candidate, score: number): number {
  const b = codeAt(c, c.start - 1);
  const a = codeAt(c, c.end);
  if (isWord(b) || b === 46 || isWord(a)) return 0;
  if (a === 46 && isDigit(codeAt(c, c.end + 1))) return 0; // 1.2.3.4.5 is an OID or a version
  if (b === 47 && isLetter(codeAt(c, c.start - 2))) return 0; // product token: Chrome/120.0.6099.109
  const v = value(c);
  if (!ipv4Valid(v)) return 0;
  if (VERSION_BEFORE.test(c.text.slice(Math.max(0, c.start - 12), c.start).toLowerCase())) return 0;
  // Loopback, unspecified and netmasks identify nobody.
  if (v.startsWith('127.') || v === '0.0.0.0' || v.startsWith('255.')) return 0;
  return score;
}

// IPv6 text forms (RFC 4291 2.2), the grammar of Node's `net.isIPv6` without zone ids (the pattern has no `%`);
// the native checks run it in re2, so both sides share it (a test holds it to `net.isIPv6`).
const V4_OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])';
const V4 = `(?:${V4_OCTET}\\.){3}${V4_OCTET}`;
const V6_GROUP = '[0-9a-fA-F]{1,4}';
export const IPV6_ADDRESS = new RegExp(
  '^(?:' +
    [
      `(?:${V6_GROUP}:){7}(?:${V6_GROUP}|:)`,
      `(?:${V6_GROUP}:){6}(?:${V4}|:${V6_GROUP}|:)`,
      `(?:${V6_GROUP}:){5}(?::${V4}|(?::${V6_GROUP}){1,2}|:)`,
      `(?:${V6_GROUP}:){4}(?:(?::${V6_GROUP}){0,1}:${V4}|(?::${V6_GROUP}){1,3}|:)`,
      `(?:${V6_GROUP}:){3}(?:(?::${V6_GROUP}){0,2}:${V4}|(?::${V6_GROUP}){1,4}|:)`,
      `(?:${V6_GROUP}:){2}(?:(?::${V6_GROUP}){0,3}:${V4}|(?::${V6_GROUP}){1,5}|:)`,
      `(?:${V6_GROUP}:){1}(?:(?::${V6_GROUP}){0,4}:${V4}|(?::${V6_GROUP}){1,6}|:)`,
      `(?::(?:(?::${V6_GROUP}){0,5}:${V4}|(?::${V6_GROUP}){1,7}|:))`,
    ].join('|') +
    ')$',
);

function ipv6Check(c: Candidate, score: number): number {
  const b = codeAt(c, c.start - 1);
  const a = codeAt(c, c.end);
  if (isWord(b) || b === 58 || b === 46 || isWord(a) || a === 58) return 0; // : .
  const v = value(c);
  if (!IPV6_ADDRESS.test(v)) return 0;
  const groups = v.split(':').filter((g) => g.length > 0);
  const hexChars = groups.reduce((n, g) => n + g.length, 0);
  if (groups.length < 2 || hexChars < 5) return 0; // `std::`, `a::b`
  if (v === '::1' || /^::(?:ffff:)?(?:0\.0\.0\.0|127\.)/.test(v)) return 0;
  return score;
}

function ibanCheck(c: Candidate, score: number): number {
  if (isWord(codeAt(c, c.start - 1))) return 0;
  const expected = ibanLength(c.text.slice(c.start, c.start + 2));
  if (expected === undefined) return 0;
  // The pattern is greedy over `[A-Z0-9 ]`; keep exactly the country's length of characters.
  let n = 0;
  let end = c.start;
  for (; end < c.end && n < expected; end++) if (codeAt(c, end) !== 32) n++;
  if (n !== expected) return 0;
  c.end = end;
  if (isWord(codeAt(c, c.end))) return 0;
  // The pattern took upper-case letters and digits only: mod 97 straight over them, spaces skipped.
  return ibanMod97(c.text, c.start, c.end) === 1 ? score : 0;
}

export const PLACEHOLDER_VALUES = /^(?:x{3,}|\*{3,}|\.{3,}|changeme|change_me|password\d*|secret|null|none|undefined|true|false|example\w*|your[_-].*|<.*|\$\{.*|\{\{.*|%\(.*|redacted)$/i;
export const CODE_REFERENCE = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$|^[A-Z_][A-Z0-9_]*$|^(?:process|os|env|self|this|config|settings)\b/;

/** Whether the value of a `password=`-style assignment looks like a real secret, not a reference or a dummy. */
export function secretValueLooksReal(v: string): boolean {
  if (v.length < 8 || v.length > 200 || /\s/.test(v) || PLACEHOLDER_VALUES.test(v) || CODE_REFERENCE.test(v)) return false;
  if (!/[0-9]/.test(v) && !/[^A-Za-z]/.test(v) && v.length < 20) return false;
  return looksRandom(v);
}

/** JSON keys under which a string value is a secret when it looks like one (tool-call arguments). */
export const SECRET_KEY_NAME = /passw(?:or)?d|passphrase|^pwd$|secret|api[_-]?key|apikey|access[_-]?key|token|credential|private[_-]?key/i;

/**
 * The value of a generic assignment: the keyword part cannot contain `=` or `:`, so the first of them starts
 * the operator (`=`, `:=`, `=>`, `:`, tried in that order by the pattern), then up to five quotes or blanks.
 */
function genericSecretValue(c: Candidate): void {
  let i = c.start;
  while (codeAt(c, i) !== 61 && codeAt(c, i) !== 58) i++; // = :
  const op = codeAt(c, i);
  const next = codeAt(c, i + 1);
  i += (op === 61 && next === 62) || (op === 58 && next === 61) ? 2 : 1; // => :=
  for (let x = codeAt(c, i); i < c.end && (x === 32 || x === 9 || x === 39 || x === 34 || x === 96); x = codeAt(c, ++i)); // blanks and quotes
  c.start = i;
}

const genericSecretCheck = (c: Candidate, score: number): number => (secretValueLooksReal(value(c)) ? score : 0);

/** Decodes a JWT header and checks that it names an algorithm. */
function jwtCheck(c: Candidate, score: number): number {
  if (!tokenAlone(c)) return 0;
  const header = value(c).split('.')[0] ?? '';
  try {
    const decoded = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as unknown;
    return decoded !== null && typeof decoded === 'object' && 'alg' in decoded ? score : 0;
  } catch {
    return 0;
  }
}

function ssnCheck(c: Candidate, score: number): number {
  if (!numberAlone(c)) return 0;
  const v = value(c);
  return separatorsConsistent(v) && ssnValid(digitsOf(v)) ? score : 0;
}

/** Luhn, brand and separators of a card number candidate in one pass over its characters. */
function cardCheck(c: Candidate, score: number): number {
  if (!numberAlone(c)) return 0;
  let sep = -1;
  let digits = 0;
  let prefix = 0; // the first six digits
  // Luhn sums with the digits at even, and at odd, positions from the left doubled: which one applies depends
  // on the parity of the count, known at the end.
  let evenDoubled = 0;
  let oddDoubled = 0;
  for (let i = c.start; i < c.end; i++) {
    const x = codeAt(c, i);
    if (!isDigit(x)) {
      if (sep >= 0 && x !== sep) return 0; // `4111-1111 1111.1111`
      sep = x;
      continue;
    }
    const d = x - 48;
    const twice = d * 2 > 9 ? d * 2 - 9 : d * 2;
    if (digits % 2 === 0) {
      evenDoubled += twice;
      oddDoubled += d;
    } else {
      evenDoubled += d;
      oddDoubled += twice;
    }
    if (digits < 6) prefix = prefix * 10 + d;
    digits++;
  }
  const luhn = digits % 2 === 0 ? evenDoubled : oddDoubled;
  return digits >= 6 && luhn % 10 === 0 && cardBrandValidPrefix(prefix, digits) ? score : 0;
}

const tokenCheck = (c: Candidate, score: number): number => (tokenAlone(c) ? score : 0);

export const PLACEHOLDER_PATTERN = '<[A-Z][A-Z0-9_]{0,40}_[0-9]{1,9}>';
export const PLACEHOLDER_PREFILTER = '<[A-Z]';

/** Built-in recognizers. Secret rules follow gitleaks' default config, with lengths relaxed where noted. */
export const BUILTIN_RECOGNIZERS: readonly Recognizer[] = [
  {
    name: 'private_key', native: 'none', type: 'private_key', priority: 100, score: 1, multiline: true,
    // Base64 lines and RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`); a dash must be followed by a letter or
    // digit, so the run stops at `-----END …`. A truncated block still covers everything after the header.
    pattern: '-----BEGIN[ A-Z0-9_-]{0,40}PRIVATE KEY(?: BLOCK)?-----(?:[A-Za-z0-9+/=\\s\\\\:,._]|-[A-Za-z0-9])*(?:-----END[ A-Z0-9_-]{0,40}PRIVATE KEY(?: BLOCK)?-----)?',
    prefilter: '-----BEGIN',
    prefilterStarts: true,
  },
  {
    name: 'aws_access_key', native: 'token', type: 'aws_access_key', priority: 90, score: 0.95, check: tokenCheck,
    pattern: '(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}',
    prefilter: 'A(?:3T|KIA|SIA|BIA|CCA)',
  },
  {
    name: 'github_token', native: 'token', type: 'github_token', priority: 90, score: 0.95, check: tokenCheck,
    pattern: '(?:ghp|gho|ghu|ghs|ghr)_[0-9A-Za-z]{36}|github_pat_[0-9A-Za-z_]{82}',
    prefilter: 'gh[pousr]_|github_pat_',
  },
  {
    // gitleaks requires the `T3BlbkFJ` marker; project keys without it are common, so any long sk-proj- counts.
    name: 'openai_key', native: 'token', type: 'openai_key', priority: 90, score: 0.95, check: tokenCheck,
    pattern: 'sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,}|sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}|sk-[A-Za-z0-9]{48}',
    prefilter: 'sk-',
  },
  {
    name: 'anthropic_key', native: 'token', type: 'anthropic_key', priority: 91, score: 0.95, check: tokenCheck,
    pattern: 'sk-ant-[a-z]{2,8}[0-9]{2}-[A-Za-z0-9_-]{32,}',
    prefilter: 'sk-ant-',
  },
  {
    name: 'slack_token', native: 'slack', type: 'slack_token', priority: 90, score: 0.9,
    pattern: 'xox[abprse]-[0-9A-Za-z][0-9A-Za-z-]{9,}',
    prefilter: 'xox[abprse]-',
    check: (c, s) => (tokenAlone(c) && /\d/.test(value(c)) ? s : 0),
  },
  {
    name: 'stripe_key', native: 'token', type: 'stripe_key', priority: 90, score: 0.95, check: tokenCheck,
    pattern: '(?:sk|rk)_(?:live|test|prod)_[0-9A-Za-z]{10,}',
    prefilter: '[sr]k_(?:live|test|prod)_',
  },
  {
    name: 'google_api_key', native: 'token', type: 'google_api_key', priority: 90, score: 0.95, check: tokenCheck,
    pattern: 'AIza[0-9A-Za-z_-]{35}',
    prefilter: 'AIza',
  },
  {
    name: 'jwt', native: 'jwt', type: 'jwt', priority: 85, score: 0.95, check: jwtCheck,
    pattern: 'eyJ[A-Za-z0-9_-]{10,}\\.eyJ[A-Za-z0-9_-]{10,}\\.[A-Za-z0-9_-]{10,}',
    prefilter: 'eyJ',
  },
  {
    name: 'url_credentials', native: 'url_credentials', type: 'url_credentials', priority: 80, score: 0.9, valueGroup: 1,
    // The scheme has no `:`, user and password no `@`: the value runs from after `://` to the `@`.
    locate: (c) => {
      const from = c.text.indexOf('://', c.start) + 3;
      c.end = c.text.lastIndexOf('@', c.end - 1);
      c.start = from;
    },
    // ASCII classes without counted repeats keep the DFA small (Unicode negated classes blow it up).
    pattern: '[A-Za-z][A-Za-z0-9+.-]*://([A-Za-z0-9._~%!$&*+=-]+:[A-Za-z0-9._~%!$&*+=,;^()-]+)@[A-Za-z0-9.-]*[A-Za-z0-9]',
    prefilter: ':[A-Za-z0-9._~%!$&*+=,;^()-]+@',
    check: (c, s) => (/^\$\{|^<|:(?:\*+|x+|<[^>]*>|\$\{[^}]*\})$/i.test(value(c)) ? 0 : s),
  },
  {
    // detect-secrets' AWS rule: 40 base64 characters near the word "aws".
    name: 'aws_secret_key', native: 'aws_secret', type: 'aws_secret_key', priority: 75, score: 0.9, valueGroup: 1,
    locate: (c) => void (c.start = c.end - 40),
    pattern: '(?i:aws)[A-Za-z0-9_ .\'"=:>-]{0,40}?([A-Za-z0-9/+]{40})',
    prefilter: '(?i:aws)',
    check: (c, s) => (tokenAlone(c) && looksRandom(value(c), 0.8) ? s : 0),
  },
  {
    // gitleaks generic-api-key, keyed on assignment words and gated by entropy instead of a fixed alphabet.
    name: 'generic_secret', native: 'generic_secret', type: 'generic_secret', priority: 60, score: 0.75, valueGroup: 1, check: genericSecretCheck,
    locate: genericSecretValue,
    pattern: '(?i:passw(?:or)?d|passphrase|pwd|secret|api[_-]?key|apikey|access[_-]?key|auth[_-]?token|access[_-]?token|client[_-]?secret|private[_-]?token|token|credentials?)[A-Za-z0-9_.-]{0,20}[ \\t\'"]{0,3}(?:=|:=|=>|:)[ \\t\'"`]{0,5}([A-Za-z0-9!#$%&*+./:=?@^_|~-]{6,})',
    prefilter: '(?i:pass|pwd|secret|key|token|credential)',
  },
  {
    name: 'credit_card', native: 'card', type: 'credit_card', priority: 50, score: 0.85,
    pattern: '[0-9](?:[ -]?[0-9]){11,18}',
    prefilter: '[0-9](?:[ -]?[0-9]){11}',
    context: ['card', 'credit', 'visa', 'mastercard', 'amex', 'payment', 'cc'],
    check: cardCheck,
  },
  {
    name: 'iban', native: 'iban', type: 'iban', priority: 50, score: 0.9, check: ibanCheck,
    pattern: '[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,32}',
    prefilter: '[A-Z]{2}[0-9]{2}',
  },
  {
    // Dashed/spaced SSNs stand on their own; nine bare digits only right after a context word.
    name: 'us_ssn', native: 'ssn', type: 'us_ssn', priority: 45, score: 0.7, check: ssnCheck,
    pattern: '[0-9]{3}[- ][0-9]{2}[- ][0-9]{4}',
    prefilter: '[0-9]{3}[- ][0-9]{2}[- ][0-9]{4}',
  },
  {
    name: 'us_ssn_bare', native: 'ssn_bare', type: 'us_ssn', priority: 45, score: 0.7, check: ssnCheck, valueGroup: 1,
    locate: (c) => void (c.start = c.end - 9),
    pattern: '(?i:ssn|social security(?: number)?|social sec\\.?|taxpayer id|tin)[^0-9\\n]{0,16}([0-9]{9})',
    prefilter: '(?i:ssn|social sec|taxpayer id|tin)',
  },
  {
    name: 'email', native: 'email', type: 'email', priority: 40, score: 0.9,
    pattern: '[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,24}',
    prefilter: '[A-Za-z0-9._%+-]@[A-Za-z0-9-]',
    check: (c, s) => {
      if (isWord(codeAt(c, c.end))) return 0;
      while (codeAt(c, c.start) === 46) c.start++; // leading dots
      return s;
    },
  },
  {
    name: 'ipv4', native: 'ipv4', type: 'ip_address', priority: 35, score: 0.7, check: ipv4Check,
    pattern: '[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}',
    prefilter: '[0-9]\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]',
    context: ['ip', 'address', 'host', 'server', 'client'],
  },
  {
    name: 'ipv6', native: 'ipv6', type: 'ip_address', priority: 35, score: 0.7, check: ipv6Check,
    pattern: '[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:\\.[0-9]{1,3}){0,3}',
    prefilter: ':[0-9A-Fa-f]{0,4}:',
  },
  {
    // International (+CC …) and North American formats with visible structure.
    name: 'phone', native: 'phone', type: 'phone', priority: 30, score: 0.6, context: PHONE_CONTEXT, check: phoneCheck,
    pattern: '\\+[0-9]{1,3}(?:[ .-]?\\(?[0-9]{1,4}\\)?)(?:[ .-]?[0-9]{2,4}){2,4}(?: ?(?:x|ext\\.?) ?[0-9]{1,5})?|(?:1[ .-])?(?:\\([0-9]{3}\\) ?|[0-9]{3}[.-])[0-9]{3}[.-][0-9]{4}(?: ?(?:x|ext\\.?) ?[0-9]{1,5})?',
    prefilter: '\\+[0-9]|[0-9]{3}[.-][0-9]{3}[.-]|\\([0-9]{3}\\)',
  },
  {
    // National formats without a country code are too close to other numbers: only right after a context
    // word, which is part of the pattern so that the set does not fire on every digit run.
    name: 'phone_national', native: 'phone_national', type: 'phone', priority: 29, score: 0.6, check: phoneCheck, valueGroup: 1,
    // The greedy prefix `[^0-9\n]{0,24}` takes everything up to the first digit (an opening `(` too).
    locate: (c) => {
      while (!isDigit(codeAt(c, c.start))) c.start++;
    },
    pattern: '(?i:phone|tel|call|mobile|cell|fax|contact|whatsapp|sms|number|reach|dial|telefon|téléphone)[^0-9\\n]{0,24}(\\(?0[0-9]{1,4}\\)?(?:[ .-]?[0-9]{2,4}){2,4}|[0-9]{3} [0-9]{3} [0-9]{4}|[0-9]{10})',
    prefilter: '(?i:phone|tel|call|mobile|cell|fax|contact|whatsapp|sms|number|reach|dial|telefon|téléphone)',
  },
];
