import { parseArgs } from 'node:util';
import { demuxFrames } from './frames.js';
import { describeError, findGateway } from './gateway-client.js';
import type { GatewayClient } from './gateway-client.js';
import { resolveHome } from './home.js';
import type { CliIO } from './io.js';

/**
 * `sluice ps | stop | rm | logs | wait`: the gateway's sandboxes through its API. Without a
 * gateway, `ps` and `stop` still see sandboxes of `sluice run`s that run a Sluice of their own.
 */
interface SandboxView {
  name: string;
  driver: string;
  state: string;
  command: string[];
  created_at: string;
  exit_code?: number | null;
}

async function withGateway(io: CliIO, home: string | undefined, command: string, fn: (client: GatewayClient) => Promise<number>): Promise<number> {
  const client = await findGateway(resolveHome(home, io.env), io.env);
  if (!client) {
    io.stderr.write(`sluice ${command}: no gateway is running (start one with \`sluice up\`)\n`);
    return 1;
  }
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

const sandboxPath = (name: string) => `/v1/sandboxes/${encodeURIComponent(name)}`;

function refused(io: CliIO, command: string, body: Record<string, unknown>): number {
  io.stderr.write(`sluice ${command}: ${describeError(body)}\n`);
  return 1;
}

/** `sluice ps [-a]`: running sandboxes (all, with -a), the gateway's and any ephemeral ones. */
export async function ps(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { all: { type: 'boolean', short: 'a' }, home: { type: 'string' }, json: { type: 'boolean' } }, strict: true });
  const rows: string[][] = [];
  const seen = new Set<string>();
  const client = await findGateway(resolveHome(values.home, io.env), io.env);
  if (client) {
    try {
      const res = await client.call<{ sandboxes: SandboxView[] }>('GET', '/v1/sandboxes');
      if (res.status !== 200) return refused(io, 'ps', res.body as unknown as Record<string, unknown>);
      if (values.json) {
        io.stdout.write(`${JSON.stringify(res.body.sandboxes)}\n`);
        return 0;
      }
      for (const s of res.body.sandboxes) {
        seen.add(s.name);
        if (!values.all && s.state !== 'running' && s.state !== 'creating') continue;
        rows.push([s.name, s.driver, s.created_at, s.state, s.exit_code === undefined || s.exit_code === null ? '-' : String(s.exit_code), s.command.join(' ')]);
      }
    } finally {
      client.close();
    }
  }
  // `sluice run`s with a Sluice of their own; orphans (their run is gone) are listed, then removed
  const { cleanupLeftovers, listSandboxes } = await import('../sandbox/index.js');
  const own = await listSandboxes();
  const report = await cleanupLeftovers();
  for (const s of own) {
    if (seen.has(s.name) || (!values.all && !s.running && !s.orphaned)) continue;
    const state = s.orphaned ? (report.removed.includes(s.name) ? 'orphan, removed now' : 'orphan') : `${s.running ? 'running' : 'exited'} (own Sluice)`;
    rows.push([s.name, s.driver, s.createdAt, state, '-', s.command.join(' ')]);
  }
  io.stdout.write(`${['NAME', 'DRIVER', 'CREATED', 'STATE', 'EXIT', 'COMMAND'].join('\t')}\n`);
  for (const row of rows) io.stdout.write(`${row.join('\t')}\n`);
  for (const failure of report.failed) io.stderr.write(`sluice ps: could not remove ${failure}\n`);
  return 0;
}

/** `sluice stop [-t SECONDS] NAME…`: SIGTERM, SIGKILL after the grace period; resources released. */
export async function stop(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { time: { type: 'string', short: 't' }, home: { type: 'string' } }, allowPositionals: true, strict: true });
  if (positionals.length === 0) {
    io.stderr.write('usage: sluice stop [-t SECONDS] NAME...\n');
    return 2;
  }
  const graceMs = values.time !== undefined ? Math.round(Number(values.time) * 1000) : undefined;
  if (graceMs !== undefined && !(graceMs >= 0)) {
    io.stderr.write('sluice stop: -t expects seconds\n');
    return 2;
  }
  const client = await findGateway(resolveHome(values.home, io.env), io.env);
  let failed = 0;
  for (const name of positionals) {
    const res = client ? await client.call('POST', `${sandboxPath(name)}/stop`, graceMs !== undefined ? { grace_ms: graceMs } : undefined) : undefined;
    if (res?.status === 200) {
      io.stdout.write(`${String(res.body.name)}\n`);
      continue;
    }
    if (res && res.status !== 404) {
      failed += refused(io, 'stop', res.body);
      continue;
    }
    // not the gateway's: a `sluice run` with a Sluice of its own
    const { stopSandbox } = await import('../sandbox/index.js');
    try {
      await stopSandbox(name, graceMs !== undefined ? { graceMs } : {});
      io.stdout.write(`${name}\n`);
    } catch (err) {
      io.stderr.write(`sluice stop: ${(err as Error).message}\n`);
      failed++;
    }
  }
  client?.close();
  return failed ? 1 : 0;
}

/** `sluice rm [-f] NAME…`: removes ended sandboxes' records and output (-f stops running ones first). */
export async function rm(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { force: { type: 'boolean', short: 'f' }, home: { type: 'string' } }, allowPositionals: true, strict: true });
  if (positionals.length === 0) {
    io.stderr.write('usage: sluice rm [-f] NAME...\n');
    return 2;
  }
  return withGateway(io, values.home, 'rm', async (client) => {
    let failed = 0;
    for (const name of positionals) {
      const res = await client.call('DELETE', `${sandboxPath(name)}${values.force ? '?force=true' : ''}`);
      if (res.status === 200) io.stdout.write(`${String(res.body.removed)}\n`);
      else failed += refused(io, 'rm', res.body);
    }
    return failed ? 1 : 0;
  });
}

/** `sluice logs [-f] [--stdout|--stderr] NAME`: the sandbox's output, stdout to stdout, stderr to stderr. */
export async function logs(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { follow: { type: 'boolean', short: 'f' }, stdout: { type: 'boolean' }, stderr: { type: 'boolean' }, home: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) {
    io.stderr.write('usage: sluice logs [-f] [--stdout|--stderr] NAME\n');
    return 2;
  }
  const only = values.stdout && !values.stderr ? '&stderr=false' : values.stderr && !values.stdout ? '&stdout=false' : '';
  return withGateway(io, values.home, 'logs', async (client) => {
    try {
      const stream = await client.stream(`${sandboxPath(positionals[0]!)}/logs?follow=${values.follow ? 1 : 0}${only}`);
      await demuxFrames(stream, io.stdout, io.stderr);
      return 0;
    } catch (err) {
      return refused(io, 'logs', (err as { body?: Record<string, unknown> }).body ?? { detail: (err as Error).message });
    }
  });
}

/** `sluice wait NAME`: blocks until the command has ended; prints its exit code (as `docker wait`). */
export async function wait(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { home: { type: 'string' } }, allowPositionals: true, strict: true });
  if (positionals.length !== 1) {
    io.stderr.write('usage: sluice wait NAME\n');
    return 2;
  }
  return withGateway(io, values.home, 'wait', async (client) => {
    const res = await client.call('GET', `${sandboxPath(positionals[0]!)}/wait`);
    if (res.status !== 200) return refused(io, 'wait', res.body);
    io.stdout.write(`${res.body.exit_code === null ? res.body.state : String(res.body.exit_code)}\n`);
    return 0;
  });
}
