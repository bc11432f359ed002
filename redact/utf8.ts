/**
 * UTF-8 of the texts the detector scans, written into one scratch buffer instead of a new Buffer per text: a
 * 10 KB Buffer.from cost twice the encoding itself, and its off-heap memory added to V8's garbage-collection
 * pressure. Detection is synchronous, so one scratch serves every detector in the process.
 */

/** Scratch kept between calls up to this size; a longer text gets a buffer of its own. */
const KEEP = 4 << 20;
let scratch = Buffer.allocUnsafeSlow(64 * 1024);

/** The UTF-8 bytes of `text`: a view that the next call overwrites, so use it before calling again. */
export function encodeUtf8(text: string): Buffer {
  const most = 3 * text.length; // a UTF-16 unit is at most three UTF-8 bytes (a pair of two is four)
  if (most > KEEP) return Buffer.from(text, 'utf8');
  if (most > scratch.length) scratch = Buffer.allocUnsafeSlow(2 ** Math.ceil(Math.log2(most)));
  return scratch.subarray(0, scratch.write(text, 0, 'utf8'));
}

const REPLACEMENT = Buffer.from('\ufffd');

/**
 * Whether `text`, whose UTF-8 is `utf8`, has no lone surrogate (UTF-8 writes one as U+FFFD): without U+FFFD in
 * the bytes that is known from one memmem; else String#isWellFormed tells (it walks the string, ~0.4 ns/unit).
 */
export function wellFormed(text: string, utf8: Buffer): boolean {
  return utf8.indexOf(REPLACEMENT) < 0 || (text as string & { isWellFormed(): boolean }).isWellFormed();
}
