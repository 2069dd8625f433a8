/** How payments, cards, coupons, channels and routing decisions look at the API (contract.md). */
import { formatMinor } from '../../platform/money/index.ts';
import { maskMobile } from '../sms/index.ts';
import { maskCardNumber } from './payments.cards.ts';
import { circuitState } from './payments.channels.ts';
import type { Channel, Circuit, Coupon, CouponStatus, Payment, PaymentCard, RoutingDecision } from './payments.types.ts';

export interface PaymentView {
  payOrderNo: string;
  businessType: string;
  businessOrderNo: string;
  description: string;
  amount: string;
  discount: string;
  payable: string;
  currency: string;
  method: Payment['method'];
  status: Payment['status'];
  step: Payment['step'];
  smsSentBy: Payment['smsSentBy'];
  mobileMasked?: string;
  cardId?: string;
  couponId?: string;
  channel?: string;
  errorCode?: string;
  errorMessage?: string;
  expiresAt: string;
  createdAt: string;
  updated: string;
}

export function paymentView(p: Payment): PaymentView {
  return {
    payOrderNo: p.payOrderNo,
    businessType: p.businessType,
    businessOrderNo: p.businessOrderNo,
    description: p.description,
    amount: formatMinor(p.amountMinor, p.currency),
    discount: formatMinor(p.discountMinor, p.currency),
    payable: formatMinor(p.payableMinor, p.currency),
    currency: p.currency,
    method: p.method,
    status: p.status,
    step: p.step,
    smsSentBy: p.smsSentBy,
    ...(p.mobileMasked ? { mobileMasked: p.mobileMasked } : {}),
    ...(p.cardId ? { cardId: p.cardId } : {}),
    ...(p.couponId ? { couponId: p.couponId } : {}),
    ...(p.channelCode ? { channel: p.channelCode } : {}),
    ...(p.errorCode ? { errorCode: p.errorCode } : {}),
    ...(p.errorMessage ? { errorMessage: p.errorMessage } : {}),
    expiresAt: p.expiresAt.toISOString(),
    createdAt: p.createdAt.toISOString(),
    updated: p.updatedAt.toISOString(),
  };
}

export function cardView(c: PaymentCard) {
  return {
    id: c.id,
    cardNumberMasked: maskCardNumber(c.last4),
    bankCode: c.bankCode,
    holderName: c.holderName,
    mobileMasked: maskMobile(c.mobile),
    createdAt: c.createdAt.toISOString(),
  };
}

export function couponStatus(c: Coupon, now: Date): CouponStatus {
  return c.status === 'AVAILABLE' && c.expiresAt <= now ? 'EXPIRED' : c.status;
}

export function couponView(c: Coupon, now: Date) {
  return {
    id: c.id,
    userId: c.userId,
    amountOff: formatMinor(c.amountOffMinor, c.currency),
    minSpend: formatMinor(c.minSpendMinor, c.currency),
    currency: c.currency,
    expiresAt: c.expiresAt.toISOString(),
    status: couponStatus(c, now),
    ...(c.payOrderNo ? { payOrderNo: c.payOrderNo } : {}),
  };
}

/** Channel limits are in minor units of a two-decimal currency (every channel currency has two decimals). */
export function formatLimit(amountMinor: bigint): string {
  return formatMinor(amountMinor, 'CNY');
}

export function channelView(channel: Channel, circuit: Circuit | undefined, now: Date) {
  return {
    code: channel.code,
    kind: channel.kind,
    provider: channel.provider,
    methods: channel.methods,
    banks: channel.banks,
    currencies: channel.currencies,
    minAmount: formatLimit(channel.minAmountMinor),
    maxAmount: formatLimit(channel.maxAmountMinor),
    priority: channel.priority,
    weight: channel.weight,
    enabled: channel.enabled,
    version: channel.version,
    circuit: circuit
      ? {
          state: circuitState(circuit, now),
          failures: circuit.failures,
          ...(circuit.openedAt ? { openedAt: circuit.openedAt.toISOString() } : {}),
          ...(circuit.retryAt ? { retryAt: circuit.retryAt.toISOString() } : {}),
        }
      : { state: 'CLOSED' as const, failures: 0 },
  };
}

export function decisionView(d: RoutingDecision) {
  return {
    id: d.id,
    payOrderNo: d.payOrderNo,
    method: d.method,
    step: d.step,
    candidates: d.candidates,
    order: d.order,
    ...(d.chosen ? { chosen: d.chosen } : {}),
    rule: d.rule,
    createdAt: d.createdAt.toISOString(),
  };
}
