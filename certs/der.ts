// Just enough DER to assemble a leaf certificate from parts @peculiar/x509 built once.
// Going through the library's ASN.1 layer for every host costs about a millisecond;
// concatenating bytes costs microseconds.

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
  /** [0] EXPLICIT, constructed (TBSCertificate.version). */
  CONTEXT_0: 0xa0,
  /** [3] EXPLICIT, constructed (TBSCertificate.extensions). */
  CONTEXT_3: 0xa3,
  /** GeneralName dNSName, [2] IMPLICIT IA5String. */
  DNS_NAME: 0x82,
} as const;

function lengthBytes(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  if (length < 0x100) return Buffer.from([0x81, length]);
  if (length < 0x10000) return Buffer.from([0x82, length >> 8, length & 0xff]);
  throw new RangeError(`DER length ${length} too large for a certificate`);
}

/** Tag-length-value around the concatenation of `parts`. */
export function tlv(tag: number, ...parts: Uint8Array[]): Buffer {
  const body = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), lengthBytes(body.length), body]);
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050, always Zulu, no fractions. */
export function derTime(date: Date): Buffer {
  const iso = date.toISOString();
  const digits = iso.slice(0, 19).replace(/[-:T]/g, '');
  const year = date.getUTCFullYear();
  if (year >= 1950 && year < 2050) return tlv(TAG.UTC_TIME, Buffer.from(`${digits.slice(2)}Z`, 'ascii'));
  return tlv(TAG.GENERALIZED_TIME, Buffer.from(`${digits}Z`, 'ascii'));
}

export function pemFromDerBytes(der: Uint8Array, label: string): string {
  const base64 = Buffer.from(der).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < base64.length; i += 64) lines.push(base64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** One DER element: its tag, its contents, and the whole element (tag and length included). */
export interface Element {
  tag: number;
  value: Buffer;
  raw: Buffer;
}

/**
 * The elements laid end to end in `der` (the contents of a SEQUENCE, or one whole element).
 * Only definite lengths up to 4 bytes, as DER requires of anything a certificate holds; an element
 * running past its container is an error, never a short read.
 */
export function readElements(der: Buffer): Element[] {
  const out: Element[] = [];
  let at = 0;
  while (at < der.length) {
    if (der.length - at < 2) throw new RangeError('DER element truncated');
    const tag = der[at]!;
    if ((tag & 0x1f) === 0x1f) throw new RangeError('DER high-tag-number form is not supported');
    let length = der[at + 1]!;
    let header = 2;
    if (length & 0x80) {
      const n = length & 0x7f;
      if (n === 0 || n > 4 || der.length - at < 2 + n) throw new RangeError('DER length not definite or truncated');
      length = 0;
      for (let i = 0; i < n; i++) length = length * 256 + der[at + 2 + i]!;
      header += n;
    }
    const end = at + header + length;
    if (end > der.length) throw new RangeError('DER element runs past its container');
    out.push({ tag, value: der.subarray(at + header, end), raw: der.subarray(at, end) });
    at = end;
  }
  return out;
}

/** The one element of the given tag that `der` must consist of. */
export function readElement(der: Buffer, tag: number): Element {
  const [first, ...rest] = readElements(der);
  if (!first || rest.length > 0 || first.tag !== tag) throw new RangeError(`expected one DER element of tag 0x${tag.toString(16)}`);
  return first;
}

/** UTCTime (two-digit years 1950–2049, RFC 5280 §4.1.2.5.1) or GeneralizedTime, Zulu, no fractions. */
export function parseDerTime(el: Element): Date {
  const text = el.value.toString('latin1');
  const m = el.tag === TAG.UTC_TIME ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text) : el.tag === TAG.GENERALIZED_TIME ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text) : null;
  if (!m) throw new RangeError(`not a DER time: ${JSON.stringify(text)}`);
  let year = Number(m[1]);
  if (el.tag === TAG.UTC_TIME) year += year < 50 ? 2000 : 1900;
  return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}
