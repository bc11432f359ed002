import net from 'node:net';
import type { Readable } from 'node:stream';
import { prepareBwrap } from './bwrap-driver.js';
import { prepareDocker } from './docker-driver.js';
import { BASE_IMAGE } from './image.js';
import type { SandboxDriver, SandboxSpec } from './types.js';

export interface StartupFigures {
  driver: SandboxDriver;
  /** create → first byte of CMD's output on the host, per run, in ms (one monotonic clock) */
  samples: number[];
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** remove() after exit, median, in ms */
  teardownMedianMs: number;
}


const PROBE = 'sluice-sandbox-started';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/**
 * Sandbox start-up as `sluice run` experiences it: from prepare (network, firewall, files) to
 * the first byte CMD writes reaching this process, both read from the host's monotonic clock.
 * (A timestamp printed inside the sandbox would be its wall clock, compared with the host's: a
 * VM whose wall clock was stepped during a run turned 44 ms into 9.7 s.) For docker the byte
 * also crosses the daemon's attach stream, as it does for a user's terminal.
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
    const spec: SandboxSpec = { driver, command: ['echo', PROBE], image: opts.image ?? BASE_IMAGE, bwrapNetwork: opts.bwrapNetwork };
    const name = `sluice-bench-${process.pid}-${i}`;
    const t0 = performance.now();
    const prepared = driver === 'bwrap' ? await prepareBwrap(spec, name) : await prepareDocker(spec, name);
    const listener = net.createServer((s) => s.destroy());
    try {
      await new Promise<void>((resolve) => listener.listen(0, prepared.proxyListen.host, resolve));
      const port = (listener.address() as net.AddressInfo).port;
      const running = await prepared.start({ proxy: { host: prepared.proxyListen.host, port, caCertPem: '' }, stdio: 'pipe' });
      running.stdin?.end();
      const output = collect(running.stdout);
      const code = await withTimeout(running.wait(), 30_000, 'sandbox did not exit');
      const { text, firstByteAt } = await withTimeout(output, 5_000, 'sandbox output did not end');
      if (code !== 0 || text.trim() !== PROBE || firstByteAt === undefined) throw new Error(`startup probe failed (exit ${code}): ${text.trim()}`);
      samples.push(firstByteAt - t0);
      const t1 = performance.now();
      await running.remove();
      teardowns.push(performance.now() - t1);
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

/** What a stream carried, and when (performance.now()) its first byte arrived. */
function collect(stream: Readable | null): Promise<{ text: string; firstByteAt?: number }> {
  if (!stream) return Promise.resolve({ text: '' });
  return new Promise((resolve) => {
    let text = '';
    let firstByteAt: number | undefined;
    stream.on('data', (c: Buffer) => {
      firstByteAt ??= performance.now();
      text += c.toString();
    });
    const done = () => resolve({ text, ...(firstByteAt !== undefined ? { firstByteAt } : {}) });
    stream.on('end', done);
    stream.on('error', done);
  });
}
