import type { Detector } from './detector.js';

/**
 * A secret found in an outgoing body or query string: byte offsets into the stream, never the value.
 * `start`/`end` are -1 when the secret was only visible after percent-decoding a query string.
 */
export interface EgressFinding {
  readonly type: string;
  readonly start: number;
  readonly end: number;
}

export interface EgressScanner {
  /**
   * Scans what arrived so far. Findings come back once they cannot grow any more, and at the latest when
   * 2 KB have arrived after their start; very small chunks are batched (up to `minScan` bytes) so that a
   * byte-at-a-time body stays linear. `end()` reports the rest. Each secret is reported once.
   */
  push(chunk: Buffer | string): EgressFinding[];
  end(): EgressFinding[];
  /**
   * Bytes scanned so far (a prefix of what was pushed: small pushes wait for `minScan`). A caller
   * holding bytes back counts from here, never from what it pushed: pushed is not yet scanned.
   */
  readonly scanned: number;
}

export interface EgressScannerOptions {
  /** Bytes kept from the previous chunks so that secrets split across chunks are seen whole. */
  readonly overlap?: number;
  readonly minScan?: number;
}

/**
 * Secrets are ASCII, so bytes are scanned as they are (latin1 for the checks: one byte is one character):
 * offsets are byte offsets and invalid UTF-8 cannot throw.
 */
/** Matches ending this close to the end of what has arrived are held until more arrives (or the end). */
const TAIL_MARGIN = 128;
/**
 * …but never once their start is this far behind the newest byte: a caller that holds back its last 4 KB
 * (redact/dlp-stage.ts) learns of every secret before the secret's first byte leaves. A secret still growing
 * then (a long PEM block) is reported with the extent seen so far.
 */
const REPORT_WITHIN = 2048;

export function createEgressScanner(detector: Detector, options: EgressScannerOptions = {}): EgressScanner {
  const overlap = options.overlap ?? 4096;
  const minScan = Math.max(options.minScan ?? 256, TAIL_MARGIN * 2);
  let window: Buffer = Buffer.alloc(0);
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let windowStart = 0;
  let reportedEnd = 0;
  let ended = false;

  /**
   * Where the window and the bytes pending are laid end to end for a pass: one buffer per scanner, grown
   * when a pass needs more, instead of a new ~70 KB buffer per pass (which a long upload's garbage
   * collections paid for). The window is the tail of the last pass, moved to the front of it.
   */
  let room: Buffer = Buffer.alloc(0);

  function scan(final: boolean): EgressFinding[] {
    if (pending.length > 0) {
      const need = window.length + pendingBytes;
      const into = room.length < need ? Buffer.allocUnsafe(Math.max(need, room.length * 2)) : room;
      // TypedArray.set: the window may lie inside `room`, and an overlapping copy is well defined.
      into.set(window, 0);
      room = into;
      let at = window.length;
      for (const p of pending) {
        p.copy(room, at);
        at += p.length;
      }
      window = room.subarray(0, need);
    }
    pending = [];
    pendingBytes = 0;
    // only taking in pending bytes moves it: trimming the window moves windowStart by as much
    scanner.scanned = windowStart + window.length;
    const out: EgressFinding[] = [];
    let keepFrom = Math.max(0, window.length - overlap);
    for (const s of detector.detectBytes(window)) {
      const start = windowStart + s.start;
      if (start < reportedEnd) continue;
      if (!final && s.end + TAIL_MARGIN > window.length && window.length - s.start < REPORT_WITHIN) {
        // It may continue, or end differently (`-----END …` cut in half), once more bytes arrive: report it
        // then, whole.
        keepFrom = Math.min(keepFrom, s.start);
        continue;
      }
      out.push({ type: s.type, start, end: windowStart + s.end });
      reportedEnd = windowStart + s.end;
    }
    if (final) {
      windowStart += window.length;
      window = Buffer.alloc(0);
    } else {
      windowStart += keepFrom;
      window = window.subarray(keepFrom);
    }
    return out;
  }

  // `scanned` is a plain field kept up to date, not a getter: a getter closure per scanner would give
  // each request's scanner a hidden class of its own, which V8's scavenger keeps alive with all it reaches
  // (see ExchangeContext in proxy/request.ts).
  const scanner = {
    scanned: 0,
    push(chunk: Buffer | string): EgressFinding[] {
      if (ended) return [];
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      pending.push(bytes);
      pendingBytes += bytes.length;
      return pendingBytes >= minScan ? scan(false) : [];
    },
    end(): EgressFinding[] {
      if (ended) return [];
      ended = true;
      return scan(true);
    },
  };
  return scanner;
}

/** Replaces each finding's bytes with `*`, keeping the length (and so Content-Length) unchanged. */
export function maskFindings(body: Buffer, findings: readonly EgressFinding[]): Buffer {
  if (findings.length === 0) return body;
  const out = Buffer.from(body);
  for (const f of findings) out.fill(0x2a, f.start, f.end);
  return out;
}

/** Percent-decodes a query string without throwing on malformed escapes. */
export function decodeQuery(query: string): string {
  const plus = query.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(plus);
  } catch {
    return plus.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  }
}
