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
 * request is not missed; read until the sandbox's own end event, which the bus orders after every
 * refusal of its traffic, so that the last ones are not lost to the race with its output stream.
 */
export interface RemoteDenials {
  /** Waits for the sandbox's end event (at most ENDED_WAIT_MS), stops reading, returns the summary lines. */
  finish(): Promise<string[]>;
  /** Stops reading at once (the sandbox was never created). */
  abort(): void;
}

const ENDED_WAIT_MS = 2_000;
const ENDINGS = new Set(['exited', 'stopped', 'failed', 'lost']);

export async function watchRemoteDenials(client: GatewayClient, sandbox: string, io: CliIO): Promise<RemoteDenials | undefined> {
  const controller = new AbortController();
  const bus = createEventBus();
  const reporter = createDenialReporter(bus, io.stderr, { sandbox });
  const query = new URLSearchParams({ sandbox, type: 'connect,request,upstream_error,sandbox' });
  let ended: () => void = () => undefined;
  const end = new Promise<void>((resolve) => (ended = resolve));
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
    if (event?.type === 'sandbox' && ENDINGS.has(event.activity)) ended();
    else if (event) bus.emit(event);
  }).catch(() => undefined);
  const stop = () => {
    controller.abort();
    reporter.close();
  };
  return {
    async finish() {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([end, reading, new Promise<void>((resolve) => (timer = setTimeout(resolve, ENDED_WAIT_MS)))]);
      clearTimeout(timer);
      stop();
      return reporter.summary();
    },
    abort: stop,
  };
}
