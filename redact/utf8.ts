/**
 * UTF-8 of the texts the detector scans, written into a scratch buffer of the encoder's own instead of a new
 * Buffer per text: a 10 KB Buffer.from cost twice the encoding itself, and its off-heap memory added to V8's
 * garbage-collection pressure.
 */

/** Scratch kept between calls up to this size; a longer text gets a buffer of its own. */
const KEEP = 4 << 20;

/**
 * An encoder: `encode(text)` gives the UTF-8 bytes of `text` as a view that its next call overwrites, so use it
 * before calling again (detection is synchronous).
 */
export function createUtf8Encoder(): (text: string) => Buffer {
  let scratch: Buffer | undefined; // allocated on first use
  return (text) => {
    const most = 3 * text.length; // a UTF-16 unit is at most three UTF-8 bytes (a pair of two is four)
    if (most > KEEP) return Buffer.from(text, 'utf8');
    if (scratch === undefined || most > scratch.length) scratch = Buffer.allocUnsafeSlow(Math.max(64 * 1024, 2 ** Math.ceil(Math.log2(most))));
    return scratch.subarray(0, scratch.write(text, 0, 'utf8'));
  };
}

const REPLACEMENT = Buffer.from('\ufffd');

/**
 * Whether `text`, whose UTF-8 is `utf8`, has no lone surrogate (UTF-8 writes one as U+FFFD): without U+FFFD in
 * the bytes that is known from one memmem; else String#isWellFormed tells (it walks the string, ~0.4 ns/unit).
 */
export function wellFormed(text: string, utf8: Buffer): boolean {
  return utf8.indexOf(REPLACEMENT) < 0 || (text as string & { isWellFormed(): boolean }).isWellFormed();
}
