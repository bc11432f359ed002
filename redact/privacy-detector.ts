import { BUILTIN_RECOGNIZERS, PLACEHOLDER_PATTERN, PLACEHOLDER_PREFILTER } from './builtin-recognizers.js';
import { customRecognizer } from './custom-recognizers.js';
import type { DetectorOptions } from './detector.js';
import { BUILTIN_TYPES, LITERAL_TYPE, expandTypes } from './entities.js';
import type { Recognizer } from './recognizer.js';
import type { Operator, PrivacyConfig } from './schema.js';

const DEFAULT_THRESHOLD = 0.5;

export function recognizersFor(types: ReadonlySet<string>, custom: readonly Recognizer[]): Recognizer[] {
  return [...BUILTIN_RECOGNIZERS.filter((r) => types.has(r.type)), ...custom.filter((r) => types.has(r.type))];
}

/** What a `privacy` section asks to find and how to replace it. */
export interface PrivacyPlan {
  custom: Recognizer[];
  types: Set<string>;
  enabled: boolean;
  operators: Map<string, Operator>;
  /** The redaction detector's options: the redactor's and its worker pool's, built from the same section. */
  detector: DetectorOptions;
}

/**
 * One place that turns a `privacy` section into a detector's options, so that a worker thread given the same
 * section builds a detector whose recognizers, and so whose type indices in packed spans, are the redactor's.
 */
export function privacyPlan(config: PrivacyConfig | undefined): PrivacyPlan {
  const cfg: PrivacyConfig = config ?? {};
  const custom = (cfg.recognizers ?? []).map(customRecognizer);
  const selected = cfg.redact === undefined || cfg.redact === 'all' ? [...BUILTIN_TYPES] : expandTypes(cfg.redact);
  const types = new Set([...selected, ...custom.map((r) => r.type)]);
  const enabled = config !== undefined && types.size > 0;
  const operators = new Map<string, Operator>();
  for (const t of types) operators.set(t, cfg.mode ?? 'pseudonymize');
  for (const [name, op] of Object.entries(cfg.operators ?? {})) for (const t of expandTypes([name])) if (types.has(t)) operators.set(t, op);
  const recognizers = enabled ? recognizersFor(types, custom) : [];
  if (enabled && [...operators.values()].includes('pseudonymize')) {
    // Placeholder look-alikes typed by the user get a pseudonym of their own, so a restore gives them back
    // verbatim instead of swapping in a real value.
    recognizers.push({ name: LITERAL_TYPE, type: LITERAL_TYPE, pattern: PLACEHOLDER_PATTERN, prefilter: PLACEHOLDER_PREFILTER, score: 1, priority: 200, native: 'none' });
  }
  return { custom, types, enabled, operators, detector: { recognizers, threshold: cfg.threshold ?? DEFAULT_THRESHOLD, allow: cfg.allow ?? [] } };
}
