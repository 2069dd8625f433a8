import type { Id } from '../../platform/ids.ts';
import type { CurrencyCode } from '../../platform/money/index.ts';
import type { ChannelKind } from '../../protocol/payment-channel.ts';
import type { AccountId, TransferCode } from '../ledger/index.ts';

export type PayOrderNo = Id<'pay'>;
export type PaymentCardId = Id<'pcd'>;
export type CouponId = Id<'cpn'>;

export const businessTypes = ['SUBSCRIPTION', 'RECHARGE'] as const;
export type BusinessType = (typeof businessTypes)[number];

export const paymentStatuses = ['DOING', 'SUCCESS', 'FAIL'] as const;
export type PaymentStatus = (typeof paymentStatuses)[number];

/**
 * The payment state machine as data (SPEC 8). Every move in the database is
 * `UPDATE ... WHERE pay_order_no = $no AND status = 'DOING'`: a final status
 * is never overwritten, zero rows is a lost race.
 */
export const paymentTransitions: Readonly<Record<PaymentStatus, readonly PaymentStatus[]>> = {
  DOING: ['SUCCESS', 'FAIL'],
  SUCCESS: [],
  FAIL: [],
};

export function assertTransition(from: PaymentStatus, to: PaymentStatus): void {
  if (!paymentTransitions[from].includes(to)) throw new Error(`payment transition ${from} -> ${to} is not in the table`);
}

/**
 * Where a DOING payment is inside its flow. CREATED -> SMS_SENT (a code went
 * out) -> CONFIRMING (one confirm claimed it: a channel call may be in flight)
 * -> UNKNOWN_OUTCOME (the channel never answered: queried) -> DONE (final).
 * Only CREATED and SMS_SENT may be cancelled or expire: the other two may have
 * moved money at a channel.
 */
export const paymentSteps = ['CREATED', 'SMS_SENT', 'CONFIRMING', 'UNKNOWN_OUTCOME', 'DONE'] as const;
export type PaymentStep = (typeof paymentSteps)[number];
export const idleSteps: readonly PaymentStep[] = ['CREATED', 'SMS_SENT'];

export type PaymentMethod = ChannelKind;
export type SmsSentBy = 'CHANNEL' | 'COFFER';

export interface Payment {
  payOrderNo: PayOrderNo;
  businessType: BusinessType;
  businessOrderNo: string;
  userId: string;
  description: string;
  amountMinor: bigint;
  discountMinor: bigint;
  payableMinor: bigint;
  currency: CurrencyCode;
  creditAccountId: AccountId;
  transferCode: TransferCode;
  method: PaymentMethod | null;
  status: PaymentStatus;
  step: PaymentStep;
  smsSentBy: SmsSentBy | null;
  cardId: PaymentCardId | null;
  couponId: CouponId | null;
  /** The channel that sent the SMS (quick pay), then the channel that took the money. */
  channelCode: string | null;
  /** The quick-pay attempt whose SMS the channel sent: CONFIRM goes under it. */
  smsAttemptNo: string | null;
  /** The Coffer SMS challenge (direct debit). */
  smsChallengeId: string | null;
  mobileMasked: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  expiresAt: Date;
  /** CONFIRMING / UNKNOWN_OUTCOME: until when the claimant (or the query job) owns it. */
  leaseUntil: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export type AttemptOperation = 'SEND_SMS' | 'CONFIRM' | 'DEBIT';
/**
 * One try at one channel. SEND_SMS: SENDING -> SMS_SENT | FAILED. CONFIRM
 * (reuses the SEND_SMS row: the channel knows the attempt by its number) and
 * DEBIT: CALLING -> SUCCESS | FAILED | UNKNOWN (no answer: queried).
 */
export type AttemptStatus = 'SENDING' | 'SMS_SENT' | 'CALLING' | 'SUCCESS' | 'FAILED' | 'UNKNOWN';

export interface Attempt {
  attemptNo: string;
  payOrderNo: PayOrderNo;
  channelCode: string;
  operation: AttemptOperation;
  status: AttemptStatus;
  errorCode: string | null;
  errorMessage: string | null;
  channelRef: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A channel attempt with its order's payable amount (what the channel debits): the channel's statement lists those that ended. */
export interface ChannelDebit {
  attemptNo: string;
  payOrderNo: PayOrderNo;
  channelCode: string;
  status: AttemptStatus;
  payableMinor: bigint;
  currency: CurrencyCode;
  /** The attempt's last change: when it ended, for one that did. */
  finalAt: Date;
}

export interface PaymentCard {
  id: PaymentCardId;
  userId: string;
  numberSealed: string;
  last4: string;
  bankCode: string;
  holderName: string;
  mobile: string;
  createdAt: Date;
}

export const couponStatuses = ['AVAILABLE', 'LOCKED', 'USED', 'EXPIRED'] as const;
/** EXPIRED is never stored: an AVAILABLE coupon past its expiry shows as EXPIRED. */
export type CouponStatus = (typeof couponStatuses)[number];

export interface Coupon {
  id: CouponId;
  userId: string;
  amountOffMinor: bigint;
  minSpendMinor: bigint;
  currency: CurrencyCode;
  expiresAt: Date;
  status: Exclude<CouponStatus, 'EXPIRED'>;
  payOrderNo: string | null;
  lockedUntil: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface Channel {
  code: string;
  kind: ChannelKind;
  provider: string;
  methods: PaymentMethod[];
  /** null or empty: every bank. */
  banks: string[] | null;
  currencies: CurrencyCode[];
  /** Per payment, in minor units of the payment's currency (every channel currency has 2 decimals). */
  minAmountMinor: bigint;
  maxAmountMinor: bigint;
  /** Lower first. */
  priority: number;
  /** Share of the traffic among channels of the same priority. */
  weight: number;
  enabled: boolean;
  version: number;
}

export type CircuitState = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

export interface Circuit {
  channelCode: string;
  /** As stored: OPEN stays OPEN until a trial takes it HALF_OPEN (see `circuitView`). */
  state: CircuitState;
  failures: number;
  windowStartedAt: Date | null;
  openedAt: Date | null;
  retryAt: Date | null;
  /** HALF_OPEN: until when the one trial call owns the channel. */
  trialUntil: Date | null;
}

export interface RoutingDecision {
  id: string;
  payOrderNo: string;
  method: PaymentMethod;
  step: 'SEND_SMS' | 'DEBIT';
  candidates: { code: string; eligible: boolean; reason?: string }[];
  order: string[];
  chosen: string | null;
  rule: string;
  createdAt: Date;
}

/** Topic of the one message per final payment status (for the business module that ordered it). */
export const PAYMENT_FINAL = 'payment.final';

export interface PaymentFinalEvent {
  payOrderNo: string;
  businessType: BusinessType;
  businessOrderNo: string;
  userId: string;
  amount: string;
  discount: string;
  payable: string;
  currency: string;
  status: 'SUCCESS' | 'FAIL';
  errorCode?: string;
  at: string;
}

export interface CreatePaymentInput {
  businessType: BusinessType;
  businessOrderNo: string;
  userId: string;
  amountMinor: bigint;
  currency: CurrencyCode;
  creditAccountId: AccountId;
  transferCode: TransferCode;
  description: string;
  expiresAt: Date;
}
