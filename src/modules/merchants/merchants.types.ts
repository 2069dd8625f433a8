import type { Id } from '../../platform/ids.ts';
import type { CurrencyCode } from '../../platform/money/index.ts';

export type MerchantId = Id<'mch'>;
export type ApiKeyId = Id<'mk'>;
export type OperatorId = Id<'op'>;
export type AdjustmentId = Id<'adj'>;

export const merchantStatuses = ['PENDING_REVIEW', 'ACTIVE', 'SUSPENDED'] as const;
export type MerchantStatus = (typeof merchantStatuses)[number];

/**
 * The merchant state machine as data (STYLE: Vendure's transitions table).
 * A move not listed here is refused; the database update is guarded on the
 * expected current status, so a lost race is refused too, never overwritten.
 */
export const merchantTransitions: Readonly<Record<MerchantStatus, readonly MerchantStatus[]>> = {
  PENDING_REVIEW: ['ACTIVE'],
  ACTIVE: ['SUSPENDED'],
  SUSPENDED: ['ACTIVE'],
};

export function canTransition(from: MerchantStatus, to: MerchantStatus): boolean {
  return merchantTransitions[from].includes(to);
}

export const products = ['PAYOUT_SINGLE', 'PAYOUT_BATCH'] as const;
export type Product = (typeof products)[number];

export const apiKeyRoles = ['maker', 'checker'] as const;
export type ApiKeyRole = (typeof apiKeyRoles)[number];

export const operatorRoles = ['admin', 'maker', 'checker', 'viewer'] as const;
export type OperatorRole = (typeof operatorRoles)[number];

/**
 * A fee rule for one product in one currency: fixed + rate, then clamped to
 * [min, max] when those are set. Amounts in minor units of `currency`.
 */
export interface FeeRule {
  product: Product;
  currency: CurrencyCode;
  fixedMinor: bigint;
  /** Basis points of the amount: 1 bp = 0.01 %, 10000 bp = 100 %. */
  rateBp: number;
  minMinor: bigint | null;
  maxMinor: bigint | null;
}

export interface Merchant {
  id: MerchantId;
  name: string;
  status: MerchantStatus;
  products: Product[];
  fees: FeeRule[];
  createdAt: Date;
  updatedAt: Date;
}

export interface ApiKey {
  id: ApiKeyId;
  merchantId: MerchantId;
  role: ApiKeyRole;
  createdAt: Date;
  revokedAt: Date | null;
}

/** Who a verified signed request comes from: what `request.merchant` holds behind `app.requireMerchant`. */
export interface AuthenticatedMerchant {
  merchantId: MerchantId;
  keyId: ApiKeyId;
  role: ApiKeyRole;
}

export type AdjustmentStatus = 'PENDING' | 'POSTED' | 'FAILED';

export interface Adjustment {
  id: AdjustmentId;
  merchantId: MerchantId;
  accountId: string;
  amountMinor: bigint;
  currency: CurrencyCode;
  reason: string;
  status: AdjustmentStatus;
  /** The ledger transfer's id (its idempotency key): `adjustment:<id>`. */
  transferId: string;
  createdByKind: string;
  createdById: string;
  createdAt: Date;
  postedAt: Date | null;
}

export interface Operator {
  id: OperatorId;
  username: string;
  role: OperatorRole;
  /** The merchant a maker, checker or viewer works for; null for platform operators (every admin). */
  merchantId: MerchantId | null;
  status: 'ACTIVE' | 'DISABLED';
  createdAt: Date;
  updatedAt: Date;
}

/** Who is logged in on an operator route: what `request.operator` holds. */
export interface AuthenticatedOperator {
  id: OperatorId;
  username: string;
  role: OperatorRole;
  merchantId: MerchantId | null;
  sessionId: string;
}

export interface Page<T> {
  data: T[];
  hasMore: boolean;
}
