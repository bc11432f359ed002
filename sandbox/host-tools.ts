import { accessSync, constants, statSync } from 'node:fs';

/**
 * The host programs Sluice runs, and the Debian package each comes in, so that a missing one
 * is reported as a sentence naming the package (and `sluice doctor` can check and install them)
 * instead of `spawn nft ENOENT`.
 */
export interface HostTool {
  command: string;
  /** Debian 12 package. */
  package: string;
  /** What needs it, in words. */
  neededFor: string;
}

export const HOST_TOOLS: readonly HostTool[] = [
  { command: 'bwrap', package: 'bubblewrap', neededFor: 'sluice run (the default bwrap driver)' },
  { command: 'nft', package: 'nftables', neededFor: 'sluice run as root (the firewall that leaves the sandbox only the proxy)' },
  { command: 'ip', package: 'iproute2', neededFor: 'sluice run as root (the sandbox\'s network namespace and veth pair)' },
  { command: 'nsenter', package: 'util-linux', neededFor: 'sluice run as root (entering the sandbox\'s network namespace)' },
  { command: 'setpriv', package: 'util-linux', neededFor: 'sluice run as root (dropping to the sandbox user)' },
  { command: 'setfacl', package: 'acl', neededFor: "sluice run as root in a root-owned workdir (lending it to the sandbox's user with POSIX ACLs)" },
  { command: 'dockerd', package: 'docker.io', neededFor: 'sluice run --driver docker (the Docker engine)' },
  { command: 'docker', package: 'docker.io', neededFor: 'sluice image build (docker import)' },
  { command: 'tar', package: 'tar', neededFor: 'sluice image build' },
  { command: 'ldd', package: 'libc-bin', neededFor: 'sluice image build' },
  { command: 'getent', package: 'libc-bin', neededFor: 'sluice run (looking up the sandbox user)' },
  { command: 'curl', package: 'curl', neededFor: 'the base image and the README\'s examples' },
  { command: 'python3', package: 'python3', neededFor: 'npm install (node-gyp builds re2)' },
  { command: 'make', package: 'make', neededFor: 'npm install (node-gyp builds re2)' },
  { command: 'g++', package: 'g++', neededFor: 'npm install (node-gyp builds re2 and the redaction addon)' },
];

export function hostTool(command: string): HostTool | undefined {
  const base = command.split('/').pop() ?? command;
  return HOST_TOOLS.find((t) => t.command === base);
}

/** "nft is not installed …" for a tool that is missing from PATH. */
export function missingToolMessage(command: string): string {
  const tool = hostTool(command);
  const base = command.split('/').pop() ?? command;
  if (!tool) return `${base} is not installed or not on PATH (${process.env.PATH ?? 'no PATH'}); \`sluice doctor\` checks what Sluice needs`;
  return `${base} is not installed: it is in the Debian package ${tool.package}, needed for ${tool.neededFor}. Install it with \`apt-get install -y ${tool.package}\` (or run \`sluice doctor --fix\` as root)`;
}

/** The sentence for a failed spawn of a missing program, or undefined for any other error. */
export function explainSpawnError(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException & { path?: string; spawnargs?: string[] } | undefined;
  const cause = (e as { cause?: NodeJS.ErrnoException & { path?: string } } | undefined)?.cause;
  for (const candidate of [e, cause]) {
    if (candidate?.code === 'ENOENT' && typeof candidate.syscall === 'string' && candidate.syscall.startsWith('spawn')) {
      return missingToolMessage(candidate.path ?? candidate.syscall.slice('spawn '.length));
    }
  }
  return undefined;
}

/** The first executable `command` on PATH, or undefined. */
export function findOnPath(command: string, pathVar: string = process.env.PATH ?? ''): string | undefined {
  for (const dir of pathVar.split(':')) {
    if (!dir) continue;
    const candidate = `${dir.replace(/\/$/, '')}/${command}`;
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
