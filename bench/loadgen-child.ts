import type { Dispatcher } from 'undici';
import { serveChildRpc } from './child-rpc.js';
import { createDispatcher, oneRequest, runLoad, type LoadJob } from './load.js';
import type { LoadCommand } from './loadgen.js';

/** The load generator's process: runs one job at a time, or holds idle keep-alive connections. */
const held: Dispatcher[] = [];

async function hold(job: LoadJob, connections: number): Promise<{ opened: number; firstError?: string }> {
  const dispatcher = createDispatcher(job, connections);
  held.push(dispatcher);
  const url = new URL(job.urls[0]!);
  let opened = 0;
  let firstError: string | undefined;
  // All in flight at once, so the pool must open one connection per request; they then sit idle.
  await Promise.all(Array.from({ length: connections }, () => oneRequest(dispatcher, url, job).then(
    () => { opened++; },
    (e: unknown) => { firstError ??= e instanceof Error ? e.message : String(e); },
  )));
  return { opened, ...(firstError ? { firstError } : {}) };
}

serveChildRpc(async (raw) => {
  const cmd = raw as LoadCommand;
  switch (cmd.kind) {
    case 'run':
      return runLoad(cmd.job);
    case 'hold':
      return hold(cmd.job, cmd.connections);
    case 'release':
      await Promise.all(held.splice(0).map((d) => d.destroy().catch(() => undefined)));
      return {};
  }
});
