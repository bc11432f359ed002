import { inspect } from 'node:util';
import t from 'tap';
import { createRedactor, privacySchema } from '../../redact/index.js';
import type { PrivacyConfig } from '../../redact/index.js';

const KEY = Buffer.alloc(32, 7);
const CARD = '4111 1111 1111 1111';

function redactor(cfg: PrivacyConfig) {
  const r = createRedactor(privacySchema.parse(cfg), { hmacKey: KEY });
  return r;
}

t.test('pseudonymize: stable within a vault, distinct per original, numbered per type', async (t) => {
  const r = redactor({});
  t.teardown(() => r.close());
  const v = r.vault('conv');
  const a = r.redactText('mail a@example.com, then b@example.com, again a@example.com; card 4111 1111 1111 1111', v);
  t.equal(a.text, 'mail <EMAIL_1>, then <EMAIL_2>, again <EMAIL_1>; card <CREDIT_CARD_1>');
  t.same(a.counts, { email: 3, credit_card: 1 });
  t.same(a.blocked, []);
  const b = r.redactText('b@example.com wrote to c@example.com', v);
  t.equal(b.text, '<EMAIL_2> wrote to <EMAIL_3>', 'the next turn reuses and extends the same numbering');
  const other = r.redactText('b@example.com', r.vault('other'));
  t.equal(other.text, '<EMAIL_1>', 'another conversation numbers from 1');
  t.equal(r.restoreText('<EMAIL_2> and <EMAIL_3> and <EMAIL_9>', v), 'b@example.com and c@example.com and <EMAIL_9>', 'unknown placeholders stay');
});

t.test('mask keeps the last four of numbers, hides everything in others', async (t) => {
  const r = redactor({ mode: 'mask' });
  t.teardown(() => r.close());
  const out = r.redactText(`card ${CARD}, mail jo@ex.com, ssn 123-45-6789`, r.vault('m'));
  t.equal(out.text, 'card **** **** **** 1111, mail **@**.***, ssn ***-**-6789');
});

t.test('hash is a keyed HMAC: stable, per key, outside the placeholder grammar', async (t) => {
  const r1 = redactor({ mode: 'hash' });
  const r2 = createRedactor({ mode: 'hash' }, { hmacKey: Buffer.alloc(32, 8) });
  t.teardown(() => (r1.close(), r2.close()));
  const h1 = r1.redactText('a@example.com', r1.vault('x')).text;
  t.match(h1, /^<EMAIL#[0-9a-f]{16}>$/);
  t.equal(r1.redactText('a@example.com', r1.vault('y')).text, h1, 'same value, same hash, any conversation');
  t.not(r2.redactText('a@example.com', r2.vault('x')).text, h1, 'another key, another hash');
  t.equal(r1.restoreText(h1, r1.vault('x')), h1, 'never restored');
});

t.test('remove and block, per type, with groups', async (t) => {
  const r = redactor({ operators: { email: 'remove', secrets: 'block' } });
  t.teardown(() => r.close());
  const out = r.redactText('x a@example.com y AKIAZ2R7Q3M5N6P4T7XY z 203.0.113.9', r.vault('b'));
  t.equal(out.text, 'x  y ******************** z <IP_ADDRESS_1>');
  t.same(out.blocked, ['aws_access_key']);
  t.same(out.counts, { email: 1, aws_access_key: 1, ip_address: 1 });
});

t.test('allow-list values are never redacted (case-insensitive)', async (t) => {
  const r = redactor({ allow: ['Support@Example.com'] });
  t.teardown(() => r.close());
  t.equal(r.redactText('support@example.com and me@example.com', r.vault('a')).text, 'support@example.com and <EMAIL_1>');
});

t.test('placeholders typed by the user are not confused with ours', async (t) => {
  const r = redactor({});
  t.teardown(() => r.close());
  const v = r.vault('p');
  const out = r.redactText('my literal <EMAIL_1> and real a@example.com', v);
  t.equal(out.text, 'my literal <PLACEHOLDER_1> and real <EMAIL_1>');
  t.same(out.counts, { email: 1 }, 'look-alikes are not counted as entities');
  t.equal(r.restoreText(out.text, v), 'my literal <EMAIL_1> and real a@example.com', 'each comes back as it was');
  const masked = redactor({ mode: 'mask' });
  t.teardown(() => masked.close());
  t.equal(masked.redactText('<EMAIL_1>', masked.vault('q')).text, '<EMAIL_1>', 'without pseudonyms nothing can be confused');
});

t.test('custom recognizers: pattern, validator, context, score', async (t) => {
  const r = redactor({
    redact: ['email'],
    recognizers: [
      { name: 'employee_id', pattern: 'EMP-[0-9]{6}' },
      { name: 'account', pattern: '[0-9]{12,19}', validator: 'luhn' },
      { name: 'badge', pattern: '(?i)b[0-9]{4}', context: ['badge'], score: 0.3 },
    ],
  });
  t.teardown(() => r.close());
  const out = r.redactText('EMP-123456 acct 4111111111111111 and 4111111111111112; b1234; badge B5678; x@example.com', r.vault('c'));
  t.equal(out.text, '<EMPLOYEE_ID_1> acct <ACCOUNT_1> and 4111111111111112; b1234; badge <BADGE_1>; <EMAIL_1>');
});

t.test('a disabled redactor (no privacy section) changes nothing', async (t) => {
  const r = createRedactor(undefined);
  t.teardown(() => r.close());
  t.equal(r.enabled, false);
  const body = { messages: [{ role: 'user', content: 'a@example.com' }] };
  t.same(r.redactLlmRequest('openai-chat', body, r.vault('k')), { counts: {}, blocked: [] });
  t.equal(body.messages[0]!.content, 'a@example.com');
  t.equal(r.egressMode, 'block', 'egress DLP still defaults to block');
});

t.test('schema: re2-incompatible and empty-matching patterns are errors at the pattern path', async (t) => {
  const bad = privacySchema.safeParse({ recognizers: [{ name: 'x', pattern: '(a)\\1' }, { name: 'y', pattern: 'a*' }, { name: 'z', pattern: '(?<=a)b' }] });
  t.notOk(bad.success);
  const paths = bad.error!.issues.map((i) => i.path.join('.'));
  t.same(paths, ['recognizers.0.pattern', 'recognizers.1.pattern', 'recognizers.2.pattern']);
  t.match(bad.error!.issues[0]!.message, /re2 cannot compile/);
  t.match(bad.error!.issues[1]!.message, /empty string/);
});

t.test('schema: unknown types, unknown keys, clashing names', async (t) => {
  const bad = privacySchema.safeParse({ redact: ['email', 'emali'], operators: { phnoe: 'mask' }, egress: { types: ['nope'] }, extra: 1 });
  t.notOk(bad.success);
  const paths = bad.error!.issues.map((i) => i.path.join('.'));
  t.ok(paths.includes(''), 'unknown top-level key (strict object)');
  const refined = privacySchema.safeParse({ redact: ['email', 'emali'], operators: { phnoe: 'mask' }, egress: { types: ['nope'] } });
  t.same(refined.error!.issues.map((i) => i.path.join('.')), ['redact.1', 'operators.phnoe', 'egress.types.0']);
  t.notOk(privacySchema.safeParse({ recognizers: [{ name: 'email', pattern: 'x' }] }).success, 'a custom name may not shadow a built-in');
  t.notOk(privacySchema.safeParse({ recognizers: [{ name: 'a', pattern: 'x' }, { name: 'a', pattern: 'y' }] }).success, 'duplicates');
  t.ok(privacySchema.safeParse({ redact: 'all', mode: 'pseudonymize', operators: { credit_card: 'mask', private_key: 'block', api_key: 'hash' } }).success);
});

t.test('vaults never print their originals', async (t) => {
  const r = redactor({});
  t.teardown(() => r.close());
  const v = r.vault('secret-conv');
  r.redactText('a@example.com AKIAZ2R7Q3M5N6P4T7XY', v);
  const printed = [JSON.stringify(v), inspect(v), inspect({ nested: v }, { depth: 5 }), String(Object.values(v))];
  for (const p of printed) {
    t.notMatch(p, /a@example\.com/);
    t.notMatch(p, /AKIAZ2R7Q3M5N6P4T7XY/);
  }
});
