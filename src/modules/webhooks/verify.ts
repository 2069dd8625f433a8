import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Verifies a Coffer webhook (SPEC 5). Copy this file into your receiver: it
 * depends on node:crypto only.
 *
 *   X-Coffer-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + raw body)>[,v1=...]
 *
 * Pass the raw body bytes exactly as received (not a re-serialised object) and
 * every secret you currently accept. During a secret rotation Coffer sends one
 * `v1=` per live secret, so either the old or the new secret verifies.
 */
export type WebhookVerification =
  | { ok: true }
  | { ok: false; reason: 'MISSING_HEADER' | 'MALFORMED_HEADER' | 'TIMESTAMP_OUT_OF_TOLERANCE' | 'NO_MATCHING_SIGNATURE' };

export interface VerifyOptions {
  /** Allowed clock skew between Coffer and you, in seconds (SPEC 5: 300). */
  toleranceS?: number;
  /** Your current time in unix seconds (for tests); default the wall clock. */
  nowS?: number;
}

export function verifyWebhookSignature(
  rawBody: string | Buffer,
  header: string | undefined,
  secrets: string | string[],
  { toleranceS = 300, nowS = Math.floor(Date.now() / 1000) }: VerifyOptions = {},
): WebhookVerification {
  if (header === undefined || header.trim() === '') return { ok: false, reason: 'MISSING_HEADER' };
  let timestamp: string | undefined;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return { ok: false, reason: 'MALFORMED_HEADER' };
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (name === 't') {
      if (timestamp !== undefined || !/^\d{1,12}$/.test(value)) return { ok: false, reason: 'MALFORMED_HEADER' };
      timestamp = value;
    } else if (name === 'v1') {
      if (!/^[0-9a-f]{64}$/i.test(value)) return { ok: false, reason: 'MALFORMED_HEADER' };
      signatures.push(Buffer.from(value, 'hex'));
    }
    // other schemes (a future v2=) are ignored, so receivers keep working when Coffer adds one
  }
  if (timestamp === undefined || signatures.length === 0) return { ok: false, reason: 'MALFORMED_HEADER' };
  if (Math.abs(nowS - Number(timestamp)) > toleranceS) return { ok: false, reason: 'TIMESTAMP_OUT_OF_TOLERANCE' };

  const body = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody;
  let matched = false;
  // Every (secret, signature) pair is compared, so the time taken says nothing about which one matched.
  for (const secret of Array.isArray(secrets) ? secrets : [secrets]) {
    const expected = createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest();
    for (const signature of signatures) {
      if (timingSafeEqual(expected, signature)) matched = true;
    }
  }
  return matched ? { ok: true } : { ok: false, reason: 'NO_MATCHING_SIGNATURE' };
}

/** The header value Coffer sends: one `v1=` per secret, first the newest. */
export function signWebhook(rawBody: string | Buffer, secrets: string[], timestampS: number): string {
  const body = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody;
  const parts = secrets.map((secret) => `v1=${createHmac('sha256', secret).update(`${timestampS}.`).update(body).digest('hex')}`);
  return [`t=${timestampS}`, ...parts].join(',');
}
