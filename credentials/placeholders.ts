import { createHmac, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { escapeRegExp } from '../core/index.js';
import type { PlaceholderAlphabet } from './schema.js';

/**
 * Placeholders look like the real key (prefix, length, alphabet, and for GitHub/npm even the
 * CRC32 trailer) so that SDKs and format checkers accept them. Layout after the prefix:
 *
 *   random (HMAC of provider + sandbox) | tag (HMAC of prefix + random) | suffix or checksum
 *
 * The keyed tag is how Sluice recognises "one of ours" that was not issued to this sandbox
 * (another sandbox's, or a removed provider's) without a visible marker.
 */
export interface PlaceholderShape {
  prefix: string;
  /** Characters after the prefix, trailer included. */
  length: number;
  alphabet: PlaceholderAlphabet;
  /** Fixed trailer, e.g. Anthropic's `AA`. */
  suffix?: string;
  /** GitHub/npm style: last 6 chars are base62 CRC32 of the preceding random+tag. */
  checksum?: 'crc32';
}

export const ALPHABETS: Record<PlaceholderAlphabet, string> = {
  alnum: '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz',
  base64url: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_',
  alpha: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz',
  hex: '0123456789abcdef',
};

const CLASSES: Record<PlaceholderAlphabet, string> = {
  alnum: '0-9A-Za-z',
  base64url: '0-9A-Za-z_\\-',
  alpha: 'A-Za-z',
  hex: '0-9a-f',
};

export const TAG_LENGTH = 6;
const CHECKSUM_LENGTH = 6;
export const MIN_PLACEHOLDER_BITS = 128;

function trailerLength(shape: PlaceholderShape): number {
  return (shape.suffix?.length ?? 0) + (shape.checksum ? CHECKSUM_LENGTH : 0);
}

/** Length of the HMAC-derived random part; its entropy is what makes a placeholder unguessable. */
export function randomLength(shape: PlaceholderShape): number {
  return shape.length - TAG_LENGTH - trailerLength(shape);
}

export function randomBits(shape: PlaceholderShape): number {
  return randomLength(shape) * Math.log2(ALPHABETS[shape.alphabet].length);
}

/** Regex source matching a candidate of this shape (the tag decides whether it is ours). */
export function shapePattern(shape: PlaceholderShape): string {
  return `${escapeRegExp(shape.prefix)}[${CLASSES[shape.alphabet]}]{${shape.length}}`;
}

export function shapeTotalLength(shape: PlaceholderShape): number {
  return shape.prefix.length + shape.length;
}

export function inAlphabet(shape: PlaceholderShape, code: number): boolean {
  return ALPHABETS[shape.alphabet].includes(String.fromCharCode(code));
}

export interface PlaceholderMinter {
  mint(shape: PlaceholderShape, provider: string, sandbox: string): string;
  /** True when `candidate` (prefix + length chars of this shape) carries our keyed tag. */
  isOurs(shape: PlaceholderShape, candidate: string): boolean;
}

export function createPlaceholderMinter(stateKey: Buffer): PlaceholderMinter {
  const key = Buffer.from(stateKey);

  function derive(info: string, alphabet: string, count: number): string {
    // Rejection sampling keeps every character uniform; counter mode gives as many bytes as needed.
    const limit = 256 - (256 % alphabet.length);
    let out = '';
    for (let block = 0; out.length < count; block++) {
      const bytes = createHmac('sha256', key).update(`${info}\0${block}`).digest();
      for (const b of bytes) {
        if (b >= limit) continue;
        out += alphabet[b % alphabet.length];
        if (out.length === count) break;
      }
    }
    return out;
  }

  function tagFor(shape: PlaceholderShape, random: string): string {
    return derive(`sluice-tag\0${shape.prefix}\0${random}`, ALPHABETS[shape.alphabet], TAG_LENGTH);
  }

  return {
    mint(shape, provider, sandbox) {
      const random = derive(`sluice-placeholder\0${JSON.stringify([provider, sandbox])}`, ALPHABETS[shape.alphabet], randomLength(shape));
      const body = random + tagFor(shape, random);
      const trailer = shape.checksum ? base62Checksum(body) : '';
      return `${shape.prefix}${body}${trailer}${shape.suffix ?? ''}`;
    },
    isOurs(shape, candidate) {
      if (!candidate.startsWith(shape.prefix) || candidate.length !== shapeTotalLength(shape)) return false;
      const start = shape.prefix.length;
      const random = candidate.slice(start, start + randomLength(shape));
      const tag = Buffer.from(candidate.slice(start + random.length, start + random.length + TAG_LENGTH));
      const expected = Buffer.from(tagFor(shape, random));
      return tag.length === expected.length && timingSafeEqual(tag, expected);
    },
  };
}

/** GitHub's token checksum: CRC32 of the body, base62 (0-9A-Za-z), left-padded to 6. */
export function base62Checksum(body: string): string {
  let n = crc32(body);
  let out = '';
  while (n > 0) {
    out = ALPHABETS.alnum[n % 62]! + out;
    n = Math.floor(n / 62);
  }
  return out.padStart(CHECKSUM_LENGTH, '0');
}
