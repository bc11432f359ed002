import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { buildBaseImage, ensureDocker } from '../../sandbox/index.js';
import { repoRoot } from '../fork-child.js';
import type { Cell, MetricRow, ScenarioResult } from '../report/model.js';
import { median, summarise } from '../stats.js';
import type { ScenarioContext } from './context.js';

/**
 * The gateway lane. `sluice run -- true` end to end as a user types it (process start to exit,
 * on the monotonic clock), with a gateway running and, next to it, the way it was before the
 * gateway: `--no-gateway`, a Sluice of its own per run. The runs alternate, so machine load
 * lands on both alike. Then the API: ten sandbox creates sent at once, each timed from its POST to
 * the 201 that answers once the command runs.
 */
const DRIVERS = ['bwrap', 'docker'] as const;
type Driver = (typeof DRIVERS)[number];

function cliEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, SLUICE_HOME: home };
  delete env.NODE_OPTIONS;
  return env;
}

async function startGateway(home: string): Promise<ChildProcess> {
  const child = spawn(join(repoRoot(), 'bin', 'sluice'), ['up', '--listen', '127.0.0.1:0'], { env: cliEnv(home), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('audit log:')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`sluice up exited (${code}): ${err.slice(0, 200)}`)));
  });
  return child;
}

/** One `sluice run -q -- true`, timed from spawn to exit. */
function timedRun(home: string, driver: Driver, ownSluice: boolean): Promise<number> {
  const args = ['run', '-q', '--driver', driver, ...(ownSluice ? ['--no-gateway'] : []), '--', 'true'];
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(join(repoRoot(), 'bin', 'sluice'), args, { env: cliEnv(home), stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`sluice run ${args.join(' ')} exited ${code}: ${err.slice(0, 200)}`))));
  });
}

async function concurrentCreates(agent: Agent, driver: Driver, count: number): Promise<number[]> {
  const tag = `sluice-bench-${process.pid}-${driver}-${Date.now().toString(36)}`;
  const names = Array.from({ length: count }, (_, i) => `${tag}-${i}`);
  const latencies = await Promise.all(names.map(async (name) => {
    const t0 = performance.now();
    const res = await request('http://sluice/v1/sandboxes', { method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, driver, command: ['true'] }) });
    const body = await res.body.text();
    if (res.statusCode !== 201) throw new Error(`create answered ${res.statusCode}: ${body.slice(0, 200)}`);
    return performance.now() - t0;
  }));
  for (const name of names) {
    await (await request(`http://sluice/v1/sandboxes/${name}/wait`, { dispatcher: agent })).body.text();
    await (await request(`http://sluice/v1/sandboxes/${name}`, { method: 'DELETE', dispatcher: agent })).body.text();
  }
  return latencies;
}

export async function gatewayLane(ctx: ScenarioContext): Promise<ScenarioResult> {
  const title = 'Gateway: `sluice run -- true` end to end, and creates through its API';
  const n = ctx.options.quick ? 3 : 20;
  const concurrent = ctx.options.quick ? 3 : 10;
  const row = (id: string, label: string): MetricRow => ({ id: `gateway.${id}`, label, unit: 'ms', better: 'lower', cells: {} });
  const rows = [
    row('run_p50', `sluice run -- true, gateway running: median of ${n}`),
    row('run_p90', 'sluice run -- true, gateway running: p90'),
    row('own_run_p50', `sluice run -- true, a Sluice of its own (before the gateway): median of ${n}`),
    row('create_p50', `API create → running, ${concurrent} at once: median`),
    row('create_max', `API create → running, ${concurrent} at once: slowest`),
  ];
  const extra: Record<string, unknown> = {};
  const fail = (driver: Driver, reason: string) => {
    for (const r of rows) r.cells[driver] ??= { na: `n/a (${reason.slice(0, 120)})` } satisfies Cell;
  };
  if (process.getuid?.() !== 0) {
    for (const d of DRIVERS) fail(d, 'needs root: network namespaces, nftables, dockerd');
    return { id: 'gateway', title, rows };
  }
  const home = await mkdtemp(join(tmpdir(), 'sluice-bench-gw-'));
  let gateway: ChildProcess | undefined;
  let agent: Agent | undefined;
  try {
    gateway = await startGateway(home);
    agent = new Agent({ connect: { socketPath: join(home, 'gateway', 'api.sock') } });
    for (const driver of DRIVERS) {
      try {
        if (driver === 'docker') {
          await ensureDocker();
          await buildBaseImage();
        }
        // one of each, unmeasured: first runs pay for cold caches (image layers, page cache)
        await timedRun(home, driver, false);
        await timedRun(home, driver, true);
        const viaGateway: number[] = [];
        const own: number[] = [];
        for (let i = 0; i < n; i++) {
          viaGateway.push(await timedRun(home, driver, false));
          own.push(await timedRun(home, driver, true));
        }
        const creates = await concurrentCreates(agent, driver, concurrent);
        const g = summarise(viaGateway);
        rows[0]!.cells[driver] = { value: g.p50, rounds: viaGateway };
        rows[1]!.cells[driver] = { value: g.p90 };
        rows[2]!.cells[driver] = { value: median(own), rounds: own };
        rows[3]!.cells[driver] = { value: median(creates), rounds: creates };
        rows[4]!.cells[driver] = { value: Math.max(...creates) };
        extra[driver] = { viaGateway, own, creates };
        ctx.log(`  gateway ${driver}: run median ${g.p50.toFixed(0)} ms (own Sluice ${median(own).toFixed(0)} ms); ${concurrent} creates median ${median(creates).toFixed(0)} ms`);
      } catch (err) {
        fail(driver, (err as Error).message);
      }
    }
  } catch (err) {
    for (const d of DRIVERS) fail(d, (err as Error).message);
  } finally {
    await agent?.close();
    if (gateway && gateway.exitCode === null) {
      const exited = new Promise((resolve) => gateway!.once('exit', resolve));
      gateway.kill('SIGTERM');
      await exited;
    }
    await rm(home, { recursive: true, force: true });
  }
  return { id: 'gateway', title, note: `goals: with a gateway, bwrap < 300 ms, docker < 1 s (median of ${n}); the creates answer once the command runs`, rows, extra };
}
