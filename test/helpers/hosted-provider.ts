import { randomInt } from 'node:crypto';
import type { FakeBackend } from '../fakes/index.js';
import type { TestCA } from './tls.js';
import { tlsFront } from './tls-front.js';

/**
 * A fake hosted provider where the real one would be: HTTPS on port 443, with a certificate for
 * its real name, on a loopback address of its own (127.x.y.z, picked at random so that concurrent
 * test runs do not collide) that `--resolve NAME=ADDRESS` points Sluice at. Anything Sluice lets
 * out to the provider lands in `fake.requests`.
 */
export interface HostedProvider {
  readonly host: string;
  readonly address: string;
  close(): Promise<void>;
}

export async function startHostedProvider(ca: TestCA, host: string, fake: FakeBackend): Promise<HostedProvider> {
  const cert = await ca.issue([host]);
  for (let attempt = 0; ; attempt++) {
    const address = `127.${randomInt(1, 255)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;
    try {
      const front = await tlsFront(cert, fake.port, { host: address, port: 443 });
      return { host, address, close: () => front.close() };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt > 20) throw err;
    }
  }
}
