/**
 * Byte offsets of `Buffer.from(text)` (UTF-8) back to UTF-16 offsets of `text`. Lone surrogates were encoded
 * as U+FFFD, three bytes for one unit, so offsets stay aligned with the string.
 */

/**
 * Up to this many more UTF-8 bytes than UTF-16 units (mostly ASCII text with some accents or emoji), byte
 * offsets are mapped through the few non-ASCII characters instead of a table over every byte.
 */
const SPARSE_EXTRA = 1024;
const NON_ASCII = /[\u0080-\uffff]/g;

/**
 * The mapping for byte offsets up to `last` (on character boundaries): through the few non-ASCII characters
 * when there are few extra bytes, else through a table over every byte.
 */
export function utf16OffsetOf(text: string, buf: Buffer, last: number): (byte: number) => number {
  if (buf.length - text.length <= SPARSE_EXTRA) return sparseUnits(text);
  const units = utf16Offsets(buf, last);
  return (byte) => units[byte]!;
}

/**
 * Maps a byte offset of `Buffer.from(text)` (on a character boundary) to a UTF-16 offset of `text`: subtracts
 * the extra bytes of the non-ASCII characters before it, found with one regex pass over the string. A
 * surrogate pair is 4 bytes for 2 units; any other unit above U+007F is 2 or 3 bytes (a lone surrogate is
 * encoded as U+FFFD, 3 bytes).
 */
function sparseUnits(text: string): (byte: number) => number {
  const at: number[] = []; // byte offset just after each non-ASCII character
  const cumulative: number[] = []; // extra bytes up to and including it
  let extra = 0;
  NON_ASCII.lastIndex = 0;
  // `test` moves lastIndex past each match without allocating a match array as `exec` would.
  while (NON_ASCII.test(text)) {
    const i = NON_ASCII.lastIndex - 1;
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      NON_ASCII.lastIndex = i + 2;
      extra += 2;
      at.push(i + 2 + extra);
    } else {
      extra += c < 0x800 ? 1 : 2;
      at.push(i + 1 + extra);
    }
    cumulative.push(extra);
  }
  return (byte) => {
    // The last character ending at or before `byte`.
    let lo = 0;
    let hi = at.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (at[mid]! <= byte) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? byte : byte - cumulative[lo - 1]!;
  };
}

/**
 * UTF-16 offset of every byte offset of `buf` up to `last`, in one forward pass: every byte that is not a
 * continuation byte starts one UTF-16 unit, and 4-byte sequences take two. (Lone surrogates were encoded as
 * U+FFFD, three bytes for one unit, so offsets stay aligned with the string.) A flat table (4 bytes per byte,
 * transient) costs little more than the walk itself, where collecting and sorting the hits' offsets first cost
 * more than the walk on dense text.
 */
function utf16Offsets(buf: Buffer, last: number): Uint32Array {
  const units = new Uint32Array(last + 1);
  let unit = 0;
  for (let byte = 0; byte < last; byte++) {
    units[byte] = unit;
    const b = buf[byte]!;
    if ((b & 0xc0) !== 0x80) unit += b >= 0xf0 ? 2 : 1;
  }
  units[last] = unit;
  return units;
}
