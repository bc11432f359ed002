import { SluiceError, createUnescaper, isPlain, normalize } from '../core/index.js';
import type { BodyFilter, ConnectContext, RequestContext, Stage } from '../core/index.js';
import { decodeQuery, maskFindings } from './egress.js';
import type { EgressFinding } from './egress.js';
import type { Redactor } from './redactor.js';

/**
 * Egress DLP on requests that are not recognised LLM calls (the privacy router redacts those by
 * the privacy rules; the classification says which): host names, paths, query strings and bodies
 * are scanned for secrets (privacy.egress). A CONNECT's host name is judged before it is
 * resolved, so a key spelled as a DNS label never leaves as a query. Bodies are scanned with
 * percent-escapes and JSON escapes undone (a form-encoded `AKIA%2F…`, a JSON `\u0041KIA…`),
 * after the proxy has undone any Content-Encoding.
 *
 * `block` refuses the request before the secret leaves: the body streams, but the chunks behind
 * the last HOLD scanned (unescaped) bytes are held back until the scanner has seen past them, so a
 * secret split across chunks is caught before any of it is sent. `redact` masks the secret
 * byte for byte (the length is unchanged), on a buffered body.
 */
const HOLD = 4096;
/**
 * Bytes the body scanner gathers before a pass: a TLS client's body arrives in 16 KB records, and
 * scanning each with its 4 KB overlap (and a native call per record) cost 40 % more CPU per byte
 * than 64 KB passes. Chunks are released by what was scanned, so the batch only delays them.
 */
const SCAN_BATCH = 64 * 1024;
const MAX_REDACT_BODY = 8 * 1024 * 1024;
/** JSON's `\n` is a line break to the recognizers (a PEM block in a JSON string keeps its shape). */
const UNESCAPE = { lineBreaks: 'keep' } as const;
/** Host names and paths judged clean, per redactor: each is scanned once, not on every request. */
const MAX_CLEAN_NAMES = 4096;
/** Longer paths are scanned every time: the cache stays under ~1 MB. */
const MAX_REMEMBERED_PATH = 256;

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

function blocked(ctx: ConnectContext | RequestContext, types: readonly string[], where: string): SluiceError {
  const names = [...new Set(types)].sort();
  ctx.bus.emit({ type: 'finding', time: Date.now(), src: ctx.src, dst: { host: ctx.dest.host, port: ctx.dest.port }, kind: 'dlp', subjects: names, action: 'blocked', reason: `${names.join(', ')} in the request ${where}` });
  return new SluiceError('SLUICE_DLP_BLOCKED', `the request ${where} carries secrets (${names.join(', ')}); Sluice does not let them leave`, {
    reason: `egress DLP found ${names.join(', ')} in the request ${where}`,
    entities: names,
  });
}

/**
 * Secrets in a host name or path: `/` and `.` separate segments and labels there (the
 * recognizers would read them as part of a token), and host names arrive lowercased, so they
 * are read upper-cased as well (AWS's `AKIA…` is recognised in capitals only).
 */
function scanName(redactor: Redactor, value: string, isPlaceholder: (v: string) => boolean, separators: RegExp): string[] {
  const spaced = value.replace(separators, ' ');
  const readings = [spaced, spaced.toUpperCase()];
  const types: string[] = [];
  for (const text of readings) {
    const decoded = decodeQuery(text);
    types.push(...realSecrets(redactor.scanEgress(text), (f) => [text.slice(f.start, f.end), decoded.slice(f.start, f.end)], isPlaceholder).map((f) => f.type));
  }
  return types;
}

interface Held {
  raw: Buffer;
  /** The unescaped bytes the scanner saw for it. */
  seen: Buffer;
}

function holdBackFilter(ctx: RequestContext, redactor: Redactor, isPlaceholder: (v: string) => boolean): BodyFilter {
  const scanner = redactor.createEgressScanner({ minScan: SCAN_BATCH });
  const unescape = createUnescaper(UNESCAPE);
  // Chunks not yet released, whole (no copies on the hot path), with what the scanner saw of them.
  const held: Held[] = [];
  let heldSeen = 0;
  /** Scanned-stream offset of held[0]: findings are reported in offsets of what the scanner saw. */
  let base = 0;
  const textOf = (f: Span): string[] => {
    if (f.start < base || f.end - base > heldSeen) return [];
    return [Buffer.concat(held.map((h) => h.seen)).subarray(f.start - base, f.end - base).toString('latin1')];
  };
  const check = (found: readonly Span[]) => {
    if (found.length === 0) return;
    const real = realSecrets(found, textOf, isPlaceholder);
    if (real.length) throw blocked(ctx, real.map((f) => f.type), 'body');
  };
  const scan = (seen: Buffer) => {
    heldSeen += seen.length;
    check(scanner.push(seen));
  };
  return {
    keepsLength: true,
    transform(chunk) {
      const seen = unescape.push(chunk);
      held.push({ raw: chunk, seen });
      scan(seen);
      const out: Buffer[] = [];
      // Released only once the scanner has scanned HOLD bytes past it (pushed is not scanned: the
      // scanner batches): an escaped secret is longer raw than scanned.
      while (held.length > 1 && scanner.scanned - (base + held[0]!.seen.length) >= HOLD) {
        const first = held.shift()!;
        heldSeen -= first.seen.length;
        base += first.seen.length;
        out.push(first.raw);
      }
      return out.length === 1 ? out[0]! : Buffer.concat(out);
    },
    flush() {
      const tail = unescape.end();
      if (tail.length) {
        held.push({ raw: Buffer.alloc(0), seen: tail });
        scan(tail);
      }
      check(scanner.end());
      return Buffer.concat(held.map((h) => h.raw));
    },
  };
}

/** Findings in a whole body, read as it is and unescaped, as ranges of the body's own bytes. */
function bodyFindings(redactor: Redactor, body: Buffer, isPlaceholder: (v: string) => boolean): EgressFinding[] {
  const found = realSecrets(redactor.scanEgress(body), (f) => [body.subarray(f.start, f.end).toString('latin1')], isPlaceholder);
  if (isPlain(body, UNESCAPE)) return found;
  const view = normalize(body, UNESCAPE);
  const decoded = realSecrets(redactor.scanEgress(view.bytes), (f) => [view.bytes.subarray(f.start, f.end).toString('latin1')], isPlaceholder);
  for (const f of decoded) found.push({ type: f.type, start: view.start[f.start]!, end: view.end[f.end - 1]! });
  return found;
}

export function createDlpStage(opts: DlpStageOptions): Stage {
  const key = Symbol('dlp');
  // Per redactor: a reload may bring other recognizers (a new redactor), which judge every name afresh.
  const clean = new WeakMap<Redactor, { hosts: Set<string>; paths: Set<string> }>();
  const cleanFor = (redactor: Redactor) => {
    let known = clean.get(redactor);
    if (!known) clean.set(redactor, (known = { hosts: new Set(), paths: new Set() }));
    return known;
  };
  const remember = (names: Set<string>, name: string) => {
    if (names.size >= MAX_CLEAN_NAMES) names.clear();
    names.add(name);
  };

  /** A host name carrying a secret is refused before anything resolves it. */
  const checkHost = (ctx: ConnectContext | RequestContext, redactor: Redactor) => {
    const host = ctx.dest.host;
    const { hosts } = cleanFor(redactor);
    if (ctx.dest.ipVersion !== 0 || hosts.has(host)) return;
    const types = scanName(redactor, host, opts.isPlaceholder, /\./g);
    if (types.length) throw blocked(ctx, types, 'host name');
    remember(hosts, host);
  };

  const checkPath = (ctx: RequestContext, redactor: Redactor) => {
    const path = ctx.classification.path;
    const { paths } = cleanFor(redactor);
    if (paths.has(path)) return;
    const types = scanName(redactor, path, opts.isPlaceholder, /\//g);
    if (types.length) throw blocked(ctx, types, 'path');
    if (path.length <= MAX_REMEMBERED_PATH) remember(paths, path);
  };


  const wsKey = Symbol('dlp-websocket');
  return {
    name: 'dlp',
    onConnect(ctx) {
      const redactor = opts.redactor();
      if ((ctx.decision?.endpoint?.dlp ?? redactor.egressMode) === 'off') return;
      checkHost(ctx, redactor);
    },
    onRequestHeaders(ctx) {
      const redactor = opts.redactor();
      const mode = ctx.decision?.endpoint?.dlp ?? redactor.egressMode;
      if (mode === 'off' || ctx.classification.api !== undefined) return;
      checkHost(ctx, redactor);
      checkPath(ctx, redactor);
      if (ctx.query) {
        const decoded = decodeQuery(ctx.query);
        const found = realSecrets(redactor.scanEgress(ctx.query), (f) => [ctx.query.slice(f.start, f.end), decoded.slice(f.start, f.end)], opts.isPlaceholder);
        if (found.length) throw blocked(ctx, found.map((f) => f.type), 'query string');
      }
      if (ctx.upgrade) {
        // A WebSocket's messages are its body: each outgoing one is scanned whole.
        ctx.state.set(wsKey, { redactor, mode });
        return;
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
      const findings = bodyFindings(redactor, body, opts.isPlaceholder);
      if (findings.length === 0) return;
      const masked = maskFindings(body, findings);
      const names = [...new Set(findings.map((f) => f.type))].sort();
      ctx.bus.emit({ type: 'finding', time: Date.now(), src: ctx.src, dst: { host: ctx.dest.host, port: ctx.dest.port }, kind: 'dlp', subjects: names, action: 'redacted', reason: `${names.join(', ')} masked in the request body` });
      return masked;
    },
    onWebSocketMessage(ctx, message) {
      const st = ctx.state.get(wsKey) as { redactor: Redactor; mode: 'block' | 'redact' } | undefined;
      if (!st || message.direction !== 'out') return;
      const body = message.data;
      const findings = realSecrets(st.redactor.scanEgress(body), (f) => [body.subarray(f.start, f.end).toString('latin1')], opts.isPlaceholder);
      if (findings.length === 0) return;
      if (st.mode === 'block') throw blocked(ctx, findings.map((f) => f.type), 'WebSocket message');
      const names = [...new Set(findings.map((f) => f.type))].sort();
      ctx.bus.emit({ type: 'finding', time: Date.now(), src: ctx.src, dst: { host: ctx.dest.host, port: ctx.dest.port }, kind: 'dlp', subjects: names, action: 'redacted', reason: `${names.join(', ')} masked in a WebSocket message` });
      return maskFindings(body, findings);
    },
  };
}
