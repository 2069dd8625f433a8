import fs from 'node:fs';
import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import { loadPublicKey } from '../protocol/depository.ts';
import type { ChannelSandbox } from './channels.sandbox.ts';
import type { BankConfig } from './config.ts';
import type { Faults } from './faults.ts';
import type { NotificationSender } from './notifier.ts';
import type { PayoutFaults } from './payouts.service.ts';
import type { BankDb } from './repository.ts';

/** Everything a route or service of the simulator needs, built once at start. */
export interface BankContext {
  config: BankConfig;
  db: BankDb;
  bankPrivateKey: KeyObject;
  platformKey: PlatformKey;
  faults: Faults;
  /** Scripted outcomes for the next payout orders (sandbox). */
  payoutFaults: PayoutFaults;
  /** Each card payment channel's sandbox mode (up, down, slow, ...). */
  channels: ChannelSandbox;
  sender: NotificationSender;
  log: Logger;
}

export class PlatformKeyMissingError extends Error {}

/**
 * The platform's public key, read on first use so the simulator and Coffer can
 * start in either order (Coffer writes it on its first start), and read again
 * when the file changes (a fresh DATA_DIR for Coffer means a new key pair).
 */
export class PlatformKey {
  private key: KeyObject | undefined;
  private loadedMtimeMs = 0;

  constructor(private readonly file: string) {}

  get(): KeyObject {
    let mtimeMs: number;
    try {
      mtimeMs = fs.statSync(this.file).mtimeMs;
    } catch {
      throw new PlatformKeyMissingError(
        `The platform's public key is not at ${this.file}. Start Coffer once (it writes the key), or set PLATFORM_PUBLIC_KEY_PATH.`,
      );
    }
    if (!this.key || mtimeMs !== this.loadedMtimeMs) {
      this.key = loadPublicKey(this.file);
      this.loadedMtimeMs = mtimeMs;
    }
    return this.key;
  }
}
