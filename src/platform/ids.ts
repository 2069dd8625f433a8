import { randomBytes } from 'node:crypto';

/** A string id of one kind, e.g. Id<'acc'> = "acc_...". The brand stops mixing kinds. */
export type Id<Prefix extends string> = `${Prefix}_${string}` & { readonly __idKind: Prefix };

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lower case

/**
 * A new opaque id: a millisecond timestamp then 80 random bits, so ids sort
 * roughly by creation time (good for b-tree inserts and cursor pagination).
 */
export function newId<Prefix extends string>(prefix: Prefix, nowMs = Date.now()): Id<Prefix> {
  let time = '';
  let t = nowMs;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomBytes(10);
  let random = '';
  for (let i = 0; i < 16; i++) {
    // 16 groups of 5 bits from 80 random bits
    const bit = i * 5;
    const byte = bit >> 3;
    const value = ((bytes[byte]! << 8) | (bytes[byte + 1] ?? 0)) >> (11 - (bit & 7));
    random += ALPHABET[value & 31];
  }
  return `${prefix}_${time}${random}` as Id<Prefix>;
}

export function isId<Prefix extends string>(value: string, prefix: Prefix): value is Id<Prefix> {
  return value.startsWith(`${prefix}_`) && value.length > prefix.length + 1 && value.length <= 64;
}
