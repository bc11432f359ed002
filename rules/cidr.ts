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
