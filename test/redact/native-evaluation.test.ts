import { isIPv6 } from 'node:net';
import t from 'tap';
import type { Test } from 'tap';
import { BUILTIN_RECOGNIZERS, CODE_REFERENCE, IPV6_ADDRESS, PLACEHOLDER_PATTERN, PLACEHOLDER_PREFILTER, PLACEHOLDER_VALUES, VERSION_BEFORE } from '../../redact/builtin-recognizers.js';
import { createDetector } from '../../redact/detector.js';
import type { Detector, DetectorOptions, Span } from '../../redact/detector.js';
import { VERDICT_JS, VERDICT_SETTLED, native, nativeEvaluation } from '../../redact/native-collector.js';
import type { NativeCollector, NativeEvaluation } from '../../redact/native-collector.js';
import type { Recognizer } from '../../redact/recognizer.js';
import { customRecognizer } from '../../redact/custom-recognizers.js';

// The C++ collector evaluates the built-ins' matches itself (redact/native/checks.cc: locate, checks, context words,
// threshold, allow-list, overlaps) and hands a text back to JavaScript's evaluation when something in it is not
// plain ASCII where a check looks. Each test below aims at one place where the two could part, and every text goes
// through both detectors: the spans must be identical. A spy on the addon counts which way each text went, so that
// both ways are known to have been taken.

const skip = native.collector ? false : native.reason;
const builtins: Recognizer[] = [
  ...BUILTIN_RECOGNIZERS,
  { name: 'placeholder', type: 'placeholder', pattern: PLACEHOLDER_PATTERN, prefilter: PLACEHOLDER_PREFILTER, score: 1, priority: 200 },
];

let seed = 11;
const rand = (n: number) => Math.floor(((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * n);
const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)]!;
const join = (pool: readonly string[], count: number) => Array.from({ length: count }, () => pick(pool)).join('');

/** How the texts went: settled in C++, or (some match undecided there) evaluated in JavaScript. */
const ways = { settled: 0, javascript: 0 };
if (native.collector) {
  const collector = native.collector as { -readonly [K in keyof NativeCollector]: NativeCollector[K] };
  const collect = collector.collect.bind(collector);
  collector.collect = (engine, bytes, out, utf16) => {
    const count = collect(engine, bytes, out, utf16);
    if (count > 0 && 4 * count <= out.length) {
      if (out[3]! >= VERDICT_SETTLED) ways.settled++;
      else if (Array.from({ length: count }, (_, k) => out[4 * k + 3]).includes(VERDICT_JS)) ways.javascript++;
    }
    return count;
  };
}

function pair(options: Partial<DetectorOptions> = {}): [native: Detector, js: Detector] {
  const o: DetectorOptions = { recognizers: builtins, threshold: 0.5, allow: [], ...options };
  return [createDetector(o), createDetector({ ...o, jsCollector: true })];
}

/** Every text through both detectors; the first few differences reported in full. Returns the spans found. */
function same(t: Test, [n, js]: [Detector, Detector], texts: readonly string[], what: string): Span[] {
  let differences = 0;
  const found: Span[] = [];
  for (const text of texts) {
    const expected = js.detect(text);
    found.push(...expected);
    const got = n.detect(text);
    if (JSON.stringify(got) === JSON.stringify(expected)) continue;
    if (++differences <= 3) t.same(got, expected, `${what}: ${JSON.stringify(text)}`);
  }
  t.equal(differences, 0, `${what}: ${texts.length} texts, the same spans`);
  return found;
}

t.test('IPv4 addresses after version words, operators and blanks, ASCII or not, at any distance from the window', { skip }, async (t) => {
  const before = ['version', 'Version ', 'ver.', 'VER', 'release', 'released', 'build', 'rev', 'Chrome/', 'firefox', 'safari', 'section', 'chapter', '§', '§ ',
    'v', 'V', 'xv', '1v', '-v', 'kv', '>=', '==', '~=', '<=', '!=', '= =', '=', ':', '/', ' ', '\t', '\v', '\u00a0', '\u2003', 'É', 'İ', '\u212a', '😀', 'ß', 'a', '.', '-'];
  const ips = ['10.1.2.3', '192.168.0.1', '8.8.8.8', '127.0.0.1', '255.255.255.0', '0.0.0.0', '10.0.0.256', '01.2.3.4', '1.2.3.4.5'];
  const texts: string[] = [];
  for (let run = 0; run < 3000; run++) texts.push(`${join(before, rand(5))}${pick(ips)}${rand(3) === 0 ? join(before, 2) : ' '}`);
  // every distance from a character that is not ASCII to the value, around the 12 characters read
  for (let gap = 0; gap <= 14; gap++) for (const x of ['É', 'İ', '\u212a', '😀', '\u00a0']) for (const w of ['', 'v', 'ver', '>=']) texts.push(`${x}${'-'.repeat(gap)}${w}10.1.2.3`);
  const found = same(t, pair(), texts, 'version windows');
  const kept = found.filter((s) => s.type === 'ip_address').length;
  t.ok(kept > 300, `addresses kept (${kept})`);
  t.ok(texts.filter((x) => VERSION_BEFORE.test(x.slice(0, 12).toLowerCase())).length > 100, 'and addresses read as versions');
});

t.test('context words, a threshold above the score, allow-lists: ASCII and not', { skip }, async (t) => {
  const words = ['phone', 'PHONE', 'Tel:', 'téléphone', 'TÉLÉPHONE', 'call me', 'card', 'CREDIT', 'visa', 'ip', 'host', 'ſerver', 'cell', 'fax', 'K', '\u212a', 'number', ' ', ' - ', 'é', '😀'];
  const values = ['+1 415 555 0132', '(415) 555-0132', '4111 1111 1111 1111', '5555555555554444', '10.1.2.3', 'a@example.com', 'A@EXAMPLE.COM', 'user@example.org', '2001:db8::1'];
  const texts = Array.from({ length: 1500 }, () => `${join(words, rand(4))}${'x'.repeat(rand(60))}${join(words, rand(3))} ${pick(values)} ${join(words, 1)}`);
  for (const threshold of [0.5, 0.65, 0.8, 0.9, 1.2]) {
    const found = same(t, pair({ threshold }), texts, `threshold ${threshold}`);
    if (threshold === 0.8) t.ok(found.some((s) => s.score > 0.9 && s.type === 'phone'), 'a context word raised a score');
  }
  same(t, pair({ allow: ['a@example.com', 'A@Example.com', '10.1.2.3', 'é@example.com', '\u212a'] }), texts, 'allow-list');
});

t.test('JWTs: headers that are JSON objects naming alg, or not, or no JSON at all', { skip }, async (t) => {
  const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64url');
  const headers = [
    '{"alg":"HS256"}', '{"alg":"none","typ":"JWT"}', ' { "typ" : "JWT" , "alg" : 1 } ', '{"\\u0061lg":"x"}', '{"al\\u0067":null}', '{"ALG":"HS256"}',
    '{"alg2":1}', '{"x":{"alg":1}}', '{"x":[1,2,{"alg":3}],"y":true}', '{"alg":"a","alg":"b"}', '["alg"]', '"alg"', 'null', '{}', '{"alg":}',
    '{"alg":"x",}', '{"alg":"x"} x', '{"alg":"\u0001"}', '{"alg":"\\x"}', '{"alg":-0.5e+3,"n":[true,false,null]}', '{"alg":01}', '{"alg":1.}',
    '{"alg":"é😀"}', '{"é":1,"alg":2}', '{"alg":"\\uD800"}', '{"a":"\\"","alg":0}', '{\n"alg"\t:\r"x"\n}', '{"alg":"x"', '{"alg"}', '\ufeff{"alg":1}',
  ];
  const payload = b64('{"sub":"1234567890","name":"Jane"}');
  const texts: string[] = [];
  for (const h of headers) {
    for (const raw of [Buffer.from(h), Buffer.concat([Buffer.from(h), Buffer.of(0xff, 0x22)]), Buffer.concat([Buffer.of(0xc3), Buffer.from(h)])]) {
      const header = b64(raw);
      if (!header.startsWith('eyJ')) continue;
      for (const cut of [0, 1, 2, 3]) texts.push(`token ${header.slice(0, header.length - cut)}.${payload}.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c end`);
    }
  }
  for (let run = 0; run < 1500; run++) {
    const h = `{${Array.from({ length: 1 + rand(3) }, () => `${pick(['"alg"', '"typ"', '"\\u0061lg"', '"kid"', '"al"'])}${pick([':', ' : ', ''])}${pick(['"HS256"', '1', 'null', '[1,{"alg":2}]', '{"alg":1}', 'tru', '"\\q"'])}`).join(pick([',', ', ', ',,']))}${pick(['}', ' }', '', '}}'])}`;
    const header = b64(h);
    if (header.startsWith('eyJ')) texts.push(`Bearer ${header}.${payload}.${b64(String(run)).padEnd(12, 'A')}`);
  }
  const found = same(t, pair(), texts, 'JWT headers');
  const kept = found.filter((s) => s.type === 'jwt').length;
  t.ok(kept > 100 && texts.length - kept > 100, `JWTs kept (${kept}) and refused (${texts.length - kept})`);
});

t.test('IPv6: the grammar the checks share with net.isIPv6, and the values around it', { skip }, async (t) => {
  const groups = ['0', '1', 'db8', '2001', 'fe80', 'FFFF', 'abcd', '00000', 'g1', ''];
  const v4 = ['1.2.3.4', '127.0.0.1', '0.0.0.0', '01.2.3.4', '256.1.1.1', '1.2.3'];
  const candidates: string[] = ['::', '::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '::127.0.0.1', '1::', 'fe80::1%eth0', 'std::vector', 'a::b'];
  for (let run = 0; run < 4000; run++) {
    const parts = Array.from({ length: 1 + rand(9) }, () => pick(groups));
    let s = parts.join(':');
    if (rand(3) === 0) s += `:${pick(v4)}`;
    if (rand(4) === 0) s = s.replace(':', '::');
    candidates.push(s);
  }
  let disagreements = 0;
  for (const c of candidates) if (IPV6_ADDRESS.test(c) !== isIPv6(c) && !c.includes('%')) disagreements++;
  t.equal(disagreements, 0, `IPV6_ADDRESS says what net.isIPv6 says (${candidates.length} strings, zone ids aside)`);
  const found = same(t, pair(), candidates.map((c) => `addr ${c} ok, [${c}]:443 and ${c}.`), 'IPv6 values');
  t.ok(found.filter((s) => s.type === 'ip_address').length > 500, 'addresses kept');
});

t.test('generic secrets: entropy near the bar, placeholders, code references, lengths at the limits', { skip }, async (t) => {
  const values = ['xxxxxxxx', 'XXXXxxxx', '********', '........', 'changeme', 'CHANGE_ME', 'password123', 'Password', 'example_token_1', 'EXAMPLE', 'your-api-key-here',
    'your_token', '<your-token>', '${API_KEY}', '{{secret}}', '%(pw)s', 'redacted', 'process.env.API_KEY', 'os.environ', 'config.apiKey', 'self.token', 'settings',
    'settingsX1', 'API_KEY_VALUE', 'A.B.C', 'a.b', '$x.y', 'hunter2hunter2', 'Tr0ub4dor&3', 'correcthorsebatterystaple', 'aaaaaaaaaaaaaaaa1', 'abcabcabcabc12',
    'q8Zr2LmX9vT4', 'Zq8v7Lm2Xw9Tb4Nc', 'Ab1!Ab1!Ab1!', '1234567', '12345678', 'x'.repeat(200), `a1${'Zq8v'.repeat(50)}`, `a1${'Zq8v'.repeat(49)}b2c`];
  const keys = ['password', 'PASSWORD', 'passwd', 'api_key', 'apiKey', 'access-token', 'client_secret', 'credentials', 'token', 'paſſword', 'api_\u212aey'];
  const ops = ['=', ': ', ' := ', '=>', ' = "', "='", ':`'];
  const texts: string[] = [];
  for (let run = 0; run < 3000; run++) {
    let v = pick(values);
    if (rand(3) === 0) v = Array.from(v, (ch) => (rand(5) === 0 ? pick([...'aZ9_-+/.!@#']) : ch)).join(''); // near misses, mixed alphabets
    texts.push(`${pick(keys)}${pick(['', '_prod', '.x'])}${pick(ops)}${v}${pick(['', '"', ' ', '\n', ';'])}`);
  }
  const found = same(t, pair(), texts, 'assignments');
  const kept = found.filter((s) => s.type === 'generic_secret').length;
  t.ok(kept > 500 && kept < texts.length - 500, `some kept, some refused (${kept} of ${texts.length})`);
  t.ok(values.some((v) => PLACEHOLDER_VALUES.test(v)) && values.some((v) => CODE_REFERENCE.test(v)), 'placeholders and code references among them');
});

t.test('phone numbers with extensions, card and SSN separators, IBAN lengths, e-mails after dots', { skip }, async (t) => {
  const pieces = ['+1 415 555 0132', '+44 20 7946 0958 x12', '(415) 555-0132 ext. 7', '415-555-0132 EXT 12', '+1 415 555 0132 x 1234', '1-800-555-0199',
    '+49 30 1111111', '+1 111 111 1111', '+1 111 111 1111 x 2', '+1 111 111 1111 ext 2', '+1 415 555 0132 ext 12345', '+1 415 555 0132 EXT. 54321',
    '+1 415 555 0132 x12345', '(415) 555-0132 ext.12345', '4111 1111 1111 1111', '4111-1111 1111-1111', '3782 822463 10005', '123-45-6789', '123 45 6789', '123-45 6789',
    '078-05-1120', 'DE89 3704 0044 0532 0130 00', 'DE89370400440532013000', 'GB82 WEST 1234 5698 7654 32', 'FR14 2004 1010 0505 0001 3M02 606', 'XX12 3456 7890 1234',
    '..a@example.com', '.a.b@example.co', 'a@b.c', 'phone: 030 1234567', 'tel 0049 30 12345', ' ', '\n', 'x', '.', '-', '/', 'é'];
  const texts = Array.from({ length: 3000 }, () => join(pieces, 1 + rand(6)));
  const found = same(t, pair(), texts, 'numbers');
  for (const type of ['phone', 'credit_card', 'us_ssn', 'iban', 'email']) t.ok(found.some((s) => s.type === type), `${type} found`);
});

t.test('overlaps: candidates under spans of higher priority, wholly or partly, and ties within a level', { skip }, async (t) => {
  const pieces = ['password=', 'token: ', 'https://', 'user:', 'p4ssW0rd', '@', 'example.com', 'a@b.io', 'sk-ant-api03-', 'sk-', 'ghp_', 'AIza', 'x'.repeat(4),
    'Zq8v7Lm2Xw9Tb4NcZq8v7Lm2Xw9Tb4NcZq8v7Lm2Xw9', '4111111111111111', '10.0.0.1', '::1', '2001:db8::8a2e:370:7334', '.', '..', ' ', '/', '-', '_', '"', '\n'];
  const texts = Array.from({ length: 4000 }, () => join([...pieces, '<EMAIL_1>', '<IP_ADDRESS_12>', '<X_1', '_2>'], 2 + rand(10)));
  same(t, pair(), texts, 'overlaps');
  same(t, pair({ chunkSize: 7 }), texts.slice(0, 1000), 'overlaps, 7-byte chunks');
  // As the redactor has it: placeholder look-alikes evaluated in C++ too (no check), so that they do not send
  // every text they appear in back to JavaScript.
  const placeholder = builtins.at(-1)!;
  const found = same(t, pair({ recognizers: [...builtins.slice(0, -1), { ...placeholder, native: 'none' }] }), texts, 'overlaps, placeholders in C++');
  t.ok(found.some((s) => s.type === 'placeholder'), 'placeholder look-alikes found');
});

t.test('custom recognizers with literal leads, required literals, assertions and case folding', { skip }, async (t) => {
  const custom: Recognizer[] = [
    { name: 'lead', type: 'lead', pattern: 'abc[d-f]+', score: 0.9, priority: 65 },
    { name: 'repeat', type: 'repeat', pattern: 'aab[0-9]{2}', score: 0.9, priority: 65 },
    { name: 'needs', type: 'needs', pattern: '[a-z]+#[0-9]+!', score: 0.9, priority: 65 },
    { name: 'bounded', type: 'bounded', pattern: '\\bzed[0-9]{2}\\b', score: 0.9, priority: 65 },
    { name: 'folded', type: 'folded', pattern: 'KEY-[0-9]{3}', flags: 'i', score: 0.9, priority: 65 },
    { name: 'alt', type: 'alt', pattern: 'pre(?:fix|view)-[0-9]', score: 0.9, priority: 65 },
    { name: 'overlapping', type: 'overlapping', pattern: 'xyx[0-9]', score: 0.9, priority: 65 }, // a lead that overlaps itself
  ];
  const pieces = ['abc', 'abcd', 'abcx', 'def', 'aab', 'aaab12', 'aab1', 'x#1!', 'ab#12', '#', '!', 'zed12', 'xzed12', 'zed123', 'key-123', 'KEY-12', 'ǩey-123',
    '\u212aEY-123', 'prefix-1', 'preview-2', 'pre-3', 'xyxyx1', 'xyx', 'yx2', ' ', '\n', '0', 'é'];
  const texts = Array.from({ length: 3000 }, () => join(pieces, 2 + rand(12)));
  for (const chunkSize of [3, 64]) {
    const found = same(t, pair({ recognizers: [...builtins, ...custom], chunkSize }), texts, `chunk ${chunkSize}`);
    for (const r of custom) t.ok(found.some((s) => s.type === r.type), `${r.type} found`);
  }
});

t.test('custom recognizers from a policy: evaluated in C++ without a validator, in JavaScript with one', { skip }, async (t) => {
  const custom = [
    customRecognizer({ name: 'employee_id', pattern: 'EMP-[0-9]{6}', context: ['employee', 'Mitarbeiter', 'salarié'], score: 0.4 }),
    customRecognizer({ name: 'ticket', pattern: 'TCK[0-9]{4}' }),
    customRecognizer({ name: 'nationalid', pattern: '[0-9]{3}-[0-9]{2}-[0-9]{4}', validator: 'us_ssn' }),
    customRecognizer({ name: 'acct', pattern: '[0-9]{12,16}', validator: 'luhn' }),
  ];
  t.equal(custom[0]!.native, 'none');
  t.equal(custom[2]!.native, undefined);
  const pieces = ['EMP-123456', 'TCK1234', 'employee ', 'EMPLOYEE: ', 'salarié ', 'SALARIÉ ', 'Mitarbeiter ', '123-45-6789', '000-12-3456', '4111111111111111', '4111111111111112',
    'tck1234', 'x', ' ', '\n', 'é'];
  const texts = Array.from({ length: 2000 }, () => join(pieces, 2 + rand(8)));
  for (const threshold of [0.3, 0.5]) {
    const found = same(t, pair({ recognizers: [...builtins.slice(0, -1), ...custom], threshold }), texts, `threshold ${threshold}`);
    for (const type of ['employee_id', 'ticket', 'nationalid', 'acct']) t.ok(found.some((s) => s.type === type), `${type} found`);
  }
});

t.test('both ways were taken: texts settled in C++, and texts handed back to JavaScript', { skip }, async (t) => {
  t.ok(ways.settled > 1000, `settled in C++: ${ways.settled}`);
  t.ok(ways.javascript > 100, `evaluated in JavaScript: ${ways.javascript}`);
});

t.test('the addon refuses a malformed evaluation with a clear error', { skip }, async (t) => {
  const c = native.collector!;
  const good = nativeEvaluation([builtins[0]!], [0], 0.5, new Set());
  const compile = (evaluation: unknown) => () => c.compile(['a'], [0], [0], [], [], 64, evaluation as NativeEvaluation);
  t.ok(compile(good)(), 'a well-formed one compiles');
  const { checks: _, ...noChecks } = good;
  t.throws(compile(noChecks), /has no checks/);
  t.throws(compile({ ...good, scores: [] }), /one check, level, score and context per recognizer/);
  t.throws(compile({ ...good, checks: [99] }), /no such check/);
  t.throws(compile({ ...good, levels: [5] }), /a level is a rank/);
  t.throws(compile({ ...good, window: -1 }), /negative context window/);
  t.throws(compile({ ...good, ibanLengths: [['D', 22]] }), /two capital letters/);
  t.throws(compile({ ...good, ibanLengths: [['DE']] }), /\[country, length\]/);
  t.throws(compile({ ...good, notSecret: '(' }), /re2 rejected the evaluation's notSecret/);
  t.throws(compile({ ...good, kLogK: new Float64Array(3) }), /wrong length of kLogK/);
  t.throws(compile({ ...good, log2: [1, 2] }), /Float64Array/);
});
