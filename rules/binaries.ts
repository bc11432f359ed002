import { compilePathGlob } from './glob.js';

/**
 * A network policy's `binaries`, as OpenShell matches them (sandbox-policy.rego binary_allowed):
 * an exact path equals the connecting process's executable or one of its ancestors'; a path with
 * `*` is a glob (`*` within one directory, `**` across) over the same list. Never argv: a process
 * can name itself anything. The identity comes from the sandbox (`sluice run`); a client outside
 * any sandbox has none, and then `binaries` cannot narrow the policy (Sluice warns at load).
 */
export interface ProcessIdentity {
  /** The kernel's /proc/<pid>/exe of the process that owns the connection. */
  exe: string;
  /** The executables of its ancestors inside the sandbox, nearest first. */
  ancestors: readonly string[];
}

export interface BinaryMatcher {
  readonly paths: readonly string[];
  admits(identity: ProcessIdentity | undefined): boolean;
}

export function compileBinaries(binaries: ReadonlyArray<{ path: string }> | undefined): BinaryMatcher {
  const paths = (binaries ?? []).map((b) => b.path);
  const tests = paths.map((p) => (p.includes('*') ? compilePathGlob(p).test : (x: string) => x === p));
  return {
    paths,
    admits(identity) {
      if (identity === undefined || paths.length === 0) return true;
      const candidates = [identity.exe, ...identity.ancestors];
      return tests.some((t) => candidates.some((c) => t(c)));
    },
  };
}
