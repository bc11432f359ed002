import path from 'node:path';
import { readAuditLog } from '../audit/index.js';
import { UsageError, flag, str } from './args.js';
import type { Invocation } from './args.js';
import { resolveHome } from './home.js';
import type { CliIO } from './io.js';
import { formatLogEvent, matchesFilter } from './log-format.js';
import type { LogFilter } from './log-format.js';

/** `90s`, `10m`, `2h`, `1d`, or a date: the earliest time to show, in ms since the epoch. */
export function parseSince(value: string, now = Date.now()): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)$/i.exec(value.trim());
  if (m) {
    const unit = { s: 1, sec: 1, m: 60, min: 60, h: 3600, d: 86400 }[m[2]!.toLowerCase() as 's']!;
    return now - Number(m[1]) * unit * 1000;
  }
  const at = Date.parse(value);
  if (Number.isNaN(at)) throw new UsageError(`--since expects a duration (90s, 10m, 2h, 1d) or a date (2026-03-01T12:00); got "${value}"`);
  return at;
}

export function auditFileOf(home: string): string {
  return path.join(home, 'audit', 'audit.jsonl');
}

const AUDIT_ONLY = ['denied', 'llm', 'sandbox', 'since', 'json'] as const;
const OUTPUT_ONLY = ['stdout', 'stderr'] as const;

/**
 * `sluice logs [-f] [--denied] [--llm] [--sandbox NAME] [--since DURATION] [--json]` reads the
 * audit log under the state directory (what Sluice decided, for every Sluice of this home);
 * `sluice logs [-f] [--stdout|--stderr] NAME` is a gateway sandbox's own output instead, as
 * `docker logs`. The two take different options, and mixing them is a usage error rather than a
 * filter silently ignored.
 */
export async function logs(inv: Invocation, io: CliIO): Promise<number> {
  const name = inv.positionals[0];
  const given = (keys: readonly string[]) => keys.filter((k) => inv.values[k] !== undefined).map((k) => `--${k}`);
  if (name !== undefined) {
    const wrong = given(AUDIT_ONLY);
    if (wrong.length) throw new UsageError(`${wrong.join(', ')} filter${wrong.length === 1 ? 's' : ''} the audit log, not a sandbox's output: for ${name}'s audit events, \`sluice logs --sandbox ${name}\``, inv.command);
    const { sandboxOutput } = await import('./sandboxes.js');
    return sandboxOutput(inv, name, io);
  }
  const wrong = given(OUTPUT_ONLY);
  if (wrong.length) throw new UsageError(`${wrong.join(', ')} select${wrong.length === 1 ? 's' : ''} a sandbox's output: name the sandbox (\`sluice logs ${wrong[0]} NAME\`)`, inv.command);
  return auditLogs(inv, io);
}

/** The reader and the formatter are separate, so a running gateway's event stream can be read the same way. */
async function auditLogs(inv: Invocation, io: CliIO): Promise<number> {
  const sinceText = str(inv, 'since');
  const since = sinceText === undefined ? undefined : parseSince(sinceText);
  const sandbox = str(inv, 'sandbox');
  const filter: LogFilter = { denied: flag(inv, 'denied'), llm: flag(inv, 'llm'), ...(sandbox ? { sandbox } : {}), ...(since !== undefined ? { since } : {}) };
  const json = flag(inv, 'json');
  const follow = flag(inv, 'follow');
  const file = auditFileOf(resolveHome(inv.home, io.env));
  const controller = new AbortController();
  const stop = () => controller.abort();
  if (follow) {
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  }
  let shown = 0;
  try {
    for await (const { line, event } of readAuditLog(file, { ...(since !== undefined ? { since } : {}), follow, signal: controller.signal })) {
      if (!matchesFilter(event, filter)) continue;
      shown += 1;
      io.stdout.write(json ? `${line}\n` : `${formatLogEvent(event).join('\n')}\n`);
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  if (shown === 0 && !follow && !json) io.stderr.write(`sluice logs: no matching events in ${file}\n`);
  return 0;
}
