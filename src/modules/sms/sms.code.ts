import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Codes and their stored form.
 *
 * A 6-digit code has only 10^6 values, so no unkeyed hash protects it: scrypt
 * or bcrypt of one of a million values falls to a leaked table in seconds to
 * minutes. What protects it is a key the database does not hold: the row keeps
 * HMAC-SHA256(key, challengeId + ":" + code). Without the key a leaked table
 * tells nothing; the challenge id in the input makes equal codes hash apart.
 * The online guess rate is limited separately by the attempt count.
 */
export const CODE_DIGITS = 6;
const CODE_FORMAT = /^\d{6}$/;

/** A uniformly random 6-digit code (leading zeros kept) from node:crypto's CSPRNG. */
export function newCode(): string {
  return String(randomInt(0, 10 ** CODE_DIGITS)).padStart(CODE_DIGITS, '0');
}

export function isCodeFormat(code: unknown): code is string {
  return typeof code === 'string' && CODE_FORMAT.test(code);
}

export function hashCode(key: Buffer, challengeId: string, code: string): string {
  return createHmac('sha256', key).update(`${challengeId}:${code}`).digest('hex');
}

/** Constant-time comparison of an offered code with the stored hash. */
export function codeMatches(key: Buffer, challengeId: string, code: string, storedHash: string): boolean {
  const offered = Buffer.from(hashCode(key, challengeId, code), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return offered.length === stored.length && timingSafeEqual(offered, stored);
}

/**
 * The HMAC key: SMS_CODE_KEY when configured (several processes on one
 * database must share it), otherwise a 32-byte key generated once into
 * `<keysDir>/sms-code.key` (mode 0600) and reused after restarts.
 */
export function loadCodeKey(configured: string | undefined, keysDir: string): Buffer {
  if (configured !== undefined) {
    if (configured.length < 16) throw new Error('SMS_CODE_KEY must be at least 16 characters');
    return Buffer.from(configured, 'utf8');
  }
  const file = path.join(keysDir, 'sms-code.key');
  try {
    return Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64url');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.mkdirSync(keysDir, { recursive: true });
  try {
    fs.writeFileSync(file, randomBytes(32).toString('base64url'), { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err; // another process made it first
  }
  return Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64url');
}
