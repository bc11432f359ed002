import { UsageError, flag, str } from './args.js';
import type { Invocation } from './args.js';
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
export async function ps(inv: Invocation, io: CliIO): Promise<number> {
  const values = { all: flag(inv, 'all'), json: flag(inv, 'json') };
  const rows: string[][] = [];
  const seen = new Set<string>();
  const client = await findGateway(resolveHome(inv.home, io.env), io.env);
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
export async function stop(inv: Invocation, io: CliIO): Promise<number> {
  const positionals = inv.positionals;
  const time = str(inv, 'time');
  const graceMs = time !== undefined ? Math.round(Number(time) * 1000) : undefined;
  if (graceMs !== undefined && !(graceMs >= 0)) throw new UsageError('-t expects seconds', inv.command);
  const client = await findGateway(resolveHome(inv.home, io.env), io.env);
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
export async function rm(inv: Invocation, io: CliIO): Promise<number> {
  const force = flag(inv, 'force');
  return withGateway(io, inv.home, 'rm', async (client) => {
    let failed = 0;
    for (const name of inv.positionals) {
      const res = await client.call('DELETE', `${sandboxPath(name)}${force ? '?force=true' : ''}`);
      if (res.status === 200) io.stdout.write(`${String(res.body.removed)}\n`);
      else failed += refused(io, 'rm', res.body);
    }
    return failed ? 1 : 0;
  });
}

/** `sluice logs [-f] [--stdout|--stderr] NAME`: the sandbox's output, stdout to stdout, stderr to stderr. */
export async function sandboxOutput(inv: Invocation, name: string, io: CliIO): Promise<number> {
  const out = flag(inv, 'stdout');
  const err = flag(inv, 'stderr');
  const only = out && !err ? '&stderr=false' : err && !out ? '&stdout=false' : '';
  return withGateway(io, inv.home, 'logs', async (client) => {
    try {
      const stream = await client.stream(`${sandboxPath(name)}/logs?follow=${flag(inv, 'follow') ? 1 : 0}${only}`);
      await demuxFrames(stream, io.stdout, io.stderr);
      return 0;
    } catch (e) {
      return refused(io, 'logs', (e as { body?: Record<string, unknown> }).body ?? { detail: (e as Error).message });
    }
  });
}

/** `sluice wait NAME`: blocks until the command has ended; prints its exit code (as `docker wait`). */
export async function wait(inv: Invocation, io: CliIO): Promise<number> {
  return withGateway(io, inv.home, 'wait', async (client) => {
    const res = await client.call('GET', `${sandboxPath(inv.positionals[0]!)}/wait`);
    if (res.status !== 200) return refused(io, 'wait', res.body);
    io.stdout.write(`${res.body.exit_code === null ? res.body.state : String(res.body.exit_code)}\n`);
    return 0;
  });
}
