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
  running.stdin?.end(input ?? '');
  return {
    running,
    output: () => out,
    errors: () => err,
    async finish() {
      try {
        const code = await running.wait();
        return { code, out, err };
      } finally {
        await running.remove();
        await new Promise<void>((resolve) => listener.close(() => resolve()));
      }
    },
  };
}
