import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type Docker from 'dockerode';
import type { LimitEvents } from './cgroup.js';
import type { AttachedStdio } from './docker-stdio.js';
import type { RunningSandbox, SandboxInit } from './types.js';

const POLL_MS = 200;

/**
 * How often the container hit its limits. Docker reports an OOM kill (State.OOMKilled) but not
 * a refused fork, and removes the container's cgroup when it stops: the counters are read from
 * the cgroup (found through the container's init, v1 or v2, cgroupfs or systemd driver) every
 * POLL_MS while it runs, and kept. A limit reached less than POLL_MS before the container ended
 * can go unreported (the command's own error still says so).
 */
export function watchLimitEvents(container: Docker.Container): { events(): LimitEvents; stop(): void } {
  const seen: LimitEvents = { pidsMax: 0, oomKills: 0 };
  let dirs: { pids: string; memory: string; v2: boolean } | undefined;
  const poll = async () => {
    dirs ??= await cgroupDirsOf(container);
    if (!dirs) return;
    const read = (file: string) => readFile(file, 'utf8').catch(() => '');
    const count = (text: string, key: string) => Number(new RegExp(`^${key} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    seen.pidsMax = Math.max(seen.pidsMax, count(await read(path.join(dirs.pids, 'pids.events')), 'max'));
    const memory = await read(path.join(dirs.memory, dirs.v2 ? 'memory.events' : 'memory.oom_control'));
    seen.oomKills = Math.max(seen.oomKills, count(memory, 'oom_kill'));
  };
  const timer = setInterval(() => void poll().catch(() => undefined), POLL_MS);
  timer.unref();
  void poll().catch(() => undefined);
  return {
    events: () => ({ ...seen }),
    stop: () => clearInterval(timer),
  };
}

async function cgroupDirsOf(container: Docker.Container): Promise<{ pids: string; memory: string; v2: boolean } | undefined> {
  const pid = (await container.inspect()).State?.Pid;
  if (!pid) return undefined;
  const lines = (await readFile(`/proc/${pid}/cgroup`, 'utf8')).split('\n');
  const of = (controller: string) => lines.find((l) => l.split(':')[1]?.split(',').includes(controller))?.split(':')[2];
  const pids = of('pids');
  const memory = of('memory');
  if (pids !== undefined && memory !== undefined) {
    return { pids: path.join('/sys/fs/cgroup/pids', pids), memory: path.join('/sys/fs/cgroup/memory', memory), v2: false };
  }
  const unified = lines.find((l) => l.startsWith('0::'))?.slice(3);
  return unified === undefined ? undefined : { pids: path.join('/sys/fs/cgroup', unified), memory: path.join('/sys/fs/cgroup', unified), v2: true };
}

export function runningDocker(opts: {
  name: string;
  container: Docker.Container;
  reachable: { host: string; port: number };
  stdio: AttachedStdio;
  waited: Promise<{ StatusCode: number }>;
  exitNotes: () => Promise<string[]>;
  cleanup: () => Promise<void>;
}): RunningSandbox {
  // The exit code is final only once the output stream has drained, or the last lines are lost.
  // Docker does not always end a hijacked attach stream when the container exits (stdin still
  // open): give it a moment, then close it ourselves.
  const exited = opts.waited.then(
    async (result) => {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, 2000);
      });
      await Promise.race([opts.stdio.ended, grace]);
      clearTimeout(timer);
      opts.stdio.detach();
      return result.StatusCode;
    },
    () => 125,
  );
  let removed: Promise<void> | undefined;
  return {
    name: opts.name,
    driver: 'docker',
    proxyAddress: opts.reachable,
    stdin: opts.stdio.stdin,
    stdout: opts.stdio.stdout,
    stderr: opts.stdio.stderr,
    wait: () => exited,
    init: () => containerInit(opts.container),
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      opts.container.kill({ signal }).catch(() => undefined);
    },
    exitNotes: opts.exitNotes,
    remove() {
      removed ??= (async () => {
        opts.stdio.detach();
        await opts.cleanup();
      })();
      return removed;
    },
  };
}

/** The container's init as the host sees it: docker-init when the container runs with `Init`, else CMD. */
async function containerInit(container: Docker.Container): Promise<SandboxInit | undefined> {
  const info = await container.inspect().catch(() => undefined);
  const pid = info?.State?.Running ? info.State.Pid : 0;
  return pid > 0 ? { pid, supervisor: info?.HostConfig?.Init === true } : undefined;
}
