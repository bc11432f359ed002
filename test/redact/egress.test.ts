import t from 'tap';
import { createRedactor } from '../../redact/index.js';
import type { EgressFinding } from '../../redact/index.js';

const r = createRedactor(undefined);
t.teardown(() => r.close());

const GH = 'ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8';
const AWS = 'AKIAZ2R7Q3M5N6P4T7XY';
const PEM = '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIIrYSSNQFaA2Hwf1duRSxKtLYX5CB04fSeQ6tF1aY/PuoAoGCCqGSM49\n-----END EC PRIVATE KEY-----';

function scanAll(chunks: Array<Buffer | string>): EgressFinding[] {
  const s = r.createEgressScanner();
  const out: EgressFinding[] = [];
  for (const c of chunks) out.push(...s.push(c));
  out.push(...s.end());
  return out;
}

t.test('finds known secrets with byte offsets and never returns values', async (t) => {
  const body = Buffer.from(JSON.stringify({ note: 'héllo ✓', token: GH, aws: AWS, key: PEM }));
  const found = scanAll([body]);
  t.same(found.map((f) => f.type).sort(), ['aws_access_key', 'github_token', 'private_key']);
  for (const f of found) t.notOk('value' in f);
  const gh = found.find((f) => f.type === 'github_token')!;
  t.equal(body.subarray(gh.start, gh.end).toString(), GH, 'byte offsets, past multi-byte characters');
});

t.test('a secret split across two chunks at every position is found exactly once', async (t) => {
  const body = Buffer.from(`{"a":"${'x'.repeat(300)}","t":"${GH}","b":"${AWS}"}`);
  const whole = scanAll([body]);
  t.equal(whole.length, 2);
  for (let i = 0; i <= body.length; i++) {
    const split = scanAll([body.subarray(0, i), body.subarray(i)]);
    t.same(split, whole, `cut at ${i}`);
  }
});

t.test('byte-at-a-time and random chunking find the same, including a PEM block', async (t) => {
  const body = Buffer.from(`payload=${'y'.repeat(5000)}&k=${encodeURIComponent(PEM)}&raw=${'z'.repeat(100)}\n${PEM}\n${AWS}`);
  const whole = scanAll([body]);
  t.same(whole.map((f) => f.type), ['private_key', 'aws_access_key']);
  t.same(scanAll([...body].map((b) => Buffer.from([b]))), whole, 'one byte per chunk');
  let seed = 7;
  for (let run = 0; run < 30; run++) {
    const chunks: Buffer[] = [];
    for (let at = 0; at < body.length; ) {
      const n = 1 + ((seed = (seed * 1103515245 + 12345) >>> 0) % 700);
      chunks.push(body.subarray(at, at + n));
      at += n;
    }
    t.same(scanAll(chunks), whole, `random chunking ${run}`);
  }
});

t.test('64 KB passes over one reused buffer find what one pass over the whole body finds', async (t) => {
  const prose = 'The deploy notes say the staging cluster restarts at noon; ping the on-call channel first.\n';
  const parts: string[] = [];
  for (let i = 0; i < 40; i++) parts.push(prose.repeat(70 + ((i * 37) % 90)), i % 3 === 0 ? `aws=${AWS}\n` : i % 3 === 1 ? `t: ${GH}\n` : `${PEM}\n`);
  const body = Buffer.from(parts.join(''));
  const whole = scanAll([body]);
  t.equal(whole.length, 40, 'every secret, once');
  let seed = 11;
  for (let run = 0; run < 12; run++) {
    const s = r.createEgressScanner({ minScan: 64 * 1024 });
    const found: EgressFinding[] = [];
    for (let at = 0; at < body.length; ) {
      // Up to 130 KB at once: some passes outgrow the buffer, most reuse it.
      const n = 1 + ((seed = (seed * 1103515245 + 12345) >>> 0) % (run % 2 ? 20_000 : 130_000));
      found.push(...s.push(body.subarray(at, at + n)));
      at += n;
    }
    found.push(...s.end());
    t.same(found, whole, `chunking ${run}`);
  }
});

t.test('a secret is reported before 2 KB more have arrived, even while it may still grow', async (t) => {
  const s = r.createEgressScanner();
  const body = Buffer.from(`${'-----BEGIN RSA PRIVATE KEY-----\n'}${'QUJD'.repeat(5000)}`);
  let at = 0;
  let reportedAt = -1;
  while (at < body.length && reportedAt < 0) {
    const found = s.push(body.subarray(at, at + 100));
    at += 100;
    if (found.some((f) => f.type === 'private_key' && f.start === 0)) reportedAt = at;
  }
  t.ok(reportedAt > 0 && reportedAt <= 2048 + 256 + 100, `reported after ${reportedAt} bytes`);
  t.same(s.end(), [], 'not reported twice');
});

t.test('invalid UTF-8 and binary bodies never throw', async (t) => {
  const junk = Buffer.alloc(200_000);
  let seed = 3;
  for (let i = 0; i < junk.length; i++) junk[i] = (seed = (seed * 1103515245 + 12345) >>> 0) & 0xff;
  junk.write(GH, 100_000, 'latin1');
  const found = scanAll([junk.subarray(0, 99_990), junk.subarray(99_990)]);
  t.ok(found.some((f) => f.type === 'github_token' && f.start === 100_000));
});

t.test('one-shot scan, query strings (percent-decoded too) and byte-for-byte masking', async (t) => {
  t.same(r.scanEgress(`?q=1&token=${GH}`).map((f) => f.type), ['github_token']);
  const encoded = `?k=${encodeURIComponent(PEM)}`;
  t.ok(r.scanEgress(encoded).some((f) => f.type === 'private_key' && f.start === -1), 'found after decoding, no raw offsets');
  const body = Buffer.from(`{"t":"${GH}","ok":1}`);
  const { body: masked, findings } = r.redactEgress(body);
  t.equal(masked.length, body.length, 'same length');
  t.equal(masked.toString(), `{"t":"${'*'.repeat(GH.length)}","ok":1}`);
  t.equal(findings.length, 1);
  t.same(r.scanEgress('nothing to see, AKIA1234 ghp_short'), []);
});

t.test('egress types default to known secret shapes; policy can change them', async (t) => {
  t.notOk(r.egressTypes.includes('jwt'), 'bearer JWTs are normal traffic');
  t.notOk(r.egressTypes.includes('email'));
  t.same(r.scanEgress('mail me: a@example.com'), []);
  const pii = createRedactor({ egress: { default: 'redact', types: ['email', 'api_key'] } });
  t.teardown(() => pii.close());
  t.equal(pii.egressMode, 'redact');
  t.same(pii.scanEgress('mail me: a@example.com').map((f) => f.type), ['email']);
});
