import type { KeyObject } from 'node:crypto';
import { loadPublicKey } from '../protocol/depository.ts';
import { DomainError } from './errors.ts';
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
}
