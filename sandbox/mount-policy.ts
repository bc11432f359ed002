import { existsSync } from 'node:fs';
import path from 'node:path';
import { SluiceError } from '../core/index.js';

/**
 * Host trees a policy may not bind into a sandbox: they hold the host's processes, devices
 * and control sockets (docker.sock, /run/netns), and the sandbox gets its own /proc, /dev, /tmp.
 */
const HOST_ONLY = ['/proc', '/sys', '/dev', '/run', '/var/run'];
/** What OpenShell-style policies list and every sandbox already has (--dev / Docker's /dev). */
const ALREADY_THERE = new Set(['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty', '/tmp']);

/**
 * With an image (docker), these are the image's own system trees: OpenShell policies list them
 * to say "readable", and mounting the host's copies over the image would mix two systems.
 */
const IMAGE_TREES = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc', '/var'];

const under = (roots: string[], p: string) => roots.some((r) => p === r || p.startsWith(`${r}/`));

export interface PolicyMounts {
  readOnly: string[];
  readWrite: string[];
  /** paths left out, each with the reason, for the caller to show */
  warnings: string[];
}

/**
 * Turns `filesystem_policy` lists into bind mounts: absolute, existing (Docker would create a
 * missing source as an empty root-owned directory on the host; bwrap would fail), never `/`
 * and never a host-only tree.
 */
export function policyMounts(
  fs: { read_only?: string[]; read_write?: string[] } | undefined,
  opts: { imageProvides?: boolean } = {},
): PolicyMounts {
  const warnings: string[] = [];
  const keep = (list: string[] | undefined, kind: string): string[] => {
    const out: string[] = [];
    for (const raw of list ?? []) {
      const p = path.resolve(raw);
      if (ALREADY_THERE.has(p)) continue;
      if (p === '/') warnings.push(`${kind} ${raw}: the host root is never mounted`);
      else if (under(HOST_ONLY, p)) warnings.push(`${kind} ${raw}: host-only path, not mounted`);
      else if (opts.imageProvides && under(IMAGE_TREES, p)) warnings.push(`${kind} ${raw}: provided by the image (read-only), not mounted from the host`);
      else if (!existsSync(p)) warnings.push(`${kind} ${raw}: does not exist on the host, not mounted`);
      else if (!out.includes(p)) out.push(p);
    }
    return out;
  };
  return { readOnly: keep(fs?.read_only, 'read_only'), readWrite: keep(fs?.read_write, 'read_write'), warnings };
}

/**
 * Paths the caller asks for by name (SandboxSpec.readOnlyMounts), unlike a policy's lists which
 * describe what a sandbox may see: one that cannot be mounted refuses the sandbox instead of
 * being left out with a warning, since the command would not run without it.
 */
export function requestedReadOnly(paths: string[] | undefined): string[] {
  const out: string[] = [];
  for (const raw of paths ?? []) {
    const refuse = (why: string) => new SluiceError('SLUICE_SANDBOX_REFUSED', `read-only mount ${raw}: ${why}`, { reason: `read-only mount ${raw}: ${why}` });
    if (!path.isAbsolute(raw)) throw refuse('not an absolute path');
    const p = path.resolve(raw);
    if (p === '/') throw refuse('the host root is never mounted');
    if (under(HOST_ONLY, p)) throw refuse('a host-only tree');
    if (!existsSync(p)) throw refuse('does not exist on the host');
    if (!out.includes(p)) out.push(p);
  }
  return out;
}
