/**
 * The wire protocol between Coffer's depository agent and the bank depository
 * (SPEC 4, a contract). Both sides import this file and nothing else of each
 * other: the bank simulator imports nothing from src/modules.
 *
 * Every message is a `reqData` JSON text signed with RSA-SHA256 by its sender:
 * signature = base64(RSA-SHA256(reqData as UTF-8)), keys of at least 2048 bits.
 * The signature covers the text exactly as sent; receivers verify before parsing.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Services a user completes on the bank's hosted pages (phase 2 of SPEC 4). */
export const serviceNames = ['PERSONAL_REGISTER', 'RECHARGE', 'WITHDRAW', 'BIND_CARD'] as const;
export type ServiceName = (typeof serviceNames)[number];

/** What the platform hands the browser, which posts the first four fields as a form to `depositoryUrl`. */
export interface GatewayRequest {
  serviceName: ServiceName;
  platformNo: string;
  reqData: string;
  signature: string;
  depositoryUrl: string;
}

/** Platform -> bank, inside GatewayRequest.reqData. Amounts are decimal strings in `currency`. */
export interface PlatformRequestData {
  requestNo: string;
  userNo: string;
  /** Where the bank sends its signed notification (Coffer's GET /gateway). */
  notifyUrl: string;
  /** Where the bank redirects the browser when the user is done. */
  callbackUrl: string;
  timestamp: string;
  /**
   * After this instant the bank refuses the request and never executes it (a
   * request still PENDING at the bank then fails with REQUEST_EXPIRED), so the
   * platform can close its record once the bank says it never had it.
   */
  expiresAt?: string;
  /** RECHARGE and WITHDRAW. */
  amount?: string;
  currency?: string;
  /** WITHDRAW: the platform's fee, kept back from what reaches the card. */
  fee?: string;
  /** WITHDRAW: the bound card to pay out to (the card number as the bank gave it, masked). BIND_CARD: not sent (the user types the card at the bank). */
  cardNumberMasked?: string;
  /** PERSONAL_REGISTER: the user's mobile, prefilled on the bank's page. */
  mobile?: string;
}

export type TransactionStatus = 'SUCCESS' | 'FAIL';

/** Bank -> platform: the reqData of a notification to GET /gateway and of a query answer. */
export interface BankResultData {
  requestNo: string;
  serviceName: ServiceName;
  userNo: string;
  status: TransactionStatus;
  amount?: string;
  currency?: string;
  timestamp: string;
  errorCode?: string;
  errorMessage?: string;
  /** PERSONAL_REGISTER and BIND_CARD: the newly bound debit card (masked); PERSONAL_REGISTER also the user's bank-side identity. */
  cardNumberMasked?: string;
  bankCode?: string;
  realNameMasked?: string;
}

/** Server to server: platform -> bank POST {bankUrl}/service with JSON {serviceName, platformNo, reqData, signature}. */
export const QUERY_TRANSACTION = 'QUERY_TRANSACTION';
export interface QueryRequestData {
  requestNo: string;
  timestamp: string;
}
/**
 * Server to server: platform -> bank, the user removed a bound card on the
 * platform. reqData is UnbindCardData; the bank answers JSON {reqData, signature}
 * with UnbindCardResultData (UNBOUND, or NOT_BOUND when it was not bound to
 * that user: a retry after success answers NOT_BOUND, which is just as good).
 */
export const UNBIND_CARD = 'UNBIND_CARD';
export interface UnbindCardData {
  requestNo: string;
  userNo: string;
  /** As the bank gave it in the BIND_CARD / PERSONAL_REGISTER result (masked). */
  cardNumberMasked: string;
  timestamp: string;
}
export interface UnbindCardResultData {
  requestNo: string;
  userNo: string;
  cardNumberMasked: string;
  status: 'UNBOUND' | 'NOT_BOUND';
  timestamp: string;
}
/** The bank answers JSON {reqData, signature}; reqData is BankResultData, or this when it has no result yet. */
export interface QueryPendingData {
  requestNo: string;
  status: 'PENDING' | 'NOT_FOUND';
  timestamp: string;
}

export function signText(text: string, privateKey: KeyObject): string {
  return sign('sha256', Buffer.from(text, 'utf8'), privateKey).toString('base64');
}

/**
 * `signText` on libuv's thread pool: the same signature, without holding the
 * event loop for the milliseconds an RSA signature takes (about 2 ms for 3072 bits).
 */
export function signTextOffThread(text: string, privateKey: KeyObject): Promise<string> {
  return new Promise((resolve, reject) => {
    sign('sha256', Buffer.from(text, 'utf8'), privateKey, (err, signature) => (err ? reject(err) : resolve(signature.toString('base64'))));
  });
}

/** False for a wrong, malformed or missing signature; never throws. */
export function verifyText(text: string, signature: string | undefined, publicKey: KeyObject): boolean {
  if (typeof signature !== 'string' || signature.length === 0 || signature.length > 2048) return false;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) return false;
  try {
    return verify('sha256', Buffer.from(text, 'utf8'), publicKey, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

export interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicKeyPath: string;
}

const MIN_KEY_BITS = 2048;

/**
 * The key pair at `<dir>/<name>-private.pem` and `<name>-public.pem`, generated
 * (RSA 3072) on first use; the private key file is 0600.
 */
export function ensureKeyPair(dir: string, name: string): KeyPair {
  const privatePath = path.join(dir, `${name}-private.pem`);
  const publicKeyPath = path.join(dir, `${name}-public.pem`);
  if (!fs.existsSync(privatePath)) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const pair = generateKeyPairSync('rsa', { modulusLength: 3072 });
    const tmp = `${privatePath}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    fs.writeFileSync(publicKeyPath, pair.publicKey.export({ type: 'spki', format: 'pem' }));
    fs.renameSync(tmp, privatePath); // last, so a half-written pair is never taken for a whole one
  }
  const privateKey = createPrivateKey(fs.readFileSync(privatePath));
  if (!fs.existsSync(publicKeyPath)) fs.writeFileSync(publicKeyPath, createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }));
  return { privateKey, publicKey: loadPublicKey(publicKeyPath), publicKeyPath };
}

export function loadPublicKey(file: string): KeyObject {
  const key = createPublicKey(fs.readFileSync(file));
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (key.asymmetricKeyType !== 'rsa' || bits < MIN_KEY_BITS) {
    throw new Error(`${file} is not an RSA public key of at least ${MIN_KEY_BITS} bits`);
  }
  return key;
}

/** Decimal amount strings on the wire are compared as exact strings after this normalisation. */
export function isWireAmount(value: unknown): value is string {
  return typeof value === 'string' && /^(0|[1-9]\d{0,14})(\.\d{1,2})?$/.test(value);
}
