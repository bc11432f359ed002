import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import type Docker from 'dockerode';
import { lazyModule } from '../core/index.js';
import { findOnPath, missingToolMessage } from './host-tools.js';

/**
 * A dockerode client for DOCKER_HOST or the default socket. dockerode and its dependencies take
 * ~28 MB once loaded: it is required on first use, so a gateway that never runs a docker
 * sandbox (and `sluice up` at idle) does not carry it.
 */
const dockerode = lazyModule<typeof Docker>('dockerode');

export function dockerClient(): Docker {
  return new (dockerode())();
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

/** Whether the engine has the image; only a 404 means it has not (anything else is thrown). */
export async function hasImage(docker: Docker, image: string): Promise<boolean> {
  try {
    await docker.getImage(image).inspect();
    return true;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return false;
    throw err;
  }
}

/**
 * Makes sure a Docker engine answers, starting `dockerd` (as root, logging to `logFile`) when
 * none does. For tests, CI and first runs on a fresh machine; the daemon is left running
 * because other sandboxes share it.
 */
export async function ensureDocker(opts: { logFile?: string; timeoutMs?: number; onProgress?: (line: string) => void } = {}): Promise<Docker> {
  const docker = dockerClient();
  if (await ping(docker)) return docker;
  const socket = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  if (process.getuid?.() !== 0) throw new Error(`no Docker engine answers at ${socket}, and only root can start one: start dockerd (or \`systemctl start docker\`), or set DOCKER_HOST; \`sluice doctor\` checks the setup`);
  // Without this check a missing dockerd would only show as 30 s of silence.
  if (!findOnPath('dockerd')) throw new Error(`no Docker engine answers at ${socket} and ${missingToolMessage('dockerd')}`);
  const log = openSync(opts.logFile ?? '/tmp/dockerd.log', 'a');
  try {
    opts.onProgress?.(`no Docker engine answers at ${socket}: starting dockerd (log: ${opts.logFile ?? '/tmp/dockerd.log'})`);
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
