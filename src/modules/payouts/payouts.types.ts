import type { Id } from '../../platform/ids.ts';
import type { CurrencyCode } from '../../platform/money/index.ts';
import type { Product } from '../merchants/index.ts';

export type PayoutId = Id<'po'>;

export const payoutStatuses = ['ACCEPTED', 'PROCESSING', 'SUCCEEDED', 'FAILED', 'REVERSED'] as const;
export type PayoutStatus = (typeof payoutStatuses)[number];

/**
 * The payout state machine as data (SPEC 5). Every move in the database is
 * `UPDATE ... WHERE id = $id AND status = $from`; zero rows is a lost race.
 * ACCEPTED -> FAILED: a risk reviewer rejected it, or the channel refused the
 * order outright (it stored nothing), before it was ever processing.
 */
export const payoutTransitions: Readonly<Record<PayoutStatus, readonly PayoutStatus[]>> = {
  ACCEPTED: ['PROCESSING', 'FAILED'],
  PROCESSING: ['SUCCEEDED', 'FAILED'],
  SUCCEEDED: ['REVERSED'],
  FAILED: [],
  REVERSED: [],
};

export function canTransition(from: PayoutStatus, to: PayoutStatus): boolean {
  return payoutTransitions[from].includes(to);
}

export function assertTransition(from: PayoutStatus, to: PayoutStatus): void {
  if (!canTransition(from, to)) throw new Error(`payout transition ${from} -> ${to} is not in the table`);
}

export const finalStatuses: readonly PayoutStatus[] = ['SUCCEEDED', 'FAILED', 'REVERSED'];

export interface Beneficiary {
  name: string;
  accountNo: string;
  bankCode: string;
}

export interface Payout {
  id: PayoutId;
  merchantId: string;
  merchantOrderNo: string;
  amountMinor: bigint;
  feeMinor: bigint;
  currency: CurrencyCode;
  beneficiaryName: string;
  beneficiaryAccountNo: string;
  beneficiaryBankCode: string;
  remark: string | null;
  status: PayoutStatus;
  riskDecisionId: string;
  riskLevel: string;
  /** A HIGH risk payout waits for a reviewer before it is sent. */
  reviewPending: boolean;
  settlementAccountId: string;
  errorCode: string | null;
  errorMessage: string | null;
  channelRef: string | null;
  dispatchAttempts: number;
  queryAttempts: number;
  createdAt: Date;
  updatedAt: Date;
}

/** Topics this module publishes on the outbox. */
export const PAYOUT_ACCEPTED = 'payout.accepted';
/** One message per final status (SUCCEEDED, FAILED, REVERSED), for the webhooks module. */
export const PAYOUT_FINAL = 'payout.final';

export interface PayoutInput {
  merchantOrderNo: string;
  amount: string;
  currency: string;
  beneficiary: Beneficiary;
  remark?: string | undefined;
}

export interface ValidPayoutInput {
  merchantOrderNo: string;
  amountMinor: bigint;
  currency: CurrencyCode;
  beneficiary: Beneficiary;
  remark: string | null;
}

/** Which business product a payout is made under: the single API, or a row of an approved batch. */
export interface PayoutOrigin {
  product: Product;
}

export const SINGLE: PayoutOrigin = { product: 'PAYOUT_SINGLE' };

export interface ListFilter {
  status?: PayoutStatus | undefined;
  merchantOrderNo?: string | undefined;
  limit?: number | undefined;
  startingAfter?: string | undefined;
}

/** What one bank result did to its payout. */
export type ResultOutcome =
  | 'settled'
  /** Already there (duplicates and late results are normal): nothing moved. */
  | 'duplicate'
  /** The record says otherwise: nothing moved, the first word stands, an error is logged. */
  | 'contradicted'
  /** PROCESSING / NOT_FOUND: nothing to apply yet. */
  | 'no-result';
