import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import http from 'node:http';
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

/** Where the engine is: DOCKER_HOST, or the default socket when it is unset or empty (as dockerode reads it). */
export function dockerHost(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_HOST || 'unix:///var/run/docker.sock';
}

/** The engine's unix socket; undefined for the transports only dockerode speaks (tcp:// with its TLS variables, ssh://). */
export function engineSocketPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const host = dockerHost(env);
  return host.startsWith('unix://') ? host.slice('unix://'.length) : undefined;
}

/** The most an engine's listing may be: far past any real one, short of what could exhaust memory. */
const MAX_LISTING_BYTES = 64 << 20;

/**
 * GETs an Engine API path over the unix socket and parses its JSON, without dockerode. Listing is
 * all the clean-up that every `sluice run` starts (and `sluice ps`) does unless something is left
 * over; dockerode with its ssh2, gRPC and protobuf is ~2 MB of JavaScript compiled on the event
 * loop while the sandbox starts. Resolves undefined when no engine answers on the socket (none
 * listens, or it does not answer in `timeoutMs`), as `ping` says false; rejects on an answer that
 * is not 2xx JSON.
 */
export function engineGet(socketPath: string, path: string, limits: { timeoutMs?: number; maxBytes?: number } = {}): Promise<unknown> {
  const { timeoutMs = 10_000, maxBytes = MAX_LISTING_BYTES } = limits;
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, path, method: 'GET', headers: { host: 'docker' }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= maxBytes) chunks.push(chunk);
        else if (!res.destroyed) {
          res.destroy();
          reject(new Error(`the Docker engine's answer to GET ${path} is over ${maxBytes} bytes`));
        }
      });
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        if (status < 200 || status > 299) {
          reject(new Error(`the Docker engine answered ${status} to GET ${path}: ${text.slice(0, 200)}`));
          return;
        }
        try {
          resolve(JSON.parse(text));
        } catch {
          reject(new Error(`the Docker engine's answer to GET ${path} is not JSON`));
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => {
      // Nothing there, nothing answering, or no permission: no engine, as for ping.
      if (err.code && ['ENOENT', 'ECONNREFUSED', 'EACCES', 'ENOTSOCK', 'ETIMEDOUT', 'ECONNRESET'].includes(err.code)) resolve(undefined);
      else reject(err);
    });
    req.end();
  });
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
  const socket = dockerHost();
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
