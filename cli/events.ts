import { list, str, flag } from './args.js';
import type { Invocation } from './args.js';
import { findGateway } from './gateway-client.js';
import { readServerSentEvents } from './sse.js';
import { resolveHome } from './home.js';
import type { CliIO } from './io.js';

/**
 * `sluice events [--sandbox NAME]… [--type TYPE,…] [--action allow|deny] [--json]`: the gateway's
 * event stream (GET /v1/events), one line per event, until interrupted. `--json` prints the OCSF
 * records as they are, the same lines the audit log holds.
 */
export async function events(inv: Invocation, io: CliIO): Promise<number> {
  const values = { sandbox: list(inv, 'sandbox'), type: str(inv, 'type'), action: str(inv, 'action'), json: flag(inv, 'json') };
  const client = await findGateway(resolveHome(inv.home, io.env), io.env);
  if (!client) {
    io.stderr.write('sluice events: no gateway is running (start one with `sluice up`); past events are in the audit log\n');
    return 1;
  }
  const query = new URLSearchParams();
  for (const s of values.sandbox) query.append('sandbox', s.startsWith('sluice-') ? s : `sluice-${s}`);
  if (values.type) query.set('type', values.type);
  if (values.action) query.set('action', values.action);
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const res = await client.stream(`/v1/events${query.size ? `?${query}` : ''}`, controller.signal);
    await readServerSentEvents(res as AsyncIterable<Buffer>, (block, data) => io.stdout.write(`${values.json ? data : summarise(block, data)}\n`));
    return 0;
  } catch (err) {
    if (controller.signal.aborted) return 0;
    const body = (err as { body?: Record<string, unknown> }).body;
    io.stderr.write(`sluice events: ${String(body?.detail ?? (err as Error).message)}\n`);
    return 1;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    client.close();
  }
}

/** time, event type, sandbox and the record's message: enough to watch, the JSON has the rest. */
function summarise(block: string, data: string): string {
  const type = /^event: (.*)$/m.exec(block)?.[1] ?? '?';
  try {
    const record = JSON.parse(data) as { time?: number; message?: string; disposition?: string; container?: { name?: string } };
    const time = record.time ? new Date(record.time).toISOString() : '';
    return [time, type.padEnd(8), (record.container?.name ?? '-').padEnd(16), (record.disposition ?? '').padEnd(8), record.message ?? ''].join(' ');
  } catch {
    return data;
  }
}
