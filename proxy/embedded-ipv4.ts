import net from 'node:net';

/**
 * IPv6 addresses that carry an IPv4 address, and which one. A translator, a tunnel or the
 * kernel may deliver them to that IPv4 host, so the SSRF guard judges them by it as well:
 * `::ffff:127.0.0.1` is loopback, `64:ff9b::a9fe:a9fe` is the metadata service.
 *
 * Where the position is not fixed (RFC 8215's local-use NAT64 prefix 64:ff9b:1::/48 may be
 * used with any RFC 6052 prefix length from /48 to /96), every reading is returned: the guard
 * refuses the address when any of them is refused.
 */
export function embeddedIPv4s(address: string): string[] {
  if (!net.isIPv6(address)) return [];
  const b = ipv6Bytes(address);
  const w = (i: number) => (b[2 * i]! << 8) | b[2 * i + 1]!;
  const zero = (from: number, to: number) => b.subarray(from, to).every((x) => x === 0);
  const v4 = (...at: number[]) => at.map((i) => b[i]!).join('.');
  const last = v4(12, 13, 14, 15);

  if (zero(0, 10) && w(5) === 0xffff) return [last]; // ::ffff:a.b.c.d, IPv4-mapped
  if (zero(0, 8) && w(4) === 0xffff && w(5) === 0) return [last]; // ::ffff:0:a.b.c.d, IPv4-translated (SIIT)
  if (zero(0, 12) && (w(6) !== 0 || w(7) > 1)) return [last]; // ::a.b.c.d, IPv4-compatible (deprecated)
  if (w(0) === 0x64 && w(1) === 0xff9b && zero(4, 12)) return [last]; // 64:ff9b::/96, NAT64 well-known prefix
  if (w(0) === 0x64 && w(1) === 0xff9b && w(2) === 1) {
    // 64:ff9b:1::/48, local-use NAT64, at each RFC 6052 prefix length (byte 8 is the reserved u octet).
    return unique([v4(6, 7, 9, 10), v4(7, 9, 10, 11), v4(9, 10, 11, 12), last]);
  }
  if (w(0) === 0x2002) return [v4(2, 3, 4, 5)]; // 6to4
  if (w(0) === 0x2001 && w(1) === 0) {
    // Teredo: the server's address, and the client's, stored inverted.
    return unique([v4(4, 5, 6, 7), [12, 13, 14, 15].map((i) => b[i]! ^ 0xff).join('.')]);
  }
  if ((w(4) & 0xfdff) === 0 && w(5) === 0x5efe) return [last]; // ISATAP interface identifier
  return [];
}

/** The first embedded IPv4 address, if any. */
export function embeddedIPv4(address: string): string | undefined {
  return embeddedIPv4s(address)[0];
}

/** The 16 bytes of a valid IPv6 literal (dotted-quad tails included). */
export function ipv6Bytes(address: string): Buffer {
  let addr = address;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(addr);
  if (dotted) {
    const p = dotted.slice(1).map(Number);
    addr = `${addr.slice(0, dotted.index)}${((p[0]! << 8) | p[1]!).toString(16)}:${((p[2]! << 8) | p[3]!).toString(16)}`;
  }
  const [head = '', tail] = addr.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const words = [...h, ...new Array<string>(tail !== undefined ? 8 - h.length - t.length : 0).fill('0'), ...t];
  const out = Buffer.alloc(16);
  words.forEach((word, i) => out.writeUInt16BE(parseInt(word, 16), i * 2));
  return out;
}

function unique(list: string[]): string[] {
  return [...new Set(list)];
}
