import type { CurrencyCode } from '../../platform/money/index.ts';

/** A payout's final status as PAYOUT_FINAL announces it. */
export const finalStatuses = ['SUCCEEDED', 'FAILED', 'REVERSED'] as const;
export type FinalStatus = (typeof finalStatuses)[number];

/** The line type each final status books: a payment (with its fee), a failure (nothing moved), a return. */
export const lineTypeOf = { SUCCEEDED: 'PAYOUT', FAILED: 'FAILED', REVERSED: 'REVERSAL' } as const satisfies Record<FinalStatus, string>;
export type LineType = (typeof lineTypeOf)[FinalStatus];
export const lineTypes: readonly LineType[] = ['PAYOUT', 'FAILED', 'REVERSAL'];

/** One line of a day's file: one per (payout, final status). */
export interface Line {
  payoutId: string;
  status: FinalStatus;
  merchantId: string;
  /** The UTC day (yyyy-mm-dd) whose file holds the line. */
  day: string;
  /** The status time, or for a late line the time it arrived. */
  bookedAt: Date;
  /** The payout's status time (`payout.updated`). */
  statusAt: Date;
  /** Its status day's file was already closed when it arrived: booked into the first open day instead. */
  late: boolean;
  merchantOrderNo: string;
  /** Masked: the last four characters. */
  beneficiaryAccount: string;
  currency: CurrencyCode;
  amountMinor: bigint;
  feeMinor: bigint;
  /** Effect on the merchant's settlement account: PAYOUT -(amount + fee), FAILED 0, REVERSAL +(amount + fee). */
  netMinor: bigint;
}

/** A day's file as stored once the day closed: served byte for byte from then on. */
export interface ClosedFile {
  csv: string;
  sha256: string;
  closedAt: Date;
  lineCount: number;
}

export interface ReconciliationFile {
  csv: string;
  closed: boolean;
  /** Only for a closed file: hex SHA-256 of its bytes. */
  sha256?: string;
}

export interface DaySummary {
  date: string;
  closed: boolean;
  lines: number;
}
