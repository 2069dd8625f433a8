import type { Id } from '../../platform/ids.ts';
import type { CurrencyCode } from '../../platform/money/index.ts';
import type { AccountId, TransferCode } from '../ledger/index.ts';
import type { DayCount } from './products.interest.ts';
import type { Executor } from './products.repository.ts';

export type ProductId = Id<'prd'>;
export type SubscriptionId = Id<'sub'>;

export const productStatuses = ['PRESALE', 'ON_SALE', 'SOLD_OUT', 'ENDED'] as const;
export type ProductStatus = (typeof productStatuses)[number];

/**
 * A product's stored status moves only along this table (guarded UPDATEs). Time
 * moves PRESALE -> ON_SALE (saleStart) and anything -> ENDED (saleEnd); the
 * amount moves ON_SALE <-> SOLD_OUT (full; back when an unpaid order's
 * reservation is released).
 */
export const productTransitions: Readonly<Record<ProductStatus, readonly ProductStatus[]>> = {
  PRESALE: ['ON_SALE', 'SOLD_OUT', 'ENDED'],
  ON_SALE: ['SOLD_OUT', 'ENDED'],
  SOLD_OUT: ['ON_SALE', 'ENDED'],
  ENDED: [],
};

export const subscriptionStatuses = ['AWAITING_PAYMENT', 'PAID', 'VALUE', 'MATURED', 'SETTLED', 'CANCELLED'] as const;
export type SubscriptionStatus = (typeof subscriptionStatuses)[number];

/**
 * A subscription order's life. AWAITING_PAYMENT -> PAID when the money is in the
 * holding account (wallet transfer, or the payment core's SUCCESS), -> CANCELLED
 * when the payment failed or expired (the reservation is released). PAID ->
 * VALUE on the value date, -> MATURED on the maturity date, -> SETTLED once
 * principal and interest are back in the wallet (the maturity job; a holding it
 * catches up on moves straight from PAID or VALUE to SETTLED).
 */
export const subscriptionTransitions: Readonly<Record<SubscriptionStatus, readonly SubscriptionStatus[]>> = {
  AWAITING_PAYMENT: ['PAID', 'CANCELLED'],
  PAID: ['VALUE', 'MATURED', 'SETTLED'],
  VALUE: ['MATURED', 'SETTLED'],
  MATURED: ['SETTLED'],
  SETTLED: [],
  CANCELLED: [],
};

export function assertSubscriptionTransition(from: SubscriptionStatus, to: SubscriptionStatus): void {
  if (!subscriptionTransitions[from].includes(to)) throw new Error(`subscription transition ${from} -> ${to} is not in the table`);
}

/** Holdings the maturity job still owes money to. */
export const unsettledHoldingStatuses: readonly SubscriptionStatus[] = ['PAID', 'VALUE', 'MATURED'];

export const payMethods = ['WALLET', 'CARD'] as const;
export type PayWith = (typeof payMethods)[number];

export interface Product {
  id: ProductId;
  code: string;
  name: string;
  currency: CurrencyCode;
  /** Parts per million of the principal per year: "3.65" % is 36 500. */
  ratePpm: number;
  termDays: number;
  minAmountMinor: bigint;
  stepAmountMinor: bigint;
  totalAmountMinor: bigint;
  /** Paid subscriptions. */
  raisedMinor: bigint;
  /** Orders that wait for their payment: counted against the total so it is never oversold. */
  reservedMinor: bigint;
  dayCount: DayCount;
  acceptorBank: string | null;
  saleStart: Date | null;
  saleEnd: Date | null;
  onShelf: boolean;
  /** As last stored; `effectiveStatus` adds what the clock has done since. */
  status: ProductStatus;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface Subscription {
  id: SubscriptionId;
  userId: string;
  productId: ProductId;
  productCode: string;
  productName: string;
  amountMinor: bigint;
  currency: CurrencyCode;
  ratePpm: number;
  termDays: number;
  dayCount: DayCount;
  interestMinor: bigint;
  valueDate: string;
  maturityDate: string;
  status: SubscriptionStatus;
  payWith: PayWith;
  payOrderNo: string | null;
  walletAccountId: AccountId;
  holdingAccountId: AccountId;
  /** An unpaid order is cancelled (its reservation released) after this. */
  expiresAt: Date | null;
  errorCode: string | null;
  createdAt: Date;
  paidAt: Date | null;
  settledAt: Date | null;
  updatedAt: Date;
}

/** What the products module asks of the payment core (wired in main.ts to the payments module). */
export interface PaymentsPort {
  /** In the caller's transaction: one payment order for the subscription (idempotent on the business order). */
  createPayment(
    input: {
      businessType: 'SUBSCRIPTION';
      businessOrderNo: string;
      userId: string;
      amountMinor: bigint;
      currency: CurrencyCode;
      creditAccountId: AccountId;
      transferCode: TransferCode;
      description: string;
      expiresAt: Date;
    },
    trx: Executor,
  ): Promise<{ payOrderNo: string }>;
  /** 'FAIL': cancelled (now or before); 'SUCCESS': too late, it was paid; 'DOING': ask again later. */
  cancel(payOrderNo: string, reason: string): Promise<'SUCCESS' | 'FAIL' | 'DOING'>;
}

/** What products reads of the payment core's `payment.final` notice (main.ts subscribes it). */
export interface PaymentFinalNotice {
  payOrderNo: string;
  businessType: string;
  businessOrderNo: string;
  userId: string;
  amount: string;
  status: 'SUCCESS' | 'FAIL';
  errorCode?: string;
}

/** Ledger transfer ids of a subscription: derived from its id, so each moves money once. */
export const transferIds = {
  walletPayment: (id: string) => `${id}:subscription`,
  principal: (id: string) => `${id}:maturity`,
  interest: (id: string) => `${id}:interest`,
};
