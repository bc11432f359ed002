import type { Candidate, Recognizer } from './recognizer.js';
import type { RecognizerConfig, ValidatorName } from './schema.js';
import { digitsOf, ibanValid, looksRandom, luhnValid, ssnValid } from './validators.js';

const VALIDATE: Record<ValidatorName, (value: string) => boolean> = {
  luhn: (v) => luhnValid(digitsOf(v)),
  iban: (v) => ibanValid(v.replace(/[\s-]/g, '')),
  us_ssn: (v) => ssnValid(digitsOf(v)),
  entropy: (v) => looksRandom(v),
};

/** Policy recognizers rank between the shaped secrets and generic assignments. */
const CUSTOM_PRIORITY = 65;

export function customRecognizer(cfg: RecognizerConfig): Recognizer {
  const validate = cfg.validator === undefined ? undefined : VALIDATE[cfg.validator];
  const context = cfg.context?.map((w) => w.toLowerCase());
  return {
    name: cfg.name,
    type: cfg.name,
    pattern: cfg.pattern,
    score: cfg.score ?? 0.85,
    priority: CUSTOM_PRIORITY,
    // Whether an arbitrary pattern can span lines is unknown, so it always sees whole texts.
    multiline: true,
    ...(context ? { context } : {}),
    // Without a validator there is nothing to check: the C++ collector evaluates the matches itself (context words,
    // threshold, allow-list); a validator is JavaScript's to run.
    ...(validate ? { check: (c: Candidate, score: number) => (validate(c.text.slice(c.start, c.end)) ? score : 0) } : { native: 'none' as const }),
  };
}
