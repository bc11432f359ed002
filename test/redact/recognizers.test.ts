import t from 'tap';
import { createRedactor } from '../../redact/index.js';

const r = createRedactor({});
t.teardown(() => r.close());

/** The (type, value) pairs found in a text, placeholders excluded. */
const found = (text: string) => r.detect(text).filter((s) => s.type !== 'placeholder').map((s) => [s.type, text.slice(s.start, s.end)]);

const ALNUM36 = 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8';

// [type, text, value] — the value must be found with exactly this type and extent.
const POSITIVES: Array<[string, string, string]> = [
  ['email', 'write to jane.doe+tag@mail.example.co.uk today', 'jane.doe+tag@mail.example.co.uk'],
  ['email', 'José <jose@exämple-free.org>? no: jose@example.org.', 'jose@example.org'],
  ['phone', 'call +1 415 555 0132 now', '+1 415 555 0132'],
  ['phone', 'E.164: +447946095812', '+447946095812'],
  ['phone', 'office (212) 555-0147 x23', '(212) 555-0147 x23'],
  ['phone', 'cell 1-800-555-0199', '1-800-555-0199'],
  ['phone', 'Tel: 030 1234567', '030 1234567'],
  ['credit_card', 'visa 4111 1111 1111 1111 exp', '4111 1111 1111 1111'],
  ['credit_card', 'mc 5555-5555-5555-4444', '5555-5555-5555-4444'],
  ['credit_card', 'amex 378282246310005', '378282246310005'],
  ['credit_card', 'diners 3056 930902 5904', '3056 930902 5904'],
  ['us_ssn', 'ssn 123-45-6789.', '123-45-6789'],
  ['us_ssn', 'SSN: 234567891', '234567891'],
  ['iban', 'IBAN DE89 3704 0044 0532 0130 00 thanks', 'DE89 3704 0044 0532 0130 00'],
  ['iban', 'to GB29NWBK60161331926819.', 'GB29NWBK60161331926819'],
  ['ip_address', 'from 203.0.113.9:443', '203.0.113.9'],
  ['ip_address', 'peer 2001:db8:85a3::8a2e:370:7334 up', '2001:db8:85a3::8a2e:370:7334'],
  ['ip_address', 'mapped ::ffff:198.51.100.7 here', '::ffff:198.51.100.7'],
  ['url_credentials', 'DSN postgres://app:s3cr3t@db.internal:5432/x', 'app:s3cr3t'],
  ['aws_access_key', 'key AKIAZ2R7Q3M5N6P4T7XY end', 'AKIAZ2R7Q3M5N6P4T7XY'],
  ['aws_access_key', 'ASIAQWERTYUIOPASDFGH', 'ASIAQWERTYUIOPASDFGH'],
  ['aws_secret_key', 'aws_secret_access_key = "9drTJvcXLB89EXAMPLEkQZKf/3bY8pO+rA2sT1uV"', '9drTJvcXLB89EXAMPLEkQZKf/3bY8pO+rA2sT1uV'],
  ['github_token', `token ghp_${ALNUM36}`, `ghp_${ALNUM36}`],
  ['github_token', `gho_${ALNUM36} ghs_${ALNUM36}`, `gho_${ALNUM36}`],
  ['github_token', `ghu_${ALNUM36}`, `ghu_${ALNUM36}`],
  ['github_token', `ghr_${ALNUM36}`, `ghr_${ALNUM36}`],
  ['github_token', `github_pat_${'A1b2_C3d4E'.repeat(8)}xy`, `github_pat_${'A1b2_C3d4E'.repeat(8)}xy`],
  ['openai_key', `sk-proj-${'Ab3_-Cd4Ef'.repeat(6)}`, `sk-proj-${'Ab3_-Cd4Ef'.repeat(6)}`],
  ['openai_key', `OPENAI_API_KEY=sk-${'aB3dE5gH7j'.repeat(2)}T3BlbkFJ${'kL9mN1pQ3r'.repeat(2)}`, `sk-${'aB3dE5gH7j'.repeat(2)}T3BlbkFJ${'kL9mN1pQ3r'.repeat(2)}`],
  ['anthropic_key', `x-api-key: sk-ant-api03-${'Zx9_Yw8-Vu'.repeat(9)}abcAA`, `sk-ant-api03-${'Zx9_Yw8-Vu'.repeat(9)}abcAA`],
  ['slack_token', 'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx', 'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx'],
  ['slack_token', 'xoxp-1234567890-abcdefABCDEF', 'xoxp-1234567890-abcdefABCDEF'],
  ['stripe_key', 'sk_live_4eC39HqLyjWDarjtT1zdp7dc', 'sk_live_4eC39HqLyjWDarjtT1zdp7dc'],
  ['stripe_key', 'rk_live_51H8zXyAbCdEfGhIjKlMn', 'rk_live_51H8zXyAbCdEfGhIjKlMn'],
  ['google_api_key', 'key=AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q&x', 'AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q'],
  [
    'jwt',
    'Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
    'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
  ],
  ['private_key', 'k:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAK==\n-----END RSA PRIVATE KEY-----\nbye', '-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAK==\n-----END RSA PRIVATE KEY-----'],
  ['private_key', '-----BEGIN ENCRYPTED PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: DES-EDE3-CBC,AB12\n\nMIIE\n-----END ENCRYPTED PRIVATE KEY----- thanks', '-----BEGIN ENCRYPTED PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: DES-EDE3-CBC,AB12\n\nMIIE\n-----END ENCRYPTED PRIVATE KEY-----'],
  ['generic_secret', 'password=Tr0ub4dor&3xK9!', 'Tr0ub4dor&3xK9!'],
  ['generic_secret', '"client_secret": "8f14e45fceea167a5a36dedd4bea2543"', '8f14e45fceea167a5a36dedd4bea2543'],
  ['generic_secret', "API_KEY: 'Zq8vN2xL7pR4tY6wB1cE3gH5'", 'Zq8vN2xL7pR4tY6wB1cE3gH5'],
];

// Near misses: nothing may be found.
const NEGATIVES: Array<[string, string]> = [
  ['email', 'decorators @Override and handles @alice, path node_modules/@types/x'],
  ['email', 'not an email: user@localhost or a@b'],
  ['phone', 'timeout = 1234567890; retries 3'],
  ['phone', 'dates 2024-01-15 and 15.01.2024, price 1,299.99'],
  ['phone', 'build 555-1234 of 7 items'],
  ['credit_card', 'order 4111 1111 1111 1112 (fails Luhn)'],
  ['credit_card', 'id 1234567812345670 (passes Luhn, no brand)'],
  ['credit_card', 'mixed 4111-1111 1111.1111'],
  ['us_ssn', 'never issued: 000-12-3456 666-12-3456 912-34-5678 123-00-4567 123-45-0000'],
  ['us_ssn', 'bare nine digits 234567891 without context'],
  ['us_ssn', 'mixed separators 123-45 6789'],
  ['iban', 'wrong check digits DE00 3704 0044 0532 0130 00 and GB30NWBK60161331926819'],
  ['iban', 'unknown country ZZ89 3704 0044 0532 0130 00'],
  ['ip_address', 'upgraded to v1.2.3.4; version 10.0.19041.1; Chrome/120.0.6099.109'],
  ['ip_address', 'OID 1.3.6.1.4.1.311 and 256.1.1.1 and 01.2.3.4'],
  ['ip_address', 'listen 0.0.0.0 and 127.0.0.1, mask 255.255.255.0, ::1'],
  ['ip_address', 'std::vector<int> a::b MAC 00:1a:2b:3c:4d:5e at 12:30:45'],
  ['url_credentials', 'https://user@host/x and https://host:8080/a@b and postgres://u:${PASS}@db/x'],
  ['aws_access_key', 'AKIA1234567 AKIAIOSFODNN7 XAKIAZ2R7Q3M5N6P4T7XYZ'],
  ['aws_secret_key', 'sha 9fceb02d0ae598e95dc970b74767f19372d61af8 (no aws context)'],
  ['github_token', `ghp_short gho_XYZ ghp_${ALNUM36}X9`],
  ['openai_key', 'sk-1234 and sk-proj-tiny'],
  ['anthropic_key', `sk-ant-api03-short and sk-ant-${'a'.repeat(40)} and sk-ant-api03-${'x'.repeat(40)}=`],
  ['slack_token', 'xoxb-notatoken and xoxz-1234567890-abc'],
  ['stripe_key', 'sk_live_123 and pk_live_4eC39HqLyjWDarjtT1zdp7dc'],
  ['google_api_key', 'AIzaShortKey'],
  ['jwt', 'eyJhbGciOi.eyJzdWIi.abc and eyJub3RhIjoiand0In0.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlMTIz'],
  ['private_key', '-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----'],
  ['generic_secret', 'password = os.environ["DB_PASSWORD"]; api_key: YOUR_API_KEY; token = process.env.GITHUB_TOKEN'],
  ['generic_secret', 'password: changeme; secret: ${SECRET}; max_tokens: 1024; token: <token>'],
  ['generic_secret', 'password = aaaaaaaaaaaa; api_key = 111111111111'],
];

t.test('each recognizer finds its positives with the right type and extent', async (t) => {
  for (const [type, text, value] of POSITIVES) {
    t.ok(found(text).some(([ty, v]) => ty === type && v === value), `${type}: ${JSON.stringify(value)} in ${JSON.stringify(text)}`, { found: found(text) });
  }
});

t.test('near misses are left alone', async (t) => {
  for (const [type, text] of NEGATIVES) t.same(found(text), [], `${type}: ${JSON.stringify(text)}`);
});

t.test('every built-in type has a positive and a negative case here', async (t) => {
  for (const type of r.types) {
    if (type === 'placeholder') continue;
    t.ok(POSITIVES.some(([ty]) => ty === type), `positive for ${type}`);
    t.ok(NEGATIVES.some(([ty]) => ty === type), `negative for ${type}`);
  }
});

t.test('context words lift weak candidates over the threshold', async (t) => {
  t.same(found('ref 030 1234567'), [], 'a national number without a context word');
  t.same(found('phone 030 1234567'), [['phone', '030 1234567']]);
  t.same(found('number 234567891'), [], 'bare nine digits need an SSN word');
  t.same(found('social security number: 234567891'), [['us_ssn', '234567891']]);
});

t.test('non-ASCII around entities keeps UTF-16 offsets right', async (t) => {
  const text = '😀 Zoë — ✉ zoe@example.se, 📞 +33 1 23 45 67 89, 日本 203.0.113.5';
  t.same(found(text), [
    ['email', 'zoe@example.se'],
    ['phone', '+33 1 23 45 67 89'],
    ['ip_address', '203.0.113.5'],
  ]);
});

t.test('overlaps resolve to the more specific recognizer', async (t) => {
  t.same(found(`GITHUB_TOKEN=ghp_${ALNUM36}`), [['github_token', `ghp_${ALNUM36}`]], 'not generic_secret');
  t.same(found(`https://x-access-token:ghp_${ALNUM36}@github.com/o/r`), [['github_token', `ghp_${ALNUM36}`]]);
  t.same(found('stripe.api_key = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"'), [['stripe_key', 'sk_live_4eC39HqLyjWDarjtT1zdp7dc']]);
});

t.test('the redact list limits types; groups expand', async (t) => {
  const only = createRedactor({ redact: ['email', 'api_key'] });
  t.teardown(() => only.close());
  const text = `a@example.com 4111 1111 1111 1111 ghp_${ALNUM36}`;
  t.same(only.detect(text).map((s) => s.type), ['email', 'github_token']);
  t.notOk(only.types.includes('credit_card'));
  t.ok(only.types.includes('aws_access_key'));
});

t.test('JS value locators agree with re2 capture groups', async (t) => {
  const { readFileSync } = await import('node:fs');
  const RE2 = (await import('re2')).default;
  const { BUILTIN_RECOGNIZERS } = await import('../../redact/builtin-recognizers.js');
  const corpus = readFileSync(new URL('./corpus/corpus.jsonl', import.meta.url), 'utf8');
  const extra = [
    'password=>Tr0ub4dor&3xK9!', 'secret:=Tr0ub4dor&3xK9!', 'api_key : " `Zq8vN2xL7pR4tY6wB1cE3gH5', 'token=:abcdef1234', 'pwd="=abc123def"',
    'phone: (030) 1234567', 'tel ((0)30 1234 567', 'call 0301234567', 'ssn: 234567891', 'aws "key" = 9drTJvcXLB89EXAMPLEkQZKf/3bY8pO+rA2sT1uV',
    'redis://default:a8F3kL9qZx2W@cache.internal', 'x+y.z://u.s-e_r:p@ss:w0rd!@h0st.example',
  ].join('\n');
  let checked = 0;
  for (const rec of BUILTIN_RECOGNIZERS.filter((r) => r.locate)) {
    const global = new RE2(rec.pattern, 'g');
    const single = new RE2(rec.pattern, 'd');
    for (const m of [...(corpus.match(global) ?? []), ...(extra.match(global) ?? [])]) {
      const range = single.exec(m)?.indices?.[rec.valueGroup!];
      // As the detector calls it: on the whole text, the candidate spanning the match.
      const text = `x${m}y`;
      const c = { text, start: 1, end: 1 + m.length };
      rec.locate!(c);
      t.same([c.start - 1, c.end - 1], range ? [range[0], range[1]] : undefined, `${rec.name}: ${JSON.stringify(m)}`);
      checked++;
    }
  }
  t.ok(checked > 100, `${checked} matches compared`);
});

t.test('long non-ASCII runs before entities keep UTF-16 offsets right (both offset maps)', async (t) => {
  // Up to 1 KiB of extra UTF-8 bytes the detector maps offsets through the non-ASCII characters, beyond
  // that through a table over every byte; surrogate pairs and lone surrogates are where they could drift.
  const runs = ['é'.repeat(500), '日本'.repeat(200), '😀'.repeat(200), '😀'.repeat(300), 'é😀\ud800日'.repeat(150), '\udc00'.repeat(600)];
  for (const run of runs) {
    const text = `${run} a@example.com ${run} 203.0.113.5 ${run}\n+33 1 23 45 67 89 ${run}`;
    t.same(found(text), [['email', 'a@example.com'], ['ip_address', '203.0.113.5'], ['phone', '+33 1 23 45 67 89']], `${run.slice(0, 6)}… (${Buffer.byteLength(run) - run.length} extra bytes per run)`);
  }
});

t.test('card and IBAN checks agree with the validators on random numbers', async (t) => {
  const { luhnValid, ibanValid } = await import('../../redact/index.js');
  const { cardBrandValid } = await import('../../redact/validators.js');
  let seed = 5;
  const rand = (n: number) => Math.floor(((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * n);
  const digits = (n: number) => Array.from({ length: n }, () => rand(10)).join('');
  let cards = 0;
  for (let run = 0; run < 3000; run++) {
    // Brand prefixes often enough that many pass the brand check, and a Luhn digit fixed up half the time.
    const prefix = ['4', '51', '2221', '34', '37', '6011', '65', '644', '622126', '3528', '36', '300', '62', '50', '9'][rand(15)]!;
    let d = prefix + digits(12 + rand(8) - prefix.length);
    if (rand(2) === 0) for (let k = 0; k < 10 && !luhnValid(d); k++) d = d.slice(0, -1) + String(k);
    const sep = ['', ' ', '-', ' '][rand(4)]!;
    const number = sep === '' ? d : d.match(/.{1,4}/g)!.join(sep);
    const text = `card ${number} ok`;
    const expected = luhnValid(d) && cardBrandValid(d);
    const found = r.detect(text).some((s) => s.type === 'credit_card' && text.slice(s.start, s.end) === number);
    if (found !== expected) t.fail(`${number}: found ${found}, validators say ${expected}`);
    if (expected) cards++;
  }
  t.ok(cards > 300, `valid cards among them (${cards})`);
  const ibans = ['DE89370400440532013000', 'GB82WEST12345698765432', 'FR1420041010050500013M02606', 'NL91ABNA0417164300'];
  let valid = 0;
  for (let run = 0; run < 2000; run++) {
    let iban = ibans[rand(ibans.length)]!;
    if (rand(2) === 0) {
      const at = 4 + rand(iban.length - 4);
      iban = iban.slice(0, at) + String(rand(10)) + iban.slice(at + 1); // often breaks the checksum
    }
    const spaced = rand(2) === 0 ? iban : iban.match(/.{1,4}/g)!.join(' ');
    const text = `IBAN ${spaced}.`;
    const found = r.detect(text).some((s) => s.type === 'iban' && text.slice(s.start, s.end) === spaced);
    if (found !== ibanValid(iban)) t.fail(`${spaced}: found ${found}, ibanValid ${ibanValid(iban)}`);
    if (found) valid++;
  }
  t.ok(valid > 900 && valid < 2000, `valid and invalid IBANs both seen (${valid} valid)`);
});
