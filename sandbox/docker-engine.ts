import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import Docker from 'dockerode';

/** A dockerode client for DOCKER_HOST or the default socket. */
export function dockerClient(): Docker {
  return new Docker();
}

/** True when the engine answers. */
export async function ping(docker: Docker): Promise<boolean> {
  try {
    await docker.ping();
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes sure a Docker engine answers, starting `dockerd` (as root, logging to `logFile`) when
 * none does. For tests, CI and first runs on a fresh machine; the daemon is left running
 * because other sandboxes share it.
 */
export async function ensureDocker(opts: { logFile?: string; timeoutMs?: number } = {}): Promise<Docker> {
  const docker = dockerClient();
  if (await ping(docker)) return docker;
  if (process.getuid?.() !== 0) throw new Error('Docker engine not reachable and not root: start dockerd or set DOCKER_HOST');
  const log = openSync(opts.logFile ?? '/tmp/dockerd.log', 'a');
  try {
    const child = spawn('dockerd', [], { detached: true, stdio: ['ignore', log, log] });
    child.on('error', () => undefined);
    child.unref();
  } finally {
    closeSync(log);
  }
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  while (Date.now() < deadline) {
    if (await ping(docker)) return docker;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`dockerd did not come up within ${opts.timeoutMs ?? 30_000} ms (see ${opts.logFile ?? '/tmp/dockerd.log'})`);
}
