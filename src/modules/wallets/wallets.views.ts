import { formatMinor } from '../../platform/money/index.ts';
import { balanceSummary } from '../ledger/index.ts';
import type { BoundCard, RechargeRecord, WithdrawRecord } from './wallets.types.ts';

/** How the user center's objects look at the API: money as decimal strings, times as ISO-8601 UTC. */

/** GET /my/wallets (SPEC 3 contract). */
export const walletView = balanceSummary;

export function rechargeView(record: RechargeRecord) {
  return {
    id: record.id,
    requestNo: record.requestNo,
    amount: formatMinor(record.amountMinor, record.currency),
    currency: record.currency,
    status: record.status,
    errorCode: record.errorCode,
    createdAt: record.createdAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
  };
}

export function withdrawView(record: WithdrawRecord) {
  return {
    ...rechargeView(record),
    fee: formatMinor(record.feeMinor, record.currency),
    cardNumberMasked: record.cardNumberMasked,
    riskLevel: record.riskLevel,
  };
}

export function cardView(card: BoundCard) {
  return { id: card.id, cardNumberMasked: card.cardNumberMasked, bankCode: card.bankCode, boundAt: card.createdAt.toISOString() };
}
