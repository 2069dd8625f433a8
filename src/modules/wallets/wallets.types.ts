import type { CurrencyCode } from '../../platform/money/index.ts';

export type DepositoryAccountStatus = 'OPENING' | 'OPENED';

export interface DepositoryAccount {
  userId: string;
  /** The user's number at the bank (the user id: opaque, stable). */
  userNo: string;
  status: DepositoryAccountStatus;
  /** The latest PERSONAL_REGISTER request for this user. */
  requestNo: string;
  cardNumberMasked: string | null;
  bankCode: string | null;
  openedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * Topic the user center publishes when a user removes a bound card; the
 * depository agent's consumer tells the bank (UNBIND_CARD), retrying until the
 * bank answers.
 */
export const CARD_REMOVED = 'wallets.card-removed';

export interface CardRemovedEvent {
  cardId: string;
  userId: string;
  /** The user's number at the bank. */
  userNo: string;
  cardNumberMasked: string;
  removedAt: string;
}

export interface BoundCard {
  id: string;
  userId: string;
  cardNumberMasked: string;
  bankCode: string | null;
  requestNo: string;
  createdAt: Date;
}

/**
 * A record is PENDING while the bank works and leaves it once, for the bank's
 * outcome. A withdrawal that risk control sends through more checks first
 * (SPEC 6) waits for its SMS code (AWAITING_VERIFICATION), then for a
 * reviewer (AWAITING_REVIEW, HIGH risk), then for the user to go on to the
 * bank (READY); recharges are always PENDING from the start.
 */
export const recordStatuses = ['AWAITING_VERIFICATION', 'AWAITING_REVIEW', 'READY', 'PENDING', 'SUCCEEDED', 'FAILED'] as const;
export type RecordStatus = (typeof recordStatuses)[number];

export const Transitions: Readonly<Record<RecordStatus, readonly RecordStatus[]>> = {
  AWAITING_VERIFICATION: ['AWAITING_REVIEW', 'PENDING', 'FAILED'],
  AWAITING_REVIEW: ['READY', 'FAILED'],
  READY: ['PENDING', 'FAILED'],
  PENDING: ['SUCCEEDED', 'FAILED'],
  SUCCEEDED: [],
  FAILED: [],
};

export function assertTransition(from: RecordStatus, to: RecordStatus): void {
  if (!Transitions[from].includes(to)) throw new Error(`a wallet record cannot move ${from} -> ${to}`);
}

export interface RechargeRecord {
  id: string;
  userId: string;
  requestNo: string;
  amountMinor: bigint;
  currency: CurrencyCode;
  status: RecordStatus;
  errorCode: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface WithdrawRecord extends RechargeRecord {
  feeMinor: bigint;
  cardNumberMasked: string | null;
  /** The risk decision (null for withdrawals from before risk control) and its level. */
  riskDecisionId: string | null;
  riskLevel: string | null;
  /** The SMS code a MEDIUM or HIGH risk withdrawal waits for. */
  smsChallengeId: string | null;
  /** Where the bank sends the browser back, kept until the request is signed. */
  callbackUrl: string | null;
}

export type RecordKind = 'recharge' | 'withdraw';
