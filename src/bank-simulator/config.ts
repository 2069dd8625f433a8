import path from 'node:path';
import { bool, ConfigError, type Env, int } from '../platform/env.ts';
import { isWireAmount } from '../protocol/depository.ts';
import { TRANSFER_IN_NOTIFY_PATH } from '../protocol/transfer-in.ts';

/**
 * Everything the bank depository simulator reads from its environment, validated
 * once at start; a bad value stops it with a message naming the variable.
 *
 * | variable                   | default                                   |
 * |----------------------------|-------------------------------------------|
 * | BANK_PORT                  | 3001 (0 picks a free port)                |
 * | HOST                       | 127.0.0.1                                 |
 * | BANK_PUBLIC_URL            | http://localhost:BANK_PORT                |
 * | DATA_DIR                   | ./data (the bank uses DATA_DIR/bank)      |
 * | BANK_DATABASE_URL          | unset: embedded store in DATA_DIR/bank/db |
 * | PLATFORM_NO                | coffer                                    |
 * | PLATFORM_PUBLIC_KEY_PATH   | DATA_DIR/keys/platform-public.pem         |
 * | ADMIN_TOKEN                | unset: sandbox endpoints are open         |
 * | SANDBOX                    | true (false: /sandbox/* answers 404)      |
 * | BANK_DEMO_CARD_BALANCE     | 100000.00                                 |
 * | BANK_PASSWORD_MAX_FAILURES | 5                                         |
 * | BANK_PASSWORD_LOCK_S       | 1800                                      |
 * | BANK_NOTIFY_SCHEDULE_S     | 0,15,15,30,180,600,1200,1800,1800,1800,3600,3600,7200,7200,10800,21600 |
 * | BANK_NOTIFY_SCALE          | 1 (e.g. 0.001 compresses the schedule)    |
 * | BANK_NOTIFY_POLL_MS        | 250                                       |
 * | BANK_NOTIFY_TIMEOUT_MS     | 5000                                      |
 * | BANK_PAYOUT_DELAY_MS       | 500 (a payout's processing time)          |
 * | BANK_PAYOUT_REVERSAL_MS    | 3000 (a reversing beneficiary's delay)    |
 * | BANK_PAYOUT_HANG_MS        | 30000 (a timing-out order's silence)      |
 * | BANK_PAYOUT_POLL_MS        | 100                                       |
 * | BANK_CHANNEL_SMS_TTL_MS    | 300000 (a card channel's SMS code lives 5 min) |
 * | BANK_CHANNEL_HANG_MS       | 60000 (a TIMEOUT channel's silence)       |
 * | BANK_TRANSFER_IN_NOTIFY_URL| PUBLIC_URL (or http://localhost:PORT) + /channel/transfer-in-notifications |
 * | LOG_LEVEL                  | info                                      |
 */
export interface BankConfig {
  port: number;
  host: string;
  publicUrl: string;
  /** The bank's own folder: DATA_DIR/bank. */
  bankDir: string;
  /** Embedded store folder (DATA_DIR/bank/db); ignored when databaseUrl is set. */
  storeDir: string | undefined;
  databaseUrl: string | undefined;
  keysDir: string;
  platformNo: string;
  platformPublicKeyPath: string;
  adminToken: string | undefined;
  sandbox: boolean;
  /** Decimal string; every card number not seen before starts with it. */
  demoCardBalance: string;
  passwordMaxFailures: number;
  passwordLockS: number;
  /** Delay before each delivery attempt, in seconds: one entry per attempt. */
  notifyScheduleS: number[];
  notifyScale: number;
  notifyPollMs: number;
  notifyTimeoutMs: number;
  /** Payout channel: how long processing takes, when a reversing payout is returned, how long a timing-out order gets no answer. */
  payoutDelayMs: number;
  payoutReversalMs: number;
  payoutHangMs: number;
  payoutPollMs: number;
  /** Card payment channels: how long a texted code is valid, how long a channel in TIMEOUT mode keeps a caller waiting. */
  channelSmsTtlMs: number;
  channelHangMs: number;
  /** Where incoming transfers are notified: the platform's address in its contract with the bank. */
  transferInNotifyUrl: string;
  logLevel: string;
}

/** The bank reads its environment with the same strict helpers as Coffer. */
export { ConfigError as BankConfigError };


export const DEFAULT_NOTIFY_SCHEDULE_S = [0, 15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 3600, 7200, 7200, 10800, 21600];

function positiveNumber(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || !(value > 0)) throw new ConfigError(`${name} must be a positive number, got "${raw}"`);
  return value;
}

function absoluteUrl(name: string, raw: string): string {
  try {
    new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be an absolute URL, got "${raw}"`);
  }
  return raw.replace(/\/$/, '');
}

function schedule(env: Env): number[] {
  const raw = env.BANK_NOTIFY_SCHEDULE_S;
  if (raw === undefined || raw === '') return DEFAULT_NOTIFY_SCHEDULE_S;
  const parts = raw.split(',').map((s) => s.trim());
  if (parts.some((p) => !/^\d+(\.\d+)?$/.test(p))) {
    throw new ConfigError(`BANK_NOTIFY_SCHEDULE_S must be comma-separated seconds such as "0,15,60", got "${raw}"`);
  }
  return parts.map(Number);
}

export function loadBankConfig(env: Env = process.env): BankConfig {
  const port = int(env, 'BANK_PORT', 3001, 0, 65535);
  const dataDir = path.resolve(env.DATA_DIR || './data');
  const bankDir = path.join(dataDir, 'bank');
  const databaseUrl = env.BANK_DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError(`BANK_DATABASE_URL must be a postgres:// URL, got "${databaseUrl}"`);
  }
  const demoCardBalance = env.BANK_DEMO_CARD_BALANCE || '100000.00';
  if (!isWireAmount(demoCardBalance) && demoCardBalance !== '0') {
    throw new ConfigError(`BANK_DEMO_CARD_BALANCE must be a decimal amount such as "100000.00", got "${demoCardBalance}"`);
  }
  return {
    port,
    host: env.HOST || '127.0.0.1',
    publicUrl: absoluteUrl('BANK_PUBLIC_URL', env.BANK_PUBLIC_URL || `http://localhost:${port}`),
    bankDir,
    storeDir: databaseUrl ? undefined : path.join(bankDir, 'db'),
    databaseUrl,
    keysDir: path.join(bankDir, 'keys'),
    platformNo: env.PLATFORM_NO || 'coffer',
    platformPublicKeyPath: path.resolve(env.PLATFORM_PUBLIC_KEY_PATH || path.join(dataDir, 'keys', 'platform-public.pem')),
    adminToken: env.ADMIN_TOKEN || undefined,
    sandbox: bool(env, 'SANDBOX', true),
    demoCardBalance,
    passwordMaxFailures: int(env, 'BANK_PASSWORD_MAX_FAILURES', 5, 1, 100),
    passwordLockS: int(env, 'BANK_PASSWORD_LOCK_S', 1800, 1),
    notifyScheduleS: schedule(env),
    notifyScale: positiveNumber(env, 'BANK_NOTIFY_SCALE', 1),
    notifyPollMs: int(env, 'BANK_NOTIFY_POLL_MS', 250, 5, 60_000),
    notifyTimeoutMs: int(env, 'BANK_NOTIFY_TIMEOUT_MS', 5000, 100, 120_000),
    payoutDelayMs: int(env, 'BANK_PAYOUT_DELAY_MS', 500, 0, 3_600_000),
    payoutReversalMs: int(env, 'BANK_PAYOUT_REVERSAL_MS', 3000, 0, 86_400_000),
    payoutHangMs: int(env, 'BANK_PAYOUT_HANG_MS', 30_000, 0, 600_000),
    payoutPollMs: int(env, 'BANK_PAYOUT_POLL_MS', 100, 5, 60_000),
    channelSmsTtlMs: int(env, 'BANK_CHANNEL_SMS_TTL_MS', 300_000, 100, 3_600_000),
    channelHangMs: int(env, 'BANK_CHANNEL_HANG_MS', 60_000, 0, 600_000),
    transferInNotifyUrl: absoluteUrl(
      'BANK_TRANSFER_IN_NOTIFY_URL',
      env.BANK_TRANSFER_IN_NOTIFY_URL || `${(env.PUBLIC_URL || `http://localhost:${env.PORT || 3000}`).replace(/\/$/, '')}${TRANSFER_IN_NOTIFY_PATH}`,
    ),
    logLevel: env.LOG_LEVEL || 'info',
  };
}
