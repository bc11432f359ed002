import { createHmac, randomBytes } from 'node:crypto';
import { SECRET_KEY_NAME, secretValueLooksReal } from './builtin-recognizers.js';
import { createDetectPool } from './detect-pool.js';
import { createDetectionCache } from './detection-cache.js';
import { PER_SPAN, createDetector } from './detector.js';
import type { Detector, PackedSpans, Span } from './detector.js';
import { createEgressScanner, decodeQuery, maskFindings } from './egress.js';
import type { EgressFinding, EgressScanner, EgressScannerOptions } from './egress.js';
import { DEFAULT_EGRESS_TYPES, LITERAL_TYPE, SECRET_TYPES, expandTypes } from './entities.js';
import { privacyPlan, recognizersFor } from './privacy-detector.js';
import { createLogScrubber } from './log-scrub.js';
import type { LogScrubber } from './log-scrub.js';
import { conversationSeed, rewriteLlmRequest } from './llm-request.js';
import type { LlmApi } from '../core/index.js';
import { applyOperator } from './operators.js';
import { createRestorer, restoreJson, restoreText } from './restore.js';
import type { RestoreOptions, Restorer } from './restore.js';
import type { PrivacyConfig } from './schema.js';
import { createVaultStore } from './vault.js';
import { SLICE_CHARS, detectSliced } from './sliced-detect.js';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Vault } from './vault.js';

export interface Redaction {
  /** Entity type -> number of values replaced. */
  counts: Record<string, number>;
  /** Entity types whose operator is `block` and that were found: the caller refuses the request. */
  blocked: string[];
}

/** What an LLM request holds (Redactor.findInLlmRequest): the counts, and each text's detections for the rewrite. */
export interface LlmFindings extends Redaction {
  /** The texts found in, in the order rewriteLlmRequest visits them. */
  readonly texts: readonly string[];
  /** Per text: its spans, packed (PER_SPAN numbers each). */
  readonly spans: readonly Int32Array[];
}

export type EgressMode = 'block' | 'redact' | 'off';

export interface Redactor {
  /** False when the policy has no `privacy` section: redaction is a no-op (egress DLP still works). */
  readonly enabled: boolean;
  /** Entity types this redactor looks for. */
  readonly types: readonly string[];
  /** Stable across the turns of one conversation: keyed HMAC of system prompt + first user message. */
  conversationKey(api: LlmApi | undefined, body: unknown): string;
  /** Get-or-create; LRU and TTL bounded; never printable. */
  vault(key: string): Vault;
  detect(text: string): Span[];
  /** How often a long text's detections were remembered from an earlier request (see detection-cache.ts). */
  readonly detectionCache: { readonly hits: number; readonly misses: number };
  redactText(text: string, vault: Vault): { text: string } & Redaction;
  /**
   * Rewrites only content strings of the request, in place; with `api` undefined (an unrecognised
   * request an `allow` route lets out) every string value of the JSON body.
   */
  redactLlmRequest(api: LlmApi | undefined, body: unknown, vault: Vault): Redaction;
  /**
   * What the request's content strings hold (every string value with `api` undefined), found and counted but
   * nothing rewritten and nothing put in a vault: the router chooses the route on it, and rewrites a copy with
   * it (redactLlmRequestWith) only when the call leaves the machine. A request with OFFLOAD_CHARS or more of text
   * new to the detection cache is detected on the worker pool (or, without one or when it fails, a slice at a
   * time with the event loop given back between slices, sliced-detect.ts); small ones at once.
   */
  findInLlmRequest(api: LlmApi | undefined, body: unknown): Promise<LlmFindings>;
  /**
   * Rewrites `body` in place with what findInLlmRequest found in it (or in an unchanged copy of it), in one go
   * on the event loop; the counts are those findInLlmRequest gave.
   */
  redactLlmRequestWith(api: LlmApi | undefined, body: unknown, vault: Vault, found: LlmFindings): Redaction;
  /** findInLlmRequest, then redactLlmRequestWith on the same body. */
  redactLlmRequestAsync(api: LlmApi | undefined, body: unknown, vault: Vault): Promise<Redaction>;
  /** The detection worker pool, when there is one: its size and the jobs it answered. */
  readonly detectPool?: { readonly size: number; readonly jobs: number };
  restoreText(text: string, vault: Vault, options?: RestoreOptions): string;
  /** Every string of a parsed JSON value, deep; mutates containers in place and returns the value. */
  restoreJson(value: unknown, vault: Vault): unknown;
  createRestorer(vault: Vault, options?: RestoreOptions): Restorer;
  /** What to do with secrets on requests to hosts that are not LLM endpoints (`privacy.egress.default`). */
  readonly egressMode: EgressMode;
  readonly egressTypes: readonly string[];
  /** Stateful DLP scanner for one request body; finds secrets split across chunks. */
  createEgressScanner(options?: EgressScannerOptions): EgressScanner;
  /** One-shot scan of a whole body or query string (query strings are also checked percent-decoded). */
  scanEgress(chunk: Buffer | string): EgressFinding[];
  /** Masks egress findings byte for byte (length unchanged). */
  redactEgress(body: Buffer): { body: Buffer; findings: EgressFinding[] };
  /** Secrets (every secret type, URL credentials, custom recognizers) out of strings bound for logs. */
  readonly logScrubber: LogScrubber;
  close(): void;
}

export interface RedactorOptions {
  /** Key for `hash` and for conversation keys; random per process when absent. */
  hmacKey?: Buffer;
  now?: () => number;
  /**
   * Threads that detect in large requests (detect-pool.ts): by default one per core but the event loop's;
   * 0 keeps all detection on the event loop (sliced, as without workers).
   */
  detectThreads?: number;
}

/**
 * New text (not in the detection cache) below which a request is scanned on the event loop: ~1 ms of scanning,
 * about what handing it to a worker and back costs the loop in copies and messages.
 */
export const OFFLOAD_CHARS = 64 * 1024;
/**
 * New text above which a request stays on the event loop, sliced: a worker gets its own copy of what it scans
 * (and an isolate's heap to scan it in), which the LLM body budget does not count; forty 30 MB bodies at once
 * took RSS from ~400 to 755 MB. Agents' contexts (100–500 KB) are well below it.
 */
export const OFFLOAD_MAX_CHARS = 4 * 1024 * 1024;

export function createRedactor(config: PrivacyConfig | undefined, opts: RedactorOptions = {}): Redactor {
  const cfg: PrivacyConfig = config ?? {};
  const hmacKey = opts.hmacKey ?? randomBytes(32);
  const now = opts.now ?? Date.now;
  const plan = privacyPlan(config);
  const { custom, types, enabled, operators } = plan;
  const customNames = custom.map((r) => r.type);
  const { threshold, allow } = plan.detector;
  const detector: Detector = createDetector(plan.detector);
  const pool = enabled && opts.detectThreads !== 0
    ? createDetectPool(config, { types: detector.types, ...(opts.detectThreads !== undefined ? { size: opts.detectThreads } : {}) })
    : undefined;
  const remembered = createDetectionCache((text, utf8) => detector.detectPacked(text, utf8));

  const egressTypes = expandTypes(cfg.egress?.types ?? DEFAULT_EGRESS_TYPES);
  const egressDetector = createDetector({ recognizers: recognizersFor(new Set(egressTypes), custom), threshold, allow });
  const genericOn = types.has('generic_secret');
  // Logs are scrubbed of every secret type whatever the policy redacts or blocks: no log needs one.
  const logTypes = new Set([...SECRET_TYPES, 'url_credentials', ...customNames]);
  const logScrubber = createLogScrubber(createDetector({ recognizers: recognizersFor(logTypes, custom), threshold, allow }));

  const store = createVaultStore(
    {
      maxVaults: cfg.vault?.max_conversations ?? 1000,
      maxEntries: cfg.vault?.max_entries ?? 10_000,
      ttlMs: (cfg.vault?.ttl_seconds ?? 3600) * 1000,
    },
    now,
  );

  // Per entity type (index into `typeNames`): its operator, and how many values of it the current call replaced.
  // A counts object keyed by type names was built up in a different key order per text (one hidden class
  // after another, slow keyed stores); one array of numbers is reused, and the object made once per call.
  const typeNames = [...operators.keys()];
  const typeIndex = new Map(typeNames.map((t, i) => [t, i]));
  const opOf = typeNames.map((t) => operators.get(t)!);
  const counted = new Int32Array(typeNames.length);
  /** Per type of the detector (Detector.types, as packed spans name them), its index in `typeNames`; -1 for placeholder look-alikes. */
  const indexOfDetected = Int32Array.from(detector.types, (t) => (t === LITERAL_TYPE ? -1 : (typeIndex.get(t) ?? -1)));

  /** Counts of the call so far as a Redaction, the counters zeroed for the next one. */
  function tally(): Redaction {
    const acc: Redaction = { counts: {}, blocked: [] };
    for (let i = 0; i < counted.length; i++) {
      if (counted[i] === 0) continue;
      acc.counts[typeNames[i]!] = counted[i]!;
      if (opOf[i] === 'block') acc.blocked.push(typeNames[i]!);
      counted[i] = 0;
    }
    return acc;
  }

  /** The spans a text is redacted by: its detections, or, for a tool argument named like a secret, the whole value. */
  function spansOf(text: string, key: string | undefined, found: PackedSpans): PackedSpans {
    // A tool argument named like a secret carries no `password=` context of its own: the key is the context.
    if (found.count > 0 || !genericOn || key === undefined || !SECRET_KEY_NAME.test(key) || !secretValueLooksReal(text)) return found;
    return { data: Int32Array.of(detector.types.indexOf('generic_secret'), 0, text.length), count: 1 };
  }

  function redactString(text: string, vault: Vault, key?: string, detected?: Int32Array): string {
    const { data, count } = spansOf(text, key, detected ? { data: detected, count: detected.length / PER_SPAN } : remembered.detect(text));
    if (count === 0) return text;
    if (vault.size === 0) {
      // A new conversation: its vault takes room for this text's values at once instead of growing into it.
      let chars = 0;
      for (let k = 0; k < count; k++) chars += data[PER_SPAN * k + 2]! - data[PER_SPAN * k + 1]!;
      vault.reserve(count, chars);
    }
    let out = '';
    let at = 0;
    for (let k = 0; k < count; k++) {
      const detected = data[PER_SPAN * k]!;
      const start = data[PER_SPAN * k + 1]!;
      const end = data[PER_SPAN * k + 2]!;
      // Placeholder look-alikes are pseudonymized and not counted; every other type is one of `types`.
      const type = indexOfDetected[detected]!;
      out += text.slice(at, start) + applyOperator(type < 0 ? 'pseudonymize' : opOf[type]!, detector.types[detected]!, text, start, end, vault, hmacKey);
      if (type >= 0) counted[type]!++;
      at = end;
    }
    return out + text.slice(at);
  }

  /**
   * Each text's spans, copied (the detector's scratch is reused by the next request): remembered from an earlier
   * turn, or found now — on the worker pool when OFFLOAD_CHARS or more of them are new, else on the event loop,
   * given back every SLICE_CHARS.
   */
  async function detectTexts(texts: readonly string[]): Promise<Int32Array[]> {
    let chars = 0;
    for (const t of texts) chars += t.length;
    if (chars < OFFLOAD_CHARS) {
      return texts.map((t) => {
        const { data, count } = remembered.detect(t);
        return data.slice(0, PER_SPAN * count);
      });
    }
    const spans: Int32Array[] = new Array<Int32Array>(texts.length);
    const missing: { index: number; key?: string }[] = [];
    let missingChars = 0;
    for (const [index, text] of texts.entries()) {
      const known = remembered.lookup(text);
      if ('spans' in known) spans[index] = known.spans;
      else {
        missing.push({ index, ...known });
        missingChars += text.length;
      }
    }
    const found = pool && missingChars >= OFFLOAD_CHARS && missingChars <= OFFLOAD_MAX_CHARS
      ? await pool.detect(missing.map((m) => texts[m.index]!)).catch(() => undefined)
      : undefined;
    // Hashing a long history (~1 µs per KB) and scanning its new text here are two steps, not one run.
    if (found === undefined && missing.length > 0) await yieldToLoop();
    let sinceYield = 0;
    for (const [k, m] of missing.entries()) {
      const text = texts[m.index]!;
      let data = found?.[k];
      if (data === undefined) {
        if (text.length >= SLICE_CHARS) data = await detectSliced((piece) => detector.detectPacked(piece), text);
        else {
          const packed = detector.detectPacked(text);
          data = packed.data.slice(0, PER_SPAN * packed.count);
          sinceYield += text.length;
          if (sinceYield >= SLICE_CHARS) {
            sinceYield = 0;
            await yieldToLoop();
          }
        }
      }
      spans[m.index] = data;
      if (m.key !== undefined) remembered.remember(m.key, data);
    }
    return spans;
  }

  function scanEgress(chunk: Buffer | string): EgressFinding[] {
    const scanner = createEgressScanner(egressDetector);
    const findings = [...scanner.push(chunk), ...scanner.end()];
    if (typeof chunk === 'string' && chunk.includes('%')) {
      const decoded = decodeQuery(chunk);
      if (decoded !== chunk) for (const s of egressDetector.detectBytes(Buffer.from(decoded))) findings.push({ type: s.type, start: -1, end: -1 });
    }
    return findings;
  }

  return {
    enabled,
    types: [...types],
    conversationKey(api, body) {
      return createHmac('sha256', hmacKey).update('sluice-conversation\u0000').update(conversationSeed(api, body)).digest('hex').slice(0, 32);
    },
    vault: (key) => store.get(key),
    detect: (text) => detector.detect(text),
    detectionCache: remembered,
    redactText(text, vault) {
      if (!enabled) return { text, counts: {}, blocked: [] };
      counted.fill(0); // an earlier call that threw left its counts
      const out = redactString(text, vault);
      const { counts, blocked } = tally();
      return { text: out, counts, blocked };
    },
    redactLlmRequest(api, body, vault) {
      if (!enabled) return { counts: {}, blocked: [] };
      counted.fill(0);
      rewriteLlmRequest(api, body, (t, key) => redactString(t, vault, key));
      return tally();
    },
    async findInLlmRequest(api, body) {
      if (!enabled) return { counts: {}, blocked: [], texts: [], spans: [] };
      const texts: string[] = [];
      const keys: (string | undefined)[] = [];
      rewriteLlmRequest(api, body, (t, key) => {
        texts.push(t);
        keys.push(key);
        return t;
      });
      const spans = await detectTexts(texts);
      counted.fill(0);
      for (const [i, text] of texts.entries()) {
        const { data, count } = spansOf(text, keys[i], { data: spans[i]!, count: spans[i]!.length / PER_SPAN });
        // Counted as redactString replaces them: placeholder look-alikes are not.
        for (let k = 0; k < count; k++) {
          const type = indexOfDetected[data[PER_SPAN * k]!]!;
          if (type >= 0) counted[type]!++;
        }
      }
      return { ...tally(), texts, spans };
    },
    redactLlmRequestWith(api, body, vault, found) {
      if (!enabled) return { counts: {}, blocked: [] };
      counted.fill(0);
      let i = 0;
      // Spans are used only on the very text they were found in: any other (a body that changed since) is
      // detected afresh, never let through.
      rewriteLlmRequest(api, body, (t, key) => {
        const spans = t === found.texts[i] ? found.spans[i] : undefined;
        i++;
        return redactString(t, vault, key, spans);
      });
      return tally();
    },
    async redactLlmRequestAsync(api, body, vault) {
      return this.redactLlmRequestWith(api, body, vault, await this.findInLlmRequest(api, body));
    },
    ...(pool ? { detectPool: pool } : {}),
    restoreText: (text, vault, options) => restoreText(text, vault, options),
    restoreJson: (value, vault) => restoreJson(value, vault),
    createRestorer: (vault, options) => createRestorer(vault, options),
    egressMode: cfg.egress?.default ?? 'block',
    egressTypes,
    createEgressScanner: (options) => createEgressScanner(egressDetector, options),
    scanEgress,
    redactEgress(body) {
      const findings = scanEgress(body);
      return { body: maskFindings(body, findings), findings };
    },
    logScrubber,
    close() {
      store.close();
      void pool?.close();
    },
  };
}
