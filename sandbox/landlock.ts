import { SluiceError } from '../core/index.js';

/**
 * A policy's `landlock` section. In OpenShell it says how strictly the supervisor must confine
 * `filesystem_policy` with Landlock: `best_effort` (the default) runs without it where the kernel
 * lacks it, with an alert; `hard_requirement` refuses to start the sandbox instead. Sluice confines
 * `filesystem_policy` with the sandbox's own mount namespace (bwrap binds, Docker mounts: a path
 * not listed is absent, a read_only one is mounted read-only) and applies no Landlock ruleset, so a
 * requirement of Landlock itself cannot be met: it refuses the sandbox rather than start it with a
 * mechanism the policy did not accept, and says so for `best_effort`, as OpenShell does without it.
 */
export interface LandlockSection {
  compatibility?: 'best_effort' | 'hard_requirement';
}

export const LANDLOCK_BEST_EFFORT_WARNING =
  "landlock: Sluice applies no Landlock ruleset; filesystem_policy is enforced by the sandbox's own mount namespace instead (paths not listed are absent, read_only paths are mounted read-only)";

/** Throws for `hard_requirement`; the warning to show for `best_effort`; nothing when absent. */
export function landlockStance(section: LandlockSection | undefined): string | undefined {
  if (!section) return undefined;
  if (section.compatibility === 'hard_requirement') {
    const reason =
      "landlock.compatibility is hard_requirement, and Sluice applies no Landlock ruleset: it enforces filesystem_policy with the sandbox's own mount namespace (paths not listed are absent, read_only paths are mounted read-only). Set compatibility: best_effort to run under that instead";
    throw new SluiceError('SLUICE_SANDBOX_REFUSED', `sandbox refused: ${reason}`, { reason });
  }
  return LANDLOCK_BEST_EFFORT_WARNING;
}
