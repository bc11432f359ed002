import net from 'node:net';

/** Never reachable through Sluice (or OpenShell): an allowed_ips entry touching them can never work. */

function v4ToNumber(a: string): number {
  return a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

/** Does v4 range [base/prefix] overlap any always-blocked IPv4 range? */
function v4Overlaps(base: string, prefix: number): boolean {
  const size = 2 ** (32 - prefix);
  const start = Math.floor(v4ToNumber(base) / size) * size;
  const end = start + size - 1;
  const ranges: Array<[number, number]> = [[v4ToNumber('127.0.0.0'), v4ToNumber('127.255.255.255')], [v4ToNumber('169.254.0.0'), v4ToNumber('169.254.255.255')], [0, 0]];
  return ranges.some(([a, b]) => start <= b && a <= end);
}

function expand6(address: string): bigint {
  const url = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  const [head = '', tail] = url.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const words = tail !== undefined ? [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  return words.reduce((n, w) => (n << 16n) | BigInt(parseInt(w, 16)), 0n);
}

/** Does the v6 range overlap ::1, ::, fe80::/10, or the IPv4-mapped always-blocked ranges? */
function v6Overlaps(base: string, prefix: number): boolean {
  const bits = BigInt(128 - prefix);
  const start = (expand6(base) >> bits) << bits;
  const end = start + (1n << bits) - 1n;
  const mapped = (v4: string, p: number): [bigint, bigint] => {
    const s = 0xffff00000000n + BigInt(v4ToNumber(v4));
    return [s, s + (1n << BigInt(32 - p)) - 1n];
  };
  const ranges: Array<[bigint, bigint]> = [[0n, 1n], [0xfe80n << 112n, (0xfec0n << 112n) - 1n], mapped('127.0.0.0', 8), mapped('169.254.0.0', 16), mapped('0.0.0.0', 32)];
  return ranges.some(([a, b]) => start <= b && a <= end);
}

/**
 * `allowed_ips` entries: a CIDR (`10.0.0.0/8`, `fd00::/8`) or a bare address, which means a
 * single host. Returns the normalised `address/prefix` form that net.BlockList accepts, or throws
 * Error with a readable message. Entries overlapping loopback, link-local or the unspecified
 * address are refused, as OpenShell refuses them: they could never be reached, and a range such
 * as 0.0.0.0/1 would otherwise pass for "every address".
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
  const canonical = version === 6 ? new URL(`http://[${address}]/`).hostname.slice(1, -1) : address;
  if (version === 4 ? v4Overlaps(canonical, prefix) : v6Overlaps(canonical, prefix)) {
    throw new Error(`"${raw}" overlaps an always-blocked range (loopback, link-local or unspecified); Sluice never dials those, whatever the policy says`);
  }
  return `${canonical}/${prefix}`;
}

