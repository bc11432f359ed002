import { eventFromOcsf } from '../audit/index.js';
import { createEventBus } from '../core/index.js';
import { createDenialReporter } from './denial-reporter.js';
import type { GatewayClient } from './gateway-client.js';
import type { CliIO } from './io.js';
import { readServerSentEvents } from './sse.js';

/**
 * The denial lines and summary of `sluice run` for a sandbox on the gateway: the gateway's event
 * stream for that one sandbox, read back into events (audit/parse.ts) and fed to the same
 * reporter the ephemeral run uses. Subscribed before the sandbox is created, so that its first
 * request is not missed.
 */
export interface RemoteDenials {
  /** Stops reading and returns the summary lines. */
  finish(): string[];
}

export async function watchRemoteDenials(client: GatewayClient, sandbox: string, io: CliIO): Promise<RemoteDenials | undefined> {
  const controller = new AbortController();
  const bus = createEventBus();
  const reporter = createDenialReporter(bus, io.stderr, { sandbox });
  const query = new URLSearchParams({ sandbox, type: 'connect,request,upstream_error' });
  let stream: AsyncIterable<Buffer>;
  try {
    stream = (await client.stream(`/v1/events?${query}`, controller.signal)) as AsyncIterable<Buffer>;
  } catch (err) {
    reporter.close();
    io.stderr.write(`sluice: refusals will not be printed here (the gateway's event stream: ${(err as Error).message}); \`sluice logs --denied --sandbox ${sandbox}\` has them\n`);
    return undefined;
  }
  const reading = readServerSentEvents(stream, (_block, data) => {
    let record: unknown;
    try {
      record = JSON.parse(data);
    } catch {
      return;
    }
    const event = eventFromOcsf(record);
    if (event) bus.emit(event);
  }).catch(() => undefined);
  return {
    finish() {
      controller.abort();
      void reading;
      reporter.close();
      return reporter.summary();
    },
  };
}
