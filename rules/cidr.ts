import net from 'node:net';

/**
 * `allowed_ips` entries: a CIDR (`10.0.0.0/8`, `fd00::/8`) or a bare address, which means a
 * single host. Returns the normalised `address/prefix` form that net.BlockList accepts, or throws
 * Error with a readable message.
 */
export function parseCidr(raw: string): string {
  const slash = raw.indexOf('/');
  const address = slash < 0 ? raw : raw.slice(0, slash);
  const version = net.isIP(address);
  if (version === 0) throw new Error(`"${raw}" is not an IP address or CIDR range`);
  const max = version === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const text = raw.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(text) || Number(text) > max) {
      throw new Error(`"${raw}" has an invalid prefix length (expected 0-${max})`);
    }
    prefix = Number(text);
  }
  if (prefix === 0) throw new Error(`"${raw}" covers every address; list the ranges you mean`);
  const canonical = version === 6 ? new URL(`http://[${address}]/`).hostname.slice(1, -1) : address;
  return `${canonical}/${prefix}`;
}

const V4_BITS = 32n;
const V6_BITS = 128n;
const MAPPED_START = 0xffff_0000_0000n; // ::ffff:0.0.0.0

/**
 * Which address family, if any, the ranges together cover whole: [0.0.0.0/1, 128.0.0.0/1] is
 * as much "every address" as 0.0.0.0/0, and ::ffff:0:0/96 is every IPv4 address in mapped form.
 * Takes parseCidr's normalised output.
 */
export function coveredFamily(cidrs: readonly string[]): 'IPv4' | 'IPv6' | undefined {
  const v4: Array<[bigint, bigint]> = [];
  const v6: Array<[bigint, bigint]> = [];
  for (const cidr of cidrs) {
    const [address = '', prefixText = ''] = cidr.split('/');
    const prefix = BigInt(prefixText);
    if (net.isIPv4(address)) {
      v4.push(span(ipv4Number(address), prefix, V4_BITS));
      continue;
    }
    const [start, end] = span(ipv6Number(address), prefix, V6_BITS);
    v6.push([start, end]);
    // The part inside ::ffff:0:0/96 reaches the same hosts as the IPv4 addresses it maps.
    const lo = start > MAPPED_START ? start : MAPPED_START;
    const hi = end < MAPPED_START + 0xffff_ffffn ? end : MAPPED_START + 0xffff_ffffn;
    if (lo <= hi) v4.push([lo - MAPPED_START, hi - MAPPED_START]);
  }
  if (coversAll(v4, V4_BITS)) return 'IPv4';
  if (coversAll(v6, V6_BITS)) return 'IPv6';
  return undefined;
}

function span(base: bigint, prefix: bigint, bits: bigint): [bigint, bigint] {
  const size = 1n << (bits - prefix);
  const start = (base / size) * size;
  return [start, start + size - 1n];
}

function coversAll(ranges: Array<[bigint, bigint]>, bits: bigint): boolean {
  ranges.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let next = 0n;
  for (const [start, end] of ranges) {
    if (start > next) return false;
    if (end + 1n > next) next = end + 1n;
  }
  return next === 1n << bits;
}

function ipv4Number(address: string): bigint {
  return address.split('.').reduce((n, octet) => (n << 8n) | BigInt(octet), 0n);
}

function ipv6Number(address: string): bigint {
  // Node's URL parser writes every IPv6 literal as eight hex words (or fewer, with one ::).
  const [head = '', tail] = new URL(`http://[${address}]/`).hostname.slice(1, -1).split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const words = [...h, ...new Array<string>(tail !== undefined ? 8 - h.length - t.length : 0).fill('0'), ...t];
  return words.reduce((n, word) => (n << 16n) | BigInt(parseInt(word, 16)), 0n);
}
