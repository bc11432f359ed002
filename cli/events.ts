import { parseArgs } from 'node:util';
import { findGateway } from './gateway-client.js';
import { resolveHome } from './home.js';
import type { CliIO } from './io.js';

/**
 * `sluice events [--sandbox NAME]… [--type TYPE,…] [--action allow|deny] [--json]`: the gateway's
 * event stream (GET /v1/events), one line per event, until interrupted. `--json` prints the OCSF
 * records as they are, the same lines the audit log holds.
 */
export async function events(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { sandbox: { type: 'string', multiple: true }, type: { type: 'string' }, action: { type: 'string' }, json: { type: 'boolean' }, home: { type: 'string' } },
    strict: true,
  });
  const client = await findGateway(resolveHome(values.home, io.env), io.env);
  if (!client) {
    io.stderr.write('sluice events: no gateway is running (start one with `sluice up`); past events are in the audit log\n');
    return 1;
  }
  const query = new URLSearchParams();
  for (const s of values.sandbox ?? []) query.append('sandbox', s.startsWith('sluice-') ? s : `sluice-${s}`);
  if (values.type) query.set('type', values.type);
  if (values.action) query.set('action', values.action);
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const res = await client.stream(`/v1/events${query.size ? `?${query}` : ''}`, controller.signal);
    let buffer = '';
    for await (const chunk of res as AsyncIterable<Buffer>) {
      buffer += chunk.toString('utf8');
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
        if (!data) continue;
        io.stdout.write(`${values.json ? data : summarise(block, data)}\n`);
      }
    }
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
