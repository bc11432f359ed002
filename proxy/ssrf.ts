import dns from 'node:dns';
import net from 'node:net';
import { LRUCache } from 'lru-cache';
import { SluiceError } from '../core/index.js';
import { embeddedIPv4s } from './embedded-ipv4.js';

/**
 * Resolves a destination once and checks every address it resolves to; the caller then dials
 * only the validated address, so a second lookup (DNS rebinding) can never change the target.
 */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
  /** True when the operator pinned the name with --resolve (trusted, not range-checked). */
  pinned: boolean;
}

/** What the policy says about a destination beyond allowed_ips (OpenShell's destination modes). */
export interface DestinationTrust {
  /** An endpoint names this exact host or address: private addresses are fine, always-blocked ones never. */
  exactHost?: boolean;
  /** The destination port: Kubernetes and etcd control-plane ports are refused wherever private addresses are allowed. */
  port?: number;
}

export interface Resolver {
  resolve(host: string, ipVersion: 0 | 4 | 6, allowedIps: readonly string[], trust?: DestinationTrust): Promise<ResolvedAddress>;
  /**
   * The same verdict when it needs no DNS (an IP literal, a --resolve pin), undefined when it
   * does: for `sluice explain`, which sends nothing, not even a DNS query. Throws as resolve does.
   */
  known(host: string, ipVersion: 0 | 4 | 6, allowedIps: readonly string[], trust?: DestinationTrust): ResolvedAddress | undefined;
}

export interface ResolverOptions {
  /** --resolve HOST=IP pins, trusted. Keys are canonical host names. */
  pins?: ReadonlyMap<string, string>;
  /** --dns HOST:PORT, the resolver Sluice uses instead of the system's. */
  dnsServer?: string;
  timeoutMs?: number;
  /** Longest time a name's answer is used again (DNS_ANSWER_MAX_MS); 0 asks on every use. */
  answerMaxMs?: number;
}

/**
 * How long a name's addresses are used again before it is asked anew: what the system resolver
 * answers (getaddrinfo gives no TTL; 30 s is Java's default for a positive answer) or, with
 * --dns, the answer's own TTL up to this; a TTL of 0 is asked again on every use. A plain-HTTP
 * request, an LLM call Sluice lets out and every CONNECT asked the resolver each time, a DNS
 * query per request where no caching resolver runs on the host. The cache holds addresses, not
 * verdicts: every use is judged again against the request's policy, and a name cannot rebind
 * to another address while its answer is kept. Failures are not kept.
 */
export const DNS_ANSWER_MAX_MS = 30_000;
/** Names whose answers are kept (least recently used go first). */
const DNS_ANSWER_NAMES = 4096;

type Address = { address: string; family: 4 | 6 };

type Range = { net: net.BlockList; label: string };

function blockList(label: string, entries: Array<[string, number, 'ipv4' | 'ipv6']>): Range {
  const list = new net.BlockList();
  for (const [addr, prefix, type] of entries) list.addSubnet(addr, prefix, type);
  return { net: list, label };
}

/** Never dialled, whatever the policy says. */
const ALWAYS_BLOCKED: Range[] = [
  blockList('loopback', [['127.0.0.0', 8, 'ipv4'], ['::1', 128, 'ipv6']]),
  blockList('link-local', [['169.254.0.0', 16, 'ipv4'], ['fe80::', 10, 'ipv6']]),
  blockList('unspecified', [['0.0.0.0', 8, 'ipv4'], ['::', 128, 'ipv6']]),
  blockList('multicast/broadcast', [['224.0.0.0', 4, 'ipv4'], ['255.255.255.255', 32, 'ipv4'], ['ff00::', 8, 'ipv6']]),
];

/** Dialled only when an endpoint's allowed_ips covers the address. */
const PRIVATE: Range[] = [
  blockList('private', [['10.0.0.0', 8, 'ipv4'], ['172.16.0.0', 12, 'ipv4'], ['192.168.0.0', 16, 'ipv4']]),
  blockList('carrier-grade NAT', [['100.64.0.0', 10, 'ipv4']]),
  blockList('unique-local', [['fc00::', 7, 'ipv6']]),
  blockList('special-purpose', [
    ['192.0.0.0', 24, 'ipv4'], ['192.0.2.0', 24, 'ipv4'], ['198.18.0.0', 15, 'ipv4'], ['198.51.100.0', 24, 'ipv4'],
    ['203.0.113.0', 24, 'ipv4'], ['240.0.0.0', 4, 'ipv4'], ['2001:db8::', 32, 'ipv6'], ['100::', 64, 'ipv6'],
    ['64:ff9b::', 96, 'ipv6'], ['64:ff9b:1::', 48, 'ipv6'], ['2002::', 16, 'ipv6'], ['2001::', 32, 'ipv6'], ['fec0::', 10, 'ipv6'],
  ]),
];

/**
 * Kubernetes and etcd control planes (etcd client and peer, API server, kubelet, kubelet
 * read-only): never reachable on a private address, whatever allowed_ips says (as in OpenShell).
 */
export const CONTROL_PLANE_PORTS: ReadonlySet<number> = new Set([2379, 2380, 6443, 10250, 10255]);

export interface AddressVerdict {
  allowed: boolean;
  reason: string;
  /** For refusals: the range the address is in, and whether any allowed_ips could admit it. */
  range?: string;
  never?: boolean;
}

const familyOf = (address: string) => (net.isIPv4(address) ? 'ipv4' : 'ipv6');

/**
 * The first fixed range `address` falls in, if any. Remembered per address (a BlockList check parses
 * the address into a new SocketAddress each time, on every request): a proxy talks to few addresses.
 */
const rangeMemo = new Map<string, { always: Range | undefined; private: Range | undefined }>();
const RANGE_MEMO_SIZE = 4096;

function rangeOf(kind: 'always' | 'private', address: string): Range | undefined {
  let known = rangeMemo.get(address);
  if (!known) {
    const family = familyOf(address);
    known = { always: ALWAYS_BLOCKED.find((r) => r.net.check(address, family)), private: PRIVATE.find((r) => r.net.check(address, family)) };
    if (rangeMemo.size >= RANGE_MEMO_SIZE) rangeMemo.clear();
    rangeMemo.set(address, known);
  }
  return kind === 'always' ? known.always : known.private;
}

/**
 * Classifies one address against the fixed ranges and the endpoint's allowed_ips. An IPv6
 * address that embeds IPv4 addresses (embedded-ipv4.ts) is judged by each of them as well and
 * must pass as every one. With `port`, a control-plane port on a non-public address is refused.
 */
export function checkAddress(address: string, allowedIps: readonly string[], port?: number): AddressVerdict {
  const embedded = embeddedIPv4s(address);
  const candidates = [address, ...embedded];
  const via = (c: string) => (c === address ? '' : ` (it embeds the IPv4 address ${c})`);
  for (const candidate of candidates) {
    const range = rangeOf('always', candidate);
    if (range) return { allowed: false, reason: `${address} is a ${range.label} address${via(candidate)}, never reachable through Sluice`, range: range.label, never: true };
  }
  let privateLabel: string | undefined;
  for (const candidate of candidates) {
    const range = rangeOf('private', candidate);
    if (!range) continue;
    privateLabel ??= range.label;
    if (!allowedIpsCover(candidate, allowedIps)) {
      return { allowed: false, reason: `${address} is a ${range.label} address${via(candidate)} and no allowed_ips entry of the endpoint covers it`, range: range.label, never: false };
    }
  }
  if (port !== undefined && CONTROL_PLANE_PORTS.has(port) && (privateLabel !== undefined || allowedIps.length > 0)) {
    return { allowed: false, reason: `port ${port} is a Kubernetes/etcd control-plane port, never reachable on ${privateLabel ? `a ${privateLabel}` : 'an allowed_ips'} address (${address})` };
  }
  // OpenShell semantics: an endpoint with allowed_ips may only reach addresses inside them.
  if (allowedIps.length > 0 && !candidates.some((c) => allowedIpsCover(c, allowedIps))) {
    return { allowed: false, reason: `${address} is outside the endpoint's allowed_ips (${allowedIps.join(', ')})`, range: 'public', never: false };
  }
  if (privateLabel !== undefined) return { allowed: true, reason: `${address} is ${privateLabel}, allowed by allowed_ips` };
  return { allowed: true, reason: `${address} is a public address` };
}

/** Addresses a --resolve pin may name freely, except a control plane on a non-public one. */
function checkPinned(address: string, port: number | undefined): AddressVerdict {
  // Only a control-plane port needs the address's range (looked up on every request to a pinned name otherwise).
  if (port !== undefined && CONTROL_PLANE_PORTS.has(port) && [address, ...embeddedIPv4s(address)].some((c) => rangeOf('always', c) ?? rangeOf('private', c))) {
    return { allowed: false, reason: `port ${port} is a Kubernetes/etcd control-plane port, never reachable on a non-public address (${address})` };
  }
  return { allowed: true, reason: `${address} is pinned by --resolve` };
}

/** An address of an exact host the policy names: anything but the always-blocked ranges, embedded IPv4 included. */
function checkDeclared(address: string): AddressVerdict {
  const candidates = [address, ...embeddedIPv4s(address)];
  for (const candidate of candidates) {
    const range = rangeOf('always', candidate);
    if (range) return { allowed: false, reason: `${address} is a ${range.label} address${candidate === address ? '' : ` (it embeds the IPv4 address ${candidate})`}, never reachable through Sluice`, range: range.label, never: true };
  }
  return { allowed: true, reason: `${address} belongs to a host the policy names exactly` };
}

function allowedIpsCover(address: string, allowedIps: readonly string[]): boolean {
  if (allowedIps.length === 0) return false;
  const list = new net.BlockList();
  for (const cidr of allowedIps) {
    const [base = '', prefix] = cidr.split('/');
    const type = net.isIPv4(base) ? 'ipv4' : 'ipv6';
    if (!net.isIP(base)) continue;
    list.addSubnet(base, prefix === undefined ? (type === 'ipv4' ? 32 : 128) : Number(prefix), type);
  }
  return list.check(address, net.isIPv4(address) ? 'ipv4' : 'ipv6');
}

export function createResolver(opts: ResolverOptions = {}): Resolver {
  const pins = opts.pins ?? new Map<string, string>();
  const timeoutMs = opts.timeoutMs ?? 5000;
  let custom: dns.promises.Resolver | undefined;
  if (opts.dnsServer) {
    custom = new dns.promises.Resolver({ timeout: timeoutMs, tries: 2 });
    custom.setServers([opts.dnsServer]);
  }

  const answerMaxMs = opts.answerMaxMs ?? DNS_ANSWER_MAX_MS;
  const answers = new LRUCache<string, Address[]>({ max: DNS_ANSWER_NAMES });
  /** Lookups under way: requests for a name that is being asked wait for that answer. */
  const asking = new Map<string, Promise<Address[]>>();

  /** A name's addresses, and how long they may be used again (ms). */
  async function lookupAll(host: string): Promise<{ addresses: Address[]; ttlMs: number }> {
    if (custom) {
      const settled = await Promise.allSettled([custom.resolve4(host, { ttl: true }), custom.resolve6(host, { ttl: true })]);
      const addresses: Address[] = [];
      let ttlMs = answerMaxMs;
      for (const [i, family] of [[0, 4], [1, 6]] as const) {
        const result = settled[i];
        if (result.status !== 'fulfilled') continue;
        for (const record of result.value) {
          addresses.push({ address: record.address, family });
          ttlMs = Math.min(ttlMs, record.ttl * 1000);
        }
      }
      if (addresses.length === 0) {
        const err = settled[0].status === 'rejected' ? (settled[0].reason as Error) : new Error('no addresses');
        throw err;
      }
      return { addresses, ttlMs };
    }
    const all = await dns.promises.lookup(host, { all: true, verbatim: true });
    return { addresses: all.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 })), ttlMs: answerMaxMs };
  }

  async function addressesOf(host: string): Promise<Address[]> {
    const kept = answers.get(host);
    if (kept) return kept;
    let pending = asking.get(host);
    if (!pending) {
      pending = lookupAll(host)
        .then(({ addresses, ttlMs }) => {
          if (ttlMs > 0) answers.set(host, addresses, { ttl: ttlMs });
          return addresses;
        })
        .finally(() => asking.delete(host));
      asking.set(host, pending);
    }
    return pending;
  }

  /** Every address must pass: a name that resolves to one public and one private address is refused. */
  const judge = (host: string, ipVersion: 0 | 4 | 6, addresses: readonly Address[], allowedIps: readonly string[], trust: DestinationTrust): ResolvedAddress => {
    for (const { address } of addresses) {
      // An exact declared host (or address) may be private, as in OpenShell, unless allowed_ips narrows it.
      const verdict = trust.exactHost && allowedIps.length === 0 ? checkDeclared(address) : checkAddress(address, allowedIps, trust.port);
      if (!verdict.allowed) {
        throw new SluiceError('SLUICE_SSRF_BLOCKED', ipVersion === 0 ? `${host} resolves to ${verdict.reason}` : verdict.reason, {
          host,
          reason: verdict.reason,
          // Only an address's range has an address fix; a control-plane port has none (respond.ts).
          ...(verdict.range ? { address, range: verdict.range, never_allowed: verdict.never === true } : {}),
        });
      }
    }
    const first = addresses[0]!;
    return { address: first.address, family: first.family, pinned: false };
  };

  const known = (host: string, ipVersion: 0 | 4 | 6, allowedIps: readonly string[], trust: DestinationTrust = {}): ResolvedAddress | undefined => {
    // Wherever the policy lets private addresses through, control-plane ports stay closed.
    if ((allowedIps.length > 0 || trust.exactHost) && trust.port !== undefined && CONTROL_PLANE_PORTS.has(trust.port)) {
      const reason = `port ${trust.port} is a Kubernetes or etcd control-plane port, never reachable on a destination the policy lets resolve privately`;
      throw new SluiceError('SLUICE_SSRF_BLOCKED', reason, { host, reason });
    }
    const pinned = pins.get(host);
    if (pinned !== undefined) {
      const verdict = checkPinned(pinned, trust.port);
      if (!verdict.allowed) throw new SluiceError('SLUICE_SSRF_BLOCKED', `${host} is pinned to ${verdict.reason}`, { host, reason: verdict.reason });
      return { address: pinned, family: net.isIPv6(pinned) ? 6 : 4, pinned: true };
    }
    return ipVersion === 0 ? undefined : judge(host, ipVersion, [{ address: host, family: ipVersion }], allowedIps, trust);
  };

  return {
    known,
    async resolve(host, ipVersion, allowedIps, trust = {}) {
      const answer = known(host, ipVersion, allowedIps, trust);
      if (answer) return answer;
      let addresses: Address[];
      try {
        addresses = await addressesOf(host);
      } catch (err) {
        throw new SluiceError('SLUICE_DNS_FAILED', `could not resolve ${host}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { host });
      }
      return judge(host, ipVersion, addresses, allowedIps, trust);
    },
  };
}
