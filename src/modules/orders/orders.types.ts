import type { CurrencyCode } from '../../platform/money/index.ts';

/**
 * Transaction orders (seed 002's 交易訂單): one row per money request a user
 * makes, whatever module carries it out. The row says what was asked and how
 * it ended; the money itself is in the ledger, under the transfer ids the
 * order lists.
 */
export const orderTypes = ['RECHARGE_BANK', 'RECHARGE_CARD', 'WITHDRAW', 'PURCHASE'] as const;
export type OrderType = (typeof orderTypes)[number];

export const orderStatuses = ['PENDING', 'SUCCEEDED', 'FAILED'] as const;
export type OrderStatus = (typeof orderStatuses)[number];

/** The order state machine as data; the database enforces it with `... WHERE status = 'PENDING'`. */
export const orderTransitions: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  PENDING: ['SUCCEEDED', 'FAILED'],
  SUCCEEDED: [],
  FAILED: [],
};

export function assertOrderTransition(from: OrderStatus, to: OrderStatus): void {
  if (!orderTransitions[from].includes(to)) throw new Error(`a transaction order cannot move ${from} -> ${to}`);
}

export interface TransactionOrder {
  id: string;
  userId: string;
  currency: CurrencyCode;
  amountMinor: bigint;
  type: OrderType;
  /** The request's number in the module that carries it out: bank request number, pay order number, subscription id. */
  serialNo: string;
  status: OrderStatus;
  errorCode: string | null;
  /** The user's account the money moves on. */
  accountId: string | null;
  /** Ledger transfers (ids derived from the serial number) this order may post; the ones that exist are its entries. */
  transferIds: string[];
  /** When the order reached its final status (null while PENDING). */
  transactedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface OpenOrderInput {
  /** An id the caller drew beforehand (newOrderId) when it must name the order elsewhere first. */
  id?: string;
  userId: string;
  currency: CurrencyCode;
  amountMinor: bigint;
  type: OrderType;
  serialNo: string;
  accountId: string | null;
  transferIds: string[];
  /** The request's Idempotency-Key, unique per user: a retry that took the key over finds this order. */
  clientKey?: string | null | undefined;
}

export interface OrderSettlement {
  type: OrderType;
  serialNo: string;
  status: Exclude<OrderStatus, 'PENDING'>;
  errorCode?: string | null;
}
