import type { KeyObject } from 'node:crypto';
import { loadPublicKey, verifyText } from '../protocol/depository.ts';
import { DomainError, type ErrorCode } from './errors.ts';
import type { Logger } from './log.ts';

/**
 * The bank's public key (BANK_PUBLIC_KEY_PATH), read on first use so Coffer can
 * start before the bank has written it; until then a caller gets a clear
 * SERVICE_UNAVAILABLE, and an operator a logged error naming the file.
 */
export class BankPublicKey {
  private key: KeyObject | undefined;

  constructor(
    private readonly file: string,
    private readonly logger: Pick<Logger, 'error'>,
  ) {}

  get(): KeyObject {
    if (this.key) return this.key;
    try {
      this.key = loadPublicKey(this.file);
      return this.key;
    } catch (err) {
      this.logger.error({ err, file: this.file }, 'the bank public key cannot be loaded');
      throw new DomainError(
        'SERVICE_UNAVAILABLE',
        `The bank's public key is not available (${this.file}); set BANK_PUBLIC_KEY_PATH to the bank's PEM public key`,
      );
    }
  }

  /**
   * A bank notification's envelope, checked in order: a serviceName this
   * endpoint takes, this platform's number, a reqData, and the bank's
   * signature over the reqData text exactly as received (before anything reads
   * it). Any failure is a DomainError (a 4xx, nothing changed); the answer is
   * the verified reqData text.
   */
  verifiedNotification(
    query: BankNotificationQuery,
    expect: { serviceNames: readonly string[]; platformNo: string; malformedCode: ErrorCode; maxReqDataLength?: number },
  ): { serviceName: string; reqData: string } {
    const { serviceName, reqData } = query;
    if (typeof serviceName !== 'string' || !expect.serviceNames.includes(serviceName)) {
      const names = expect.serviceNames;
      throw new DomainError('UNKNOWN_SERVICE', names.length === 1 ? `serviceName must be ${names[0]}` : `serviceName must be one of ${names.join(', ')}`);
    }
    if (query.platformNo !== expect.platformNo) throw new DomainError('UNKNOWN_PLATFORM', 'platformNo is not this platform');
    if (typeof reqData !== 'string' || reqData.length === 0 || reqData.length > (expect.maxReqDataLength ?? Infinity)) {
      throw new DomainError(expect.malformedCode, 'reqData is required');
    }
    // Base64 has no spaces: a '+' the sender forgot to percent-encode arrives as one.
    const signature = typeof query.signature === 'string' ? query.signature.replaceAll(' ', '+') : undefined;
    if (!verifyText(reqData, signature, this.get())) {
      throw new DomainError('INVALID_SIGNATURE', 'The signature is not the bank’s signature over reqData');
    }
    return { serviceName, reqData };
  }
}

/** The four fields of a signed bank notification, as they arrive (query string). */
export interface BankNotificationQuery {
  serviceName?: unknown;
  platformNo?: unknown;
  signature?: unknown;
  reqData?: unknown;
}
