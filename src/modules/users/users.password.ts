import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Login passwords are hashed with scrypt (memory-hard) and a per-user random
 * salt. The hash is stored as a self-describing PHC-style string,
 *
 *   $scrypt$ln=15,r=8,p=1$<salt, base64>$<key, base64>
 *
 * so the cost can be raised later: old hashes still verify with the
 * parameters they carry, and `needsRehash` tells the login path to store a
 * fresh hash at the current cost once it holds the plain password.
 */
export interface ScryptParams {
  /** log2 of scrypt's N (CPU/memory cost). */
  ln: number;
  /** Block size. Memory used is 128 * 2^ln * r bytes (32 MiB at ln=15, r=8). */
  r: number;
  /** Parallelisation. */
  p: number;
}

/** OWASP's scrypt minimum is N=2^17 r=8 p=1 or N=2^15 r=8 p=3; 2^15/8/1 costs ~50-100 ms here and 32 MiB. */
export const DEFAULT_SCRYPT_PARAMS: ScryptParams = { ln: 15, r: 8, p: 1 };

const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Hashes naming a cost above this are refused rather than letting a stored row exhaust memory. */
const MAX_LN = 20;
const MAX_R = 32;
const MAX_P = 16;

const HASH_FORMAT = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

function derive(password: string, salt: Buffer, params: ScryptParams, keyBytes: number): Promise<Buffer> {
  const N = 2 ** params.ln;
  const options: ScryptOptions = { N, r: params.r, p: params.p, maxmem: 256 * N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    // Async scrypt runs on libuv's thread pool, so hashing never blocks the event loop.
    scrypt(password.normalize('NFKC'), salt, keyBytes, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function checkParams(params: ScryptParams): void {
  const ok =
    Number.isInteger(params.ln) && params.ln >= 10 && params.ln <= MAX_LN &&
    Number.isInteger(params.r) && params.r >= 1 && params.r <= MAX_R &&
    Number.isInteger(params.p) && params.p >= 1 && params.p <= MAX_P;
  if (!ok) throw new Error(`scrypt parameters out of range: ${JSON.stringify(params)}`);
}

export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<string> {
  checkParams(params);
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, params, KEY_BYTES);
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export interface ParsedHash {
  params: ScryptParams;
  salt: Buffer;
  key: Buffer;
}

export function parseHash(stored: string): ParsedHash | undefined {
  const match = HASH_FORMAT.exec(stored);
  if (!match) return undefined;
  const params = { ln: Number(match[1]), r: Number(match[2]), p: Number(match[3]) };
  try {
    checkParams(params);
  } catch {
    return undefined;
  }
  const salt = Buffer.from(match[4]!, 'base64');
  const key = Buffer.from(match[5]!, 'base64');
  // A shorter key would still "match" its own prefix: only the full-length key is a hash.
  if (salt.length < SALT_BYTES || key.length !== KEY_BYTES) return undefined;
  return { params, salt, key };
}

/** True when the password matches. The comparison is constant-time; a malformed hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseHash(stored);
  if (!parsed) return false;
  const key = await derive(password, parsed.salt, parsed.params, parsed.key.length);
  return timingSafeEqual(key, parsed.key);
}

/** True when the hash was made at another cost than `params` (the login path then stores a fresh one). */
export function needsRehash(stored: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): boolean {
  const parsed = parseHash(stored);
  return !parsed || parsed.params.ln !== params.ln || parsed.params.r !== params.r || parsed.params.p !== params.p;
}

/**
 * A hash of a random password made once per process: an unknown mobile is
 * verified against it, so it costs the same time as a wrong password and the
 * answer's timing does not say whether the mobile is registered.
 */
export function dummyHash(params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<string> {
  return hashPassword(randomBytes(18).toString('base64'), params);
}
