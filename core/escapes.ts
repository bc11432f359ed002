/**
 * Bytes with the escapes a secret can hide behind undone, each kept with where it came from:
 * percent-escapes (`%73k-…`) and JSON string escapes (`\u0073k-…`, `\/`, `\"`). With
 * `lineBreaks: 'drop'`, line breaks go too (raw CR and LF, JSON's `\n` and `\r`), which joins
 * wrapped base64 (GitHub's contents API wraps at 60 columns); with 'keep', JSON's `\n` becomes
 * the line break it stands for (PEM blocks keep their shape). A match in the view maps back to
 * the exact range of original bytes. Credentials (known values) and egress DLP (recognizers)
 * both search this view as well as the bytes as they are.
 */
export interface EscapeOptions {
  lineBreaks: 'drop' | 'keep';
}

export interface NormalizedView {
  readonly bytes: Buffer;
  /** Offset in the input where normalized byte i starts. */
  readonly start: Int32Array;
  /** Offset in the input just after normalized byte i (after its whole escape). */
  readonly end: Int32Array;
  /** Input from here on may be an escape cut off by the end of the input: not normalized yet. */
  readonly complete: number;
}

const PERCENT = 0x25;
const BACKSLASH = 0x5c;
const CR = 0x0d;
const LF = 0x0a;

/** JSON escapes and the byte each stands for. */
const SIMPLE_ESCAPES: Record<number, number> = { 0x22: 0x22, 0x5c: 0x5c, 0x2f: 0x2f, 0x62: 0x08, 0x66: 0x0c, 0x6e: LF, 0x72: CR, 0x74: 0x09 };

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  return -1;
}

function hexAt(input: Buffer, at: number, digits: number): number {
  let value = 0;
  for (let k = 0; k < digits; k++) {
    const h = hexValue(input[at + k]!);
    if (h < 0) return -1;
    value = value * 16 + h;
  }
  return value;
}

/** True when `input` has nothing to undo: the view would be the input itself. */
export function isPlain(input: Buffer, opts: EscapeOptions): boolean {
  return input.indexOf(PERCENT) < 0 && input.indexOf(BACKSLASH) < 0 && (opts.lineBreaks === 'keep' || (input.indexOf(LF) < 0 && input.indexOf(CR) < 0));
}

export function normalize(input: Buffer, opts: EscapeOptions): NormalizedView {
  const drop = opts.lineBreaks === 'drop';
  const bytes = Buffer.allocUnsafe(input.length);
  const start = new Int32Array(input.length);
  const end = new Int32Array(input.length);
  let n = 0;
  let i = 0;
  let complete = input.length;
  const put = (byte: number, from: number, to: number) => {
    bytes[n] = byte;
    start[n] = from;
    end[n] = to;
    n++;
  };
  while (i < input.length) {
    const b = input[i]!;
    if (drop && (b === CR || b === LF)) {
      i++;
    } else if (b === PERCENT) {
      if (i + 3 > input.length) {
        complete = i;
        break;
      }
      const value = hexAt(input, i + 1, 2);
      const width = value < 0 ? 1 : 3;
      put(value < 0 ? b : value, i, i + width);
      i += width;
    } else if (b === BACKSLASH) {
      if (i + 2 > input.length) {
        complete = i;
        break;
      }
      const e = input[i + 1]!;
      if (e === 0x75) {
        // \uXXXX: a secret is ASCII, so only escapes of single bytes are undone.
        if (i + 6 > input.length) {
          complete = i;
          break;
        }
        const value = hexAt(input, i + 2, 4);
        const byte = value >= 0 && value < 0x100;
        put(byte ? value : b, i, byte ? i + 6 : i + 1);
        i += byte ? 6 : 1;
      } else if (SIMPLE_ESCAPES[e] !== undefined) {
        const byte = SIMPLE_ESCAPES[e]!;
        if (!(drop && (byte === LF || byte === CR || byte === 0x09 || byte === 0x08 || byte === 0x0c))) put(byte, i, i + 2);
        i += 2;
      } else {
        put(b, i, i + 1);
        i++;
      }
    } else {
      put(b, i, i + 1);
      i++;
    }
  }
  return { bytes: bytes.subarray(0, n), start: start.subarray(0, n), end: end.subarray(0, n), complete };
}

/** The normalized text of a header value, query or path part (latin1, one char per byte). */
export function normalizeText(text: string, opts: EscapeOptions): string {
  const input = Buffer.from(text, 'latin1');
  if (isPlain(input, opts)) return text;
  const view = normalize(input, opts);
  return view.bytes.toString('latin1') + input.subarray(view.complete).toString('latin1');
}

/**
 * The view of a stream, chunk by chunk: an escape cut by a chunk's end waits for the next.
 * A chunk with nothing to undo comes back as it is (no copy).
 */
export function createUnescaper(opts: EscapeOptions): { push(chunk: Buffer): Buffer; end(): Buffer } {
  let carry: Buffer = Buffer.alloc(0);
  return {
    push(chunk) {
      const input = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      carry = Buffer.alloc(0);
      if (isPlain(input, opts)) return input;
      const view = normalize(input, opts);
      carry = Buffer.from(input.subarray(view.complete));
      return view.bytes;
    },
    end() {
      const rest = carry;
      carry = Buffer.alloc(0);
      return rest;
    },
  };
}
