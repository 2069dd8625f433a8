import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Request signing for the merchant API (SPEC 5, a contract). Every request carries
 *
 *   X-Coffer-Key:       the API key id
 *   X-Coffer-Timestamp: unix seconds
 *   X-Coffer-Signature: hex(HMAC-SHA256(secret, timestamp + "\n" + METHOD + "\n" + path-with-query + "\n" + body))
 *
 * where body is the raw body bytes exactly as sent (empty for a GET). This
 * file has no Coffer imports: a merchant can copy it as their client.
 */
export const KEY_HEADER = 'x-coffer-key';
export const TIMESTAMP_HEADER = 'x-coffer-timestamp';
export const SIGNATURE_HEADER = 'x-coffer-signature';

export function signingPayload(timestamp: string, method: string, pathWithQuery: string, body: Buffer | string): Buffer {
  const head = Buffer.from(`${timestamp}\n${method.toUpperCase()}\n${pathWithQuery}\n`, 'utf8');
  return Buffer.concat([head, typeof body === 'string' ? Buffer.from(body, 'utf8') : body]);
}

export function computeSignature(secret: string, timestamp: string, method: string, pathWithQuery: string, body: Buffer | string): string {
  return createHmac('sha256', secret).update(signingPayload(timestamp, method, pathWithQuery, body)).digest('hex');
}

/** Constant-time comparison of an offered hex signature (either case) with the expected one. */
export function signatureMatches(offered: string, expectedHex: string): boolean {
  if (!/^[0-9a-fA-F]{64}$/.test(offered)) return false;
  return timingSafeEqual(Buffer.from(offered.toLowerCase(), 'hex'), Buffer.from(expectedHex, 'hex'));
}

export interface MerchantRequestToSign {
  keyId: string;
  secret: string;
  method: string;
  /** Path with its query string, exactly as it goes on the request line: `/v1/payouts?merchantOrderNo=A1`. */
  path: string;
  /** The exact body bytes to send (a string is sent as UTF-8); omit for none. */
  body?: Buffer | string;
  /** Unix seconds; defaults to now. */
  timestamp?: number;
}

/** The three headers for one request. Send the body exactly as signed. */
export function signMerchantRequest(request: MerchantRequestToSign): Record<string, string> {
  const timestamp = String(request.timestamp ?? Math.floor(Date.now() / 1000));
  return {
    [KEY_HEADER]: request.keyId,
    [TIMESTAMP_HEADER]: timestamp,
    [SIGNATURE_HEADER]: computeSignature(request.secret, timestamp, request.method, request.path, request.body ?? ''),
  };
}
