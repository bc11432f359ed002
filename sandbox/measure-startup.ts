import net from 'node:net';
import type { Readable } from 'node:stream';
import { prepareBwrap } from './bwrap-driver.js';
import { prepareDocker } from './docker-driver.js';
import { BASE_IMAGE } from './image.js';
import type { SandboxDriver, SandboxSpec } from './types.js';

export interface StartupFigures {
  driver: SandboxDriver;
  /** create → first instruction of CMD, per run, in ms */
  samples: number[];
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** remove() after exit, median, in ms */
  teardownMedianMs: number;
}

const wallNowMs = () => performance.timeOrigin + performance.now();

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/**
 * Sandbox start-up as `sluice run` experiences it: from prepare (network, firewall, files) to
 * the first instruction of CMD, which is `date +%s%N` reporting the wall clock as it starts.
 * The proxy is a bare listener: its own start-up is not the sandbox's. For `npm run bench`.
 */
export async function measureStartup(
  driver: SandboxDriver,
  n = 10,
  opts: { image?: string; bwrapNetwork?: SandboxSpec['bwrapNetwork'] } = {},
): Promise<StartupFigures> {
  const samples: number[] = [];
  const teardowns: number[] = [];
  for (let i = 0; i < n; i++) {
    const spec: SandboxSpec = { driver, command: ['date', '+%s%N'], image: opts.image ?? BASE_IMAGE, bwrapNetwork: opts.bwrapNetwork };
    const name = `sluice-bench-${process.pid}-${i}`;
    const t0 = wallNowMs();
    const prepared = driver === 'bwrap' ? await prepareBwrap(spec, name) : await prepareDocker(spec, name);
    const listener = net.createServer((s) => s.destroy());
    try {
      await new Promise<void>((resolve) => listener.listen(0, prepared.proxyListen.host, resolve));
      const port = (listener.address() as net.AddressInfo).port;
      const running = await prepared.start({ proxy: { host: prepared.proxyListen.host, port, caCertPem: '' }, stdio: 'pipe' });
      running.stdin?.end();
      const output = collect(running.stdout);
      const code = await withTimeout(running.wait(), 30_000, 'sandbox did not exit');
      const text = (await withTimeout(output, 5_000, 'sandbox output did not end')).trim();
      if (code !== 0 || !/^\d+$/.test(text)) throw new Error(`startup probe failed (exit ${code}): ${text}`);
      samples.push(Number(BigInt(text) / 1000n) / 1000 - t0);
      const t1 = wallNowMs();
      await running.remove();
      teardowns.push(wallNowMs() - t1);
    } finally {
      await prepared.remove();
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    }
  }
  return {
    driver,
    samples,
    medianMs: median(samples),
    minMs: Math.min(...samples),
    maxMs: Math.max(...samples),
    teardownMedianMs: median(teardowns),
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`measureStartup: ${message} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function collect(stream: Readable | null): Promise<string> {
  if (!stream) return Promise.resolve('');
  return new Promise((resolve) => {
    let text = '';
    stream.on('data', (c: Buffer) => (text += c.toString()));
    stream.on('end', () => resolve(text));
    stream.on('error', () => resolve(text));
  });
}
