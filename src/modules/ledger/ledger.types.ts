import type { Id } from '../../platform/ids.ts';
import type { CurrencyCode } from '../../platform/money/index.ts';

export type AccountId = Id<'acc'>;
export const ownerKinds = ['USER', 'MERCHANT', 'PLATFORM'] as const;
export type OwnerKind = (typeof ownerKinds)[number];
export type AccountStatus = 'ACTIVE' | 'FROZEN' | 'CLOSED';

export const accountTypes = [
  'WALLET',
  'PRODUCT_HOLDING',
  'MERCHANT_SETTLEMENT',
  'DEPOSITORY_CLEARING',
  'CHANNEL_CLEARING',
  'PAYOUT_CLEARING',
  'PLATFORM_FUNDING',
  'FEE_INCOME',
  'INTEREST_EXPENSE',
  'COUPON_EXPENSE',
  'SUSPENSE',
  /** The platform's own bank account: money wired in by merchants arrives there (funding). */
  'BANK_CLEARING',
] as const;
export type AccountType = (typeof accountTypes)[number];

/** Business codes: why money moved. Stored on transfers and entries (the bill shows them). */
export const transferCodes = [
  'recharge',
  'withdraw',
  'payout',
  'fee',
  'subscription',
  'maturity',
  'interest',
  'coupon',
  'adjustment',
  'reversal',
  'settlement',
  'transfer',
  'funding',
] as const;
export type TransferCode = (typeof transferCodes)[number];

export interface Account {
  id: AccountId;
  accountNo: string;
  ownerKind: OwnerKind;
  ownerId: string;
  type: AccountType;
  currency: CurrencyCode;
  status: AccountStatus;
  /** User and merchant accounts may never have more debits than credits. */
  noOverdraft: boolean;
  postedDebits: bigint;
  postedCredits: bigint;
  pendingDebits: bigint;
  pendingCredits: bigint;
  createdAt: Date;
  updatedAt: Date;
}

export interface AccountBalances {
  /** posted credits - posted debits */
  balance: bigint;
  /** balance - pending debits: what can be spent now */
  available: bigint;
  pendingDebits: bigint;
  pendingCredits: bigint;
}

export function balancesOf(account: Pick<Account, 'postedDebits' | 'postedCredits' | 'pendingDebits' | 'pendingCredits'>): AccountBalances {
  const balance = account.postedCredits - account.postedDebits;
  return {
    balance,
    available: balance - account.pendingDebits,
    pendingDebits: account.pendingDebits,
    pendingCredits: account.pendingCredits,
  };
}

export type TransferKind = 'POSTED' | 'PENDING' | 'POST_PENDING' | 'VOID_PENDING';
/** POSTED for every transfer but a pending one, which moves PENDING -> POSTED | VOIDED | EXPIRED. */
export type TransferState = 'POSTED' | 'PENDING' | 'VOIDED' | 'EXPIRED';

export type Metadata = Record<string, string | number | boolean | null>;

export interface Transfer {
  id: string;
  kind: TransferKind;
  debitAccountId: AccountId;
  creditAccountId: AccountId;
  amountMinor: bigint;
  currency: CurrencyCode;
  code: TransferCode;
  reference: string | null;
  metadata: Metadata | null;
  pendingId: string | null;
  timeoutAt: Date | null;
  state: TransferState;
  /** For a pending transfer that was posted: how much of it. */
  postedAmountMinor: bigint | null;
  linkedId: string | null;
  createdAt: Date;
}

/** Moves money now. With `pending`, holds it instead until posted or voided. */
export interface TransferRequest {
  /** The caller's idempotency key: the same id twice moves money once. */
  id: string;
  debitAccountId: AccountId;
  creditAccountId: AccountId;
  amountMinor: bigint;
  currency: CurrencyCode;
  code: TransferCode;
  reference?: string;
  metadata?: Metadata;
  pending?: { timeoutSeconds?: number };
}

export interface PostPendingRequest {
  id: string;
  pendingId: string;
  /** Defaults to the whole pending amount; less posts part and releases the rest. */
  amountMinor?: bigint;
  reference?: string;
  metadata?: Metadata;
}

export interface VoidPendingRequest {
  id: string;
  pendingId: string;
  reference?: string;
  metadata?: Metadata;
}

export type LedgerOperation =
  | ({ op: 'transfer' } & TransferRequest)
  | ({ op: 'post' } & PostPendingRequest)
  | ({ op: 'void'; expired?: boolean } & VoidPendingRequest);

export interface Entry {
  accountId: AccountId;
  seq: bigint;
  transferId: string;
  direction: 'DEBIT' | 'CREDIT';
  amountMinor: bigint;
  balanceBeforeMinor: bigint;
  balanceAfterMinor: bigint;
  code: TransferCode;
  currency: CurrencyCode;
  createdAt: Date;
}

export interface Page<T> {
  data: T[];
  hasMore: boolean;
}
