import { readFileSync } from 'node:fs';
import os from 'node:os';
import { SluiceError } from '../core/index.js';

/** What every sandbox is held to. Each value can be set in the policy's `process.limits`. */
export interface SandboxLimits {
  /** processes and threads at once */
  pids: number;
  /** memory, page cache and tmpfs included; no swap beyond it */
  memoryMb: number;
  /** CPU time, in CPUs (1.5 = one and a half) */
  cpus: number;
  /** open files per process (RLIMIT_NOFILE, soft and hard) */
  openFiles: number;
}

export type LimitsRequest = Partial<SandboxLimits>;

const MIB = 1024 * 1024;
export const DEFAULT_PIDS = 1024;
export const DEFAULT_OPEN_FILES = 16384;
export const MAX_DEFAULT_MEMORY_MB = 8192;

/**
 * The defaults, documented in README and sandbox/README: 1,024 processes (Docker's own
 * `--pids-limit` habit; a fork bomb stops there instead of at the host's pid_max), half of the
 * host's memory up to 8 GiB, every CPU but one (at least one, so that the proxy and the host
 * keep a core), and 16,384 open files per process.
 */
export function defaultLimits(host: { memoryMb: number; cpus: number } = hostResources()): SandboxLimits {
  return {
    pids: DEFAULT_PIDS,
    memoryMb: Math.min(MAX_DEFAULT_MEMORY_MB, Math.floor(host.memoryMb / 2)),
    cpus: Math.max(1, host.cpus - 1),
    openFiles: DEFAULT_OPEN_FILES,
  };
}

function hostResources(): { memoryMb: number; cpus: number } {
  return { memoryMb: Math.floor(os.totalmem() / MIB), cpus: os.availableParallelism() };
}

export interface ResolvedLimits {
  limits: SandboxLimits;
  /** the ones the caller asked for; a sandbox that cannot enforce one of these refuses to start */
  explicit: Array<keyof SandboxLimits>;
}

export function resolveLimits(requested: LimitsRequest = {}, defaults: SandboxLimits = defaultLimits()): ResolvedLimits {
  const explicit = (Object.keys(requested) as Array<keyof SandboxLimits>).filter((k) => requested[k] !== undefined);
  for (const key of explicit) {
    const value = requested[key] as number;
    const integer = key !== 'cpus';
    if (!(value > 0) || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
      throw new SluiceError('SLUICE_SANDBOX_REFUSED', `limits.${key} must be a positive ${integer ? 'integer' : 'number'}; got ${value}`);
    }
  }
  return { limits: { ...defaults, ...Object.fromEntries(explicit.map((k) => [k, requested[k]])) }, explicit };
}

/** This process's hard RLIMIT_NOFILE: without root a sandbox can only lower it. */
export function hardOpenFilesLimit(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const hard = line?.trim().split(/\s{2,}/)[2];
    return hard === undefined || hard === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(hard);
  } catch {
    return Number.MAX_SAFE_INTEGER;
  }
}

/** `128 MiB`, `8 GiB`: how limits read in messages. */
export function formatMb(mb: number): string {
  return mb >= 1024 && mb % 1024 === 0 ? `${mb / 1024} GiB` : `${mb} MiB`;
}
