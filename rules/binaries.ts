import type { ProcessIdentity } from '../core/index.js';
import { compilePathGlob } from './glob.js';

/**
 * A network policy's `binaries`, as OpenShell matches them (sandbox-policy.rego binary_allowed):
 * an exact path equals the connecting process's executable or one of its ancestors'; a path with
 * `*` is a glob (`*` within one directory, `**` across) over the same list. Never argv: a process
 * can name itself anything. The identity comes from the sandbox (`sluice run`); a client outside
 * any sandbox has none (`undefined`), and then `binaries` cannot narrow the policy (Sluice warns at
 * load). A sandboxed client Sluice could not attribute is `UNATTRIBUTED`: only policies without
 * `binaries`, which apply to every program, admit it.
 */
export type { ProcessIdentity } from '../core/index.js';

export const UNATTRIBUTED = 'unattributed';

/** What is known of the program behind a connection, as the policy matches it. */
export type ClientIdentity = ProcessIdentity | typeof UNATTRIBUTED | undefined;

export interface BinaryMatcher {
  readonly paths: readonly string[];
  admits(identity: ClientIdentity): boolean;
}

export function compileBinaries(binaries: ReadonlyArray<{ path: string }> | undefined): BinaryMatcher {
  const paths = (binaries ?? []).map((b) => b.path);
  const tests = paths.map((p) => (p.includes('*') ? compilePathGlob(p).test : (x: string) => x === p));
  return {
    paths,
    admits(identity) {
      if (paths.length === 0 || identity === undefined) return true;
      if (identity === UNATTRIBUTED) return false;
      const candidates = [identity.exe, ...identity.ancestors];
      return tests.some((t) => candidates.some((c) => t(c)));
    },
  };
}

/** The program behind a connection, in words, for denial reasons. */
export function describeIdentity(identity: ProcessIdentity): string {
  return identity.ancestors.length ? `${identity.exe} (started by ${identity.ancestors.join(' < ')})` : identity.exe;
}
