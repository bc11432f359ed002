import t from 'tap';
import { TAG, derTime, pemFromDerBytes, tlv } from '../../certs/der.js';
import { x509 } from '../../certs/x509.js';

t.test('tlv encodes short and long lengths', async (t) => {
  t.same([...tlv(TAG.SEQUENCE)], [0x30, 0x00]);
  t.same([...tlv(TAG.OCTET_STRING, Buffer.from([1, 2]), Buffer.from([3]))], [0x04, 0x03, 1, 2, 3]);
  t.same([...tlv(TAG.OCTET_STRING, Buffer.alloc(127)).subarray(0, 2)], [0x04, 0x7f]);
  t.same([...tlv(TAG.OCTET_STRING, Buffer.alloc(128)).subarray(0, 3)], [0x04, 0x81, 0x80]);
  t.same([...tlv(TAG.OCTET_STRING, Buffer.alloc(300)).subarray(0, 4)], [0x04, 0x82, 0x01, 0x2c]);
  t.throws(() => tlv(TAG.OCTET_STRING, Buffer.alloc(0x10000)), RangeError);
});

t.test('times are UTCTime until 2049 and GeneralizedTime after (RFC 5280)', async (t) => {
  t.equal(derTime(new Date('2026-03-01T12:34:56.789Z')).toString('latin1'), '\x17\x0d260301123456Z');
  t.equal(derTime(new Date('2049-12-31T23:59:59Z')).toString('latin1'), '\x17\x0d491231235959Z');
  t.equal(derTime(new Date('2050-01-01T00:00:00Z')).toString('latin1'), '\x18\x0f20500101000000Z');
});

t.test('PEM wraps at 64 columns and parses back', async (t) => {
  const der = tlv(TAG.OCTET_STRING, Buffer.alloc(100, 7));
  const pem = pemFromDerBytes(der, 'CERTIFICATE');
  const lines = pem.trimEnd().split('\n');
  t.equal(lines[0], '-----BEGIN CERTIFICATE-----');
  t.ok(lines.slice(1, -1).every((l) => l.length <= 64));
  t.same(Buffer.from(x509.PemConverter.decodeFirst(pem)), der);
});
