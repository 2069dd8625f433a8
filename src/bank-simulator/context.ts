import fs from 'node:fs';
import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import { loadPublicKey } from '../protocol/depository.ts';
import type { BankConfig } from './config.ts';
import type { Faults } from './faults.ts';
import type { NotificationSender } from './notifier.ts';
import type { BankDb } from './repository.ts';

/** Everything a route or service of the simulator needs, built once at start. */
export interface BankContext {
  config: BankConfig;
  db: BankDb;
  bankPrivateKey: KeyObject;
  platformKey: PlatformKey;
  faults: Faults;
  sender: NotificationSender;
  log: Logger;
}

export class PlatformKeyMissingError extends Error {}

/**
 * The platform's public key, read on first use so the simulator and Coffer can
 * start in either order (Coffer writes it on its first start).
 */
export class PlatformKey {
  private key: KeyObject | undefined;

  constructor(private readonly file: string) {}

  get(): KeyObject {
    if (this.key) return this.key;
    if (!fs.existsSync(this.file)) {
      throw new PlatformKeyMissingError(
        `The platform's public key is not at ${this.file}. Start Coffer once (it writes the key), or set PLATFORM_PUBLIC_KEY_PATH.`,
      );
    }
    this.key = loadPublicKey(this.file);
    return this.key;
  }
}
