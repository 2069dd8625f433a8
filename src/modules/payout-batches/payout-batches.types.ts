import type { Id } from '../../platform/ids.ts';
import type { CurrencyCode } from '../../platform/money/index.ts';

export type BatchId = Id<'pb'>;

/** Who created, approved or rejected a batch: an API key (signed API) or an operator (portal). */
export interface BatchActor {
  kind: 'apiKey' | 'operator';
  id: string;
}

export const batchStatuses = ['AWAITING_APPROVAL', 'APPROVED', 'PROCESSING', 'PROCESSED', 'REJECTED'] as const;
export type BatchStatus = (typeof batchStatuses)[number];

/**
 * The batch state machine as data. APPROVED: rows are being handed to the
 * payouts module; PROCESSING: every row has its payout (or was refused), some
 * are not final yet; PROCESSED: every row is final. A batch whose last rows
 * are refused at release goes APPROVED -> PROCESSED at once.
 */
export const batchTransitions: Readonly<Record<BatchStatus, readonly BatchStatus[]>> = {
  AWAITING_APPROVAL: ['APPROVED', 'REJECTED'],
  APPROVED: ['PROCESSING', 'PROCESSED'],
  PROCESSING: ['PROCESSED'],
  PROCESSED: [],
  REJECTED: [],
};

export const rowStatuses = ['PENDING', 'ACCEPTED', 'SUCCEEDED', 'FAILED', 'REVERSED', 'CANCELLED'] as const;
export type RowStatus = (typeof rowStatuses)[number];

/**
 * A row follows its payout. PENDING: not handed over yet; ACCEPTED: its payout
 * exists and is not final; FAILED straight from PENDING: the payouts module
 * refused it (no money moved); CANCELLED: the batch was rejected.
 * ACCEPTED -> REVERSED: the payout's SUCCEEDED message came after its REVERSED one.
 */
export const rowTransitions: Readonly<Record<RowStatus, readonly RowStatus[]>> = {
  PENDING: ['ACCEPTED', 'FAILED', 'CANCELLED'],
  ACCEPTED: ['SUCCEEDED', 'FAILED', 'REVERSED'],
  SUCCEEDED: ['REVERSED'],
  FAILED: [],
  REVERSED: [],
  CANCELLED: [],
};

/** The statuses a row may move to `to` from (what the guarded UPDATE's `status = any(...)` takes). */
export function rowSourcesOf(to: RowStatus): RowStatus[] {
  return rowStatuses.filter((from) => rowTransitions[from].includes(to));
}

export function assertBatchTransition(from: BatchStatus, to: BatchStatus): void {
  if (!batchTransitions[from].includes(to)) throw new Error(`payout batch transition ${from} -> ${to} is not in the table`);
}

export interface RowTally {
  count: number;
  amountMinor: bigint;
  feeMinor: bigint;
}

export interface PayoutBatch {
  id: BatchId;
  merchantId: string;
  status: BatchStatus;
  currency: CurrencyCode;
  rowCount: number;
  totalMinor: bigint;
  createdBy: BatchActor;
  decidedBy: BatchActor | null;
  decidedAt: Date | null;
  rejectReason: string | null;
  processedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  /** Rows per status (every status present, zeros included). */
  rows: Record<RowStatus, RowTally>;
}

export interface BatchRow {
  batchId: BatchId;
  line: number;
  merchantId: string;
  merchantOrderNo: string;
  amountMinor: bigint;
  currency: CurrencyCode;
  beneficiaryName: string;
  beneficiaryAccountNo: string;
  beneficiaryBankCode: string;
  remark: string | null;
  status: RowStatus;
  payoutId: string | null;
  feeMinor: bigint | null;
  errorCode: string | null;
  errorMessage: string | null;
  /** Claims so far: above 1, an earlier claim may have created the payout before it died. */
  attempts: number;
  firstAttemptAt: Date | null;
}

/** One refused line of an upload (line 1 is the header). */
export interface LineError {
  line: number;
  reason: string;
  code: string;
}
