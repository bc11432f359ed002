import { isDeepStrictEqual } from 'node:util';
import { SluiceError } from '../core/index.js';
import type { Policy } from '../rules/index.js';
import type { SandboxSpec } from '../sandbox/index.js';

/**
 * OpenShell's split, which Sluice keeps: what shapes the sandbox itself (its file system, its
 * Landlock rules, the user it runs as) is fixed when it is created; what the proxy decides
 * (network, inference routes, redaction, credentials) can change while it runs.
 */
export const STATIC_SECTIONS = ['filesystem_policy', 'landlock', 'process'] as const;
export const DYNAMIC_SECTIONS = ['network_policies', 'inference', 'privacy', 'providers', 'network_middlewares'] as const;
export type StaticSection = (typeof STATIC_SECTIONS)[number];

/** The static sections `next` would change, compared as parsed (defaults filled, key order ignored). */
export function changedStaticSections(current: Policy, next: Policy): StaticSection[] {
  return STATIC_SECTIONS.filter((section) => !isDeepStrictEqual(current[section] ?? null, next[section] ?? null));
}

/** 409 naming every locked section the put would change, so one answer says everything. */
export function refuseStaticChange(sandbox: string, sections: readonly StaticSection[]): SluiceError {
  const list = sections.join(', ');
  return new SluiceError(
    'SLUICE_POLICY_LOCKED',
    `${list} of sandbox ${sandbox} ${sections.length === 1 ? 'is' : 'are'} fixed when the sandbox is created; only ${DYNAMIC_SECTIONS.join(', ')} change while it runs`,
    { reason: `locked: ${list}; create a new sandbox to change ${sections.length === 1 ? 'it' : 'them'}`, sections: [...sections] },
  );
}

/** `process.limits` of a policy, as the sandbox drivers take them. */
export function sandboxLimits(limits: NonNullable<Policy['process']>['limits']): SandboxSpec['limits'] {
  if (!limits) return undefined;
  return {
    ...(limits.processes !== undefined ? { pids: limits.processes } : {}),
    ...(limits.memory_mb !== undefined ? { memoryMb: limits.memory_mb } : {}),
    ...(limits.cpus !== undefined ? { cpus: limits.cpus } : {}),
    ...(limits.open_files !== undefined ? { openFiles: limits.open_files } : {}),
  };
}
