import { SluiceError } from '../core/index.js';
import type { BodyFilter, RequestContext, Stage } from '../core/index.js';
import { decodeQuery, maskFindings } from './egress.js';
import type { Redactor } from './redactor.js';

/**
 * Egress DLP on requests that are not recognised LLM calls (the privacy router redacts those by
 * the privacy rules; the classification says which): query strings and bodies are scanned for
 * secrets (privacy.egress). `block` refuses the request before the secret leaves: the body
 * streams, but at least the last HOLD bytes are held back until the scanner has seen past them, so a
 * secret split across chunks is caught before any of it is sent. `redact` masks the secret
 * byte for byte (the length is unchanged), on a buffered body.
 */
const HOLD = 4096;
const MAX_REDACT_BODY = 8 * 1024 * 1024;

export interface DlpStageOptions {
  redactor(): Redactor;
  /** Sluice's own placeholders look like keys on purpose; the credentials stage judges them. */
  isPlaceholder(value: string): boolean;
}

interface Span {
  type: string;
  start: number;
  end: number;
}

/**
 * Findings that are not Sluice placeholders. `texts(f)` gives what a finding may cover (the raw
 * and the decoded reading of a query, say); one that cannot be read counts as a real secret.
 */
function realSecrets<T extends Span>(found: readonly T[], texts: (f: T) => readonly (string | undefined)[], isPlaceholder: (v: string) => boolean): T[] {
  return found.filter((f) => !texts(f).some((value) => value !== undefined && isPlaceholder(value)));
}

function blocked(ctx: RequestContext, types: readonly string[], where: string): SluiceError {
  const names = [...new Set(types)].sort();
  ctx.bus.emit({ type: 'finding', time: Date.now(), src: ctx.src, dst: { host: ctx.dest.host, port: ctx.dest.port }, kind: 'dlp', subjects: names, action: 'blocked', reason: `${names.join(', ')} in the request ${where}` });
  return new SluiceError('SLUICE_DLP_BLOCKED', `the request ${where} carries secrets (${names.join(', ')}); Sluice does not let them leave`, {
    reason: `egress DLP found ${names.join(', ')} in the request ${where}`,
    entities: names,
  });
}

function holdBackFilter(ctx: RequestContext, redactor: Redactor, isPlaceholder: (v: string) => boolean): BodyFilter {
  const scanner = redactor.createEgressScanner();
  // Chunks not yet released, whole (no copies on the hot path); at least HOLD bytes stay here.
  const held: Buffer[] = [];
  let heldBytes = 0;
  /** Stream offset of held[0]: findings are reported in stream offsets. */
  let base = 0;
  const textOf = (f: Span): string[] => {
    if (f.start < base || f.end - base > heldBytes) return [];
    return [Buffer.concat(held).subarray(f.start - base, f.end - base).toString('latin1')];
  };
  const check = (found: readonly Span[]) => {
    if (found.length === 0) return;
    const real = realSecrets(found, textOf, isPlaceholder);
    if (real.length) throw blocked(ctx, real.map((f) => f.type), 'body');
  };
  return {
    transform(chunk) {
      held.push(chunk);
      heldBytes += chunk.length;
      check(scanner.push(chunk));
      const out: Buffer[] = [];
      while (held.length > 1 && heldBytes - held[0]!.length >= HOLD) {
        const first = held.shift()!;
        heldBytes -= first.length;
        base += first.length;
        out.push(first);
      }
      return out.length === 1 ? out[0]! : Buffer.concat(out);
    },
    flush() {
      check(scanner.end());
      return Buffer.concat(held);
    },
  };
}

export function createDlpStage(opts: DlpStageOptions): Stage {
  const key = Symbol('dlp');
  return {
    name: 'dlp',
    onRequestHeaders(ctx) {
      const redactor = opts.redactor();
      const mode = ctx.decision?.endpoint?.dlp ?? redactor.egressMode;
      if (mode === 'off' || ctx.classification.api !== undefined) return;
      if (ctx.query) {
        const decoded = decodeQuery(ctx.query);
        const found = realSecrets(redactor.scanEgress(ctx.query), (f) => [ctx.query.slice(f.start, f.end), decoded.slice(f.start, f.end)], opts.isPlaceholder);
        if (found.length) throw blocked(ctx, found.map((f) => f.type), 'query string');
      }
      if (!ctx.hasBody) return;
      if (mode === 'redact') {
        ctx.bufferRequestBody = Math.min(ctx.bufferRequestBody ?? MAX_REDACT_BODY, MAX_REDACT_BODY);
        ctx.state.set(key, redactor);
      } else {
        ctx.requestFilters.push(holdBackFilter(ctx, redactor, opts.isPlaceholder));
      }
    },
    onRequestBody(ctx, body) {
      const redactor = ctx.state.get(key) as Redactor | undefined;
      if (!redactor || body.length === 0) return;
      const findings = realSecrets(redactor.scanEgress(body), (f) => [body.subarray(f.start, f.end).toString('latin1')], opts.isPlaceholder);
      if (findings.length === 0) return;
      const masked = maskFindings(body, findings);
      const names = [...new Set(findings.map((f) => f.type))].sort();
      ctx.bus.emit({ type: 'finding', time: Date.now(), src: ctx.src, dst: { host: ctx.dest.host, port: ctx.dest.port }, kind: 'dlp', subjects: names, action: 'redacted', reason: `${names.join(', ')} masked in the request body` });
      return masked;
    },
  };
}
