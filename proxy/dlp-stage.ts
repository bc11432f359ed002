import { SluiceError } from '../core/index.js';
import type { Redactor } from '../redact/index.js';
import type { BodyFilter, RequestContext, Stage } from './stage.js';

/**
 * Egress DLP on requests that are not LLM calls: query strings and bodies are scanned for
 * secrets (privacy.egress). `block` refuses the request before the secret leaves: the body
 * streams, but the last HOLD bytes are held back until the scanner has seen past them, so a
 * secret split across chunks is caught before any of it is sent. `redact` masks the secret
 * byte for byte (the length is unchanged), on a buffered body.
 */
const HOLD = 4096;
const MAX_REDACT_BODY = 8 * 1024 * 1024;

export interface DlpStageOptions {
  redactor(): Redactor;
  /** LLM calls are the privacy router's: it redacts them by the privacy rules instead. */
  isLlmCall(ctx: RequestContext): boolean;
}

function blocked(ctx: RequestContext, types: readonly string[], where: string): SluiceError {
  const names = [...new Set(types)].sort();
  ctx.bus.emit({ type: 'finding', time: Date.now(), src: ctx.src, dst: { host: ctx.dest.host, port: ctx.dest.port }, kind: 'dlp', subjects: names, action: 'blocked', reason: `${names.join(', ')} in the request ${where}` });
  return new SluiceError('SLUICE_DLP_BLOCKED', `the request ${where} carries secrets (${names.join(', ')}); Sluice does not let them leave`, {
    reason: `egress DLP found ${names.join(', ')} in the request ${where}`,
    entities: names,
  });
}

function holdBackFilter(ctx: RequestContext, redactor: Redactor): BodyFilter {
  const scanner = redactor.createEgressScanner();
  let held: Buffer = Buffer.alloc(0);
  return {
    transform(chunk) {
      const found = scanner.push(chunk);
      if (found.length) throw blocked(ctx, found.map((f) => f.type), 'body');
      held = held.length ? Buffer.concat([held, chunk]) : chunk;
      if (held.length <= HOLD) return Buffer.alloc(0);
      const out = held.subarray(0, held.length - HOLD);
      held = held.subarray(held.length - HOLD);
      return out;
    },
    flush() {
      const found = scanner.end();
      if (found.length) throw blocked(ctx, found.map((f) => f.type), 'body');
      return held;
    },
  };
}

export function createDlpStage(opts: DlpStageOptions): Stage {
  const key = Symbol('dlp');
  return {
    name: 'dlp',
    onRequestHeaders(ctx) {
      const redactor = opts.redactor();
      if (redactor.egressMode === 'off' || opts.isLlmCall(ctx)) return;
      if (ctx.query) {
        const found = redactor.scanEgress(ctx.query);
        if (found.length) throw blocked(ctx, found.map((f) => f.type), 'query string');
      }
      if (redactor.egressMode === 'redact') {
        ctx.bufferRequestBody = Math.min(ctx.bufferRequestBody ?? MAX_REDACT_BODY, MAX_REDACT_BODY);
        ctx.state.set(key, redactor);
      } else {
        ctx.requestFilters.push(holdBackFilter(ctx, redactor));
      }
    },
    onRequestBody(ctx, body) {
      const redactor = ctx.state.get(key) as Redactor | undefined;
      if (!redactor || body.length === 0) return;
      const { body: masked, findings } = redactor.redactEgress(body);
      if (findings.length === 0) return;
      const names = [...new Set(findings.map((f) => f.type))].sort();
      ctx.bus.emit({ type: 'finding', time: Date.now(), src: ctx.src, dst: { host: ctx.dest.host, port: ctx.dest.port }, kind: 'dlp', subjects: names, action: 'redacted', reason: `${names.join(', ')} masked in the request body` });
      return masked;
    },
  };
}
