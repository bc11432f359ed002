import { SluiceError } from '../core/index.js';

/**
 * One budget for every request body a stage asked to see whole (LLM calls, redact-mode DLP,
 * opt-in credential injection). A buffered body costs more than its bytes while it is handled
 * (its chunks, the concatenated copy, the parsed JSON, a redacted clone, the text sent on), so
 * each byte is charged COST_PER_BYTE times. What does not fit is refused at once with 503 and
 * Retry-After, before its body is read: many large bodies at once cannot take the process's
 * memory, and the clients that were refused know when to try again.
 */
export interface BodyBudget {
  /** A charge for one exchange; release() gives back whatever it took. */
  open(): BodyCharge;
  /** Bytes charged now. */
  readonly used: number;
  readonly limit: number;
}

export interface BodyCharge {
  /** Charges `bytes` more body bytes; throws SLUICE_OVERLOADED when the budget cannot take them. */
  take(bytes: number): void;
  release(): void;
}

/**
 * Measured: one 30 MB LLM body dense with entities (an e-mail and a phone number every 100
 * characters) took RSS from 97 to 445 MB while it was redacted and routed, 11.6 bytes per byte.
 */
export const COST_PER_BYTE = 12;
/** What a client refused for lack of budget is told to wait, in seconds. */
const RETRY_AFTER_S = 2;

export function createBodyBudget(limit: number): BodyBudget {
  if (!(limit > 0)) throw new RangeError(`buffered body budget must be positive, got ${limit}`);
  let used = 0;
  return {
    open() {
      let held = 0;
      return {
        take(bytes) {
          const cost = Math.ceil(bytes * COST_PER_BYTE);
          if (used + cost > limit) {
            throw new SluiceError('SLUICE_OVERLOADED', `Sluice is handling as many large request bodies as its memory budget allows (${Math.round(limit / 1048576)} MiB); retry in ${RETRY_AFTER_S} s`, {
              reason: 'the budget for buffered request bodies is spent',
              retryAfter: RETRY_AFTER_S,
            });
          }
          used += cost;
          held += cost;
        },
        release() {
          used -= held;
          held = 0;
        },
      };
    },
    get used() {
      return used;
    },
    limit,
  };
}
