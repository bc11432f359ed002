import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, readdir, readlink } from 'node:fs/promises';
import net from 'node:net';

/**
 * Which process inside a sandbox opened a connection, as OpenShell's supervisor finds it
 * (identity.rs, procfs.rs), so that a policy's `binaries` can be enforced: the connection's source
 * address and port → the socket inode in the sandbox's network namespace (/proc/<pid>/net/tcp{,6})
 * → the process holding that inode among the sandbox's processes (/proc/<pid>/fd) → its executable
 * as the kernel resolved it (/proc/<pid>/exe) and its ancestors' inside the sandbox.
 *
 * Nothing the sandboxed process controls is read: not argv (a process can name itself anything),
 * not its environment; the executable link and the parent chain come from the kernel. Optionally
 * the executable's SHA-256 is computed, for trust-on-first-use pinning.
 */
export interface Attribution {
  pid: number;
  /** /proc/<pid>/exe as the kernel resolved it, in the sandbox's own file-system view. */
  exe: string;
  /** The ancestors' executables inside the sandbox, nearest first. */
  ancestors: string[];
  /** Their pids (host view), in the same order: to read each one's executable through /proc. */
  ancestorPids: number[];
  /** SHA-256 of the executable's content, when asked for. */
  sha256?: string;
}

export interface AttributionOptions {
  /** A process of the sandbox (its init, as the host sees it): names the network namespace to search. */
  sandboxPid: number;
  /** /proc by default; tests may point elsewhere. */
  procRoot?: string;
  hash?: boolean;
  /**
   * The sandbox's init is a supervisor (bwrap, docker-init), not a program of the sandbox: it is
   * left out of every ancestry. Otherwise (a container whose init is CMD) it is the last ancestor.
   */
  initIsSupervisor?: boolean;
}

interface SocketEntry {
  address: string;
  port: number;
  remoteAddress: string;
  remotePort: number;
  inode: string;
}

function hexToIPv4(hex: string): string {
  const n = parseInt(hex, 16);
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24].join('.');
}

function hexToIPv6(hex: string): string {
  // Four little-endian 32-bit words.
  const bytes: number[] = [];
  for (let w = 0; w < 4; w++) {
    const word = hex.slice(w * 8, w * 8 + 8);
    for (let b = 3; b >= 0; b--) bytes.push(parseInt(word.slice(b * 2, b * 2 + 2), 16));
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

export function parseProcNetTcp(text: string, v6: boolean): SocketEntry[] {
  const out: SocketEntry[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [addr, port] = f[1]!.split(':');
    const [raddr, rport] = f[2]!.split(':');
    const ip = (hex: string) => (v6 ? hexToIPv6(hex) : hexToIPv4(hex));
    out.push({ address: ip(addr!), port: parseInt(port!, 16), remoteAddress: ip(raddr!), remotePort: parseInt(rport!, 16), inode: f[9]! });
  }
  return out;
}

function sameAddress(a: string, b: string): boolean {
  const strip = (x: string) => (x.startsWith('::ffff:') && net.isIPv4(x.slice(7)) ? x.slice(7) : x);
  return strip(a) === strip(b);
}

async function link(path: string): Promise<string | undefined> {
  try {
    return await readlink(path);
  } catch {
    return undefined;
  }
}

async function parentOf(proc: string, pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`${proc}/${pid}/status`, 'utf8');
    const m = /^PPid:\s+(\d+)/m.exec(status);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

export function sha256Of(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path).on('data', (c) => hash.update(c)).on('error', reject).on('end', () => resolve(hash.digest('hex')));
  });
}

interface Described {
  pid: number;
  exe: string;
  ancestors: Array<{ pid: number; exe: string }>;
}

// A replaced executable still runs: the kernel marks its old path " (deleted)"; the path is what
// policies name, and the pinned hash (read through /proc/<pid>/exe) tells the content apart.
const displayPath = (exe: string) => exe.replace(/ \(deleted\)$/, '');

async function describe(proc: string, pid: number, opts: AttributionOptions, netns: string): Promise<Described | undefined> {
  const exe = await link(`${proc}/${pid}/exe`);
  if (!exe) return undefined;
  const ancestors: Array<{ pid: number; exe: string }> = [];
  if (pid !== opts.sandboxPid) {
    for (let p = await parentOf(proc, pid), hops = 0; p !== undefined && p > 0 && hops < 64; p = await parentOf(proc, p), hops++) {
      if ((await link(`${proc}/${p}/ns/net`)) !== netns) break;
      // The sandbox's init is Sluice's own machinery when it is a supervisor (bwrap, docker-init):
      // not a program of the sandbox, and a glob over its path must not admit every child.
      if (p === opts.sandboxPid && opts.initIsSupervisor) break;
      const a = await link(`${proc}/${p}/exe`);
      if (a) ancestors.push({ pid: p, exe: displayPath(a) });
      if (p === opts.sandboxPid) break;
    }
  }
  return { pid, exe: displayPath(exe), ancestors };
}

/** Thrown when the processes that hold one connection are different programs. */
export class AmbiguousOwnerError extends Error {
  override name = 'AmbiguousOwnerError';
}

/**
 * The process inside the sandbox that owns the TCP connection from `source` (its local end) to
 * `peer` (the proxy's listening address, as the sandbox dialled it), if any. The whole 4-tuple is
 * matched, so a closing socket that once had the same source port cannot be mistaken for it.
 * When several processes hold the socket (a fork after connect), they must be one program with
 * one ancestry, as OpenShell requires; otherwise AmbiguousOwnerError.
 */
export async function attributeConnection(opts: AttributionOptions, source: { address: string; port: number }, peer?: { address: string; port: number }): Promise<Attribution | undefined> {
  const proc = opts.procRoot ?? '/proc';
  const netns = await link(`${proc}/${opts.sandboxPid}/ns/net`);
  if (!netns) return undefined;
  const inodes = new Set<string>();
  for (const [file, v6] of [['tcp', false], ['tcp6', true]] as const) {
    let text: string;
    try {
      text = await readFile(`${proc}/${opts.sandboxPid}/net/${file}`, 'utf8');
    } catch {
      continue;
    }
    for (const e of parseProcNetTcp(text, v6)) {
      if (e.port !== source.port || !sameAddress(e.address, source.address) || e.inode === '0') continue;
      if (peer && (e.remotePort !== peer.port || !sameAddress(e.remoteAddress, peer.address))) continue;
      inodes.add(e.inode);
    }
  }
  if (inodes.size === 0) return undefined;
  const wanted = new Set([...inodes].map((i) => `socket:[${i}]`));
  const owners: Described[] = [];
  const pids = (await readdir(proc)).filter((d) => /^\d+$/.test(d)).map(Number).sort((a, b) => a - b);
  for (const pid of pids) {
    // Only processes of the sandbox's network namespace: the ones whose sockets those entries are.
    if ((await link(`${proc}/${pid}/ns/net`)) !== netns) continue;
    let fds: string[];
    try {
      fds = await readdir(`${proc}/${pid}/fd`);
    } catch {
      continue;
    }
    let owns = false;
    for (const fd of fds) {
      const target = await link(`${proc}/${pid}/fd/${fd}`);
      if (target && wanted.has(target)) {
        owns = true;
        break;
      }
    }
    if (!owns) continue;
    const described = await describe(proc, pid, opts, netns);
    // An owner that vanished mid-walk cannot vouch for the connection: no answer rather than a partial one.
    if (!described) return undefined;
    owners.push(described);
  }
  const first = owners[0];
  if (!first) return undefined;
  const key = (d: Described) => JSON.stringify([d.exe, d.ancestors.map((a) => a.exe)]);
  const differing = owners.filter((o) => key(o) !== key(first));
  if (differing.length) {
    throw new AmbiguousOwnerError(`the connection is held by several different programs (${[first, ...differing].map((o) => `${o.exe} pid ${o.pid}`).join(', ')})`);
  }
  const identity: Attribution = { pid: first.pid, exe: first.exe, ancestors: first.ancestors.map((a) => a.exe), ancestorPids: first.ancestors.map((a) => a.pid) };
  if (opts.hash) identity.sha256 = await sha256Of(`${proc}/${first.pid}/exe`);
  return identity;
}
