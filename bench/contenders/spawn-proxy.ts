import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';

/** A free loopback port, for peers that must be told their port up front. */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/**
 * Runs argv with /etc/hosts replaced, for this process only, by `hostsFile` (a private mount
 * namespace; the machine's /etc/hosts is never touched). This is how peers without a
 * `--resolve` option find the bench names.
 */
export function inHostsNamespace(argv: readonly string[], hostsFile: string): string[] {
  return [...unshareMount(), 'sh', '-c', 'mount --bind "$0" /etc/hosts && exec "$@"', hostsFile, ...argv];
}

/** Root can unshare a mount namespace directly; others need a user namespace to do it in. */
export function unshareMount(): string[] {
  const root = process.getuid?.() === 0;
  return ['unshare', ...(root ? [] : ['--user', '--map-root-user']), '--mount', '--propagation', 'private'];
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

export interface SpawnedProxy {
  child: ChildProcess;
  pid: number;
  output(): string;
  close(): Promise<void>;
}

export interface SpawnProxyOptions {
  argv: readonly string[];
  env?: NodeJS.ProcessEnv;
  port: number;
  timeoutMs?: number;
  /** Extra readiness condition beyond the port accepting (e.g. the CA file exists). */
  ready?: (output: string) => boolean | Promise<boolean>;
  /** Also append everything the process writes to this file (e.g. `--trace-gc` lines, which go to stdout). */
  outputFile?: string;
}

/** Spawns a proxy process and waits until its port accepts connections. */
export async function spawnProxy(opts: SpawnProxyOptions): Promise<SpawnedProxy> {
  const [cmd, ...args] = opts.argv;
  const child = spawn(cmd!, args, { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (c: Buffer): void => { out = (out + c.toString()).slice(-8000); };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  if (opts.outputFile) {
    const file = createWriteStream(opts.outputFile, { flags: 'a' });
    child.stdout!.pipe(file, { end: false });
    child.stderr!.pipe(file, { end: false });
    child.once('exit', () => file.end());
  }
  let exited = false;
  child.once('exit', () => { exited = true; });
  const spawned: SpawnedProxy = {
    child,
    pid: child.pid ?? -1,
    output: () => out,
    async close() {
      if (exited) return;
      const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await done;
      clearTimeout(timer);
    },
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  child.once('error', (e) => { out += `\n${e.message}`; exited = true; });
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${cmd} exited before listening: ${out.trim().split('\n').slice(-3).join(' | ')}`);
    if ((await canConnect(opts.port)) && (!opts.ready || (await opts.ready(out)))) return spawned;
    await new Promise((r) => setTimeout(r, 50));
  }
  await spawned.close();
  throw new Error(`${cmd} did not listen on ${opts.port} within ${opts.timeoutMs ?? 20_000} ms: ${out.trim().slice(-300)}`);
}

/** Resolves with the PATH entry for `bin`, or undefined. */
export async function which(bin: string): Promise<string | undefined> {
  const { access } = await import('node:fs/promises');
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = `${dir}/${bin}`;
    try {
      await access(p, 1);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}
