import net from 'node:net';
import { prepareSandbox, type RunningSandbox, type SandboxSpec } from '../../sandbox/index.js';

export interface SandboxRun {
  running: RunningSandbox;
  output(): string;
  errors(): string;
  /** waits for exit and removes the sandbox */
  finish(): Promise<{ code: number; out: string; err: string }>;
}

/**
 * Prepares and starts a sandbox with a bare TCP listener as its "proxy" (these tests are about
 * the sandbox, not the proxy), output captured.
 */
export async function runInSandbox(spec: SandboxSpec, input?: string): Promise<SandboxRun> {
  const prepared = await prepareSandbox(spec);
  const listener = net.createServer((s) => s.destroy());
  let running: RunningSandbox;
  try {
    await new Promise<void>((resolve) => listener.listen(0, prepared.proxyListen.host, resolve));
    const port = (listener.address() as net.AddressInfo).port;
    running = await prepared.start({ proxy: { host: prepared.proxyListen.host, port, caCertPem: '' }, stdio: 'pipe' });
  } catch (err) {
    await prepared.remove();
    listener.close();
    throw err;
  }
  let out = '';
  let err = '';
  running.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  running.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  // The exit can be seen before the last output is read (a CMD as fast as `id -u`): the output's end is awaited too.
  const ended = (s: NodeJS.ReadableStream | null | undefined) =>
    s ? new Promise<void>((resolve) => ['end', 'close', 'error'].forEach((e) => s.once(e, () => resolve()))) : Promise.resolve();
  const outputEnded = Promise.all([ended(running.stdout), ended(running.stderr)]);
  running.stdin?.end(input ?? '');
  return {
    running,
    output: () => out,
    errors: () => err,
    async finish() {
      try {
        const code = await running.wait();
        // bounded: a background process the CMD left behind may hold the pipes open
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([outputEnded, new Promise<void>((resolve) => (timer = setTimeout(resolve, 10_000)))]);
        clearTimeout(timer);
        return { code, out, err };
      } finally {
        await running.remove();
        await new Promise<void>((resolve) => listener.close(() => resolve()));
      }
    },
  };
}
