import { formatMinor } from '../../platform/money/index.ts';
import { formatRatePercent } from './products.interest.ts';
import type { ProductsService, Quote } from './products.service.ts';
import type { Product, Subscription } from './products.types.ts';

/** How a product looks at the API (money as decimal strings, the status as of now). */
export function productView(products: ProductsService, p: Product) {
  const money = (minor: bigint) => formatMinor(minor, p.currency);
  const progressHundredths = (p.raisedMinor * 10_000n) / p.totalAmountMinor;
  return {
    id: p.id,
    code: p.code,
    name: p.name,
    currency: p.currency,
    annualRate: formatRatePercent(p.ratePpm),
    termDays: p.termDays,
    minAmount: money(p.minAmountMinor),
    stepAmount: money(p.stepAmountMinor),
    totalAmount: money(p.totalAmountMinor),
    raisedAmount: money(p.raisedMinor),
    reservedAmount: money(p.reservedMinor),
    remainingAmount: money(p.totalAmountMinor - p.raisedMinor - p.reservedMinor),
    progress: `${progressHundredths / 100n}.${String(progressHundredths % 100n).padStart(2, '0')}`,
    dayCount: p.dayCount,
    acceptorBank: p.acceptorBank,
    interestStartRule: 'T+1' as const,
    saleStart: p.saleStart?.toISOString() ?? null,
    saleEnd: p.saleEnd?.toISOString() ?? null,
    onShelf: p.onShelf,
    status: products.effectiveStatus(p),
    version: p.version,
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
}

export function quoteView(q: Quote) {
  return {
    amount: formatMinor(q.amountMinor, q.currency),
    currency: q.currency,
    interest: formatMinor(q.interestMinor, q.currency),
    valueDate: q.schedule.valueDate,
    maturityDate: q.schedule.maturityDate,
    maturityAmount: formatMinor(q.amountMinor + q.interestMinor, q.currency),
  };
}

export type HoldingView = ReturnType<typeof holdingView>;

/** A subscription as its owner sees it: status and earnings as of the business clock's today. */
export function holdingView(products: ProductsService, s: Subscription) {
  const money = (minor: bigint) => formatMinor(minor, s.currency);
  return {
    id: s.id,
    productId: s.productId,
    productCode: s.productCode,
    productName: s.productName,
    amount: money(s.amountMinor),
    currency: s.currency,
    annualRate: formatRatePercent(s.ratePpm),
    termDays: s.termDays,
    dayCount: s.dayCount,
    interest: money(s.interestMinor),
    maturityAmount: money(s.amountMinor + s.interestMinor),
    valueDate: s.valueDate,
    maturityDate: s.maturityDate,
    earnedToDate: money(products.earnedToDate(s)),
    status: products.holdingStatus(s),
    payWith: s.payWith,
    ...(s.payOrderNo ? { payOrderNo: s.payOrderNo } : {}),
    ...(s.status === 'AWAITING_PAYMENT' && s.payWith === 'CARD' && s.expiresAt ? { expiresAt: s.expiresAt.toISOString() } : {}),
    ...(s.errorCode ? { errorCode: s.errorCode } : {}),
    createdAt: s.createdAt.toISOString(),
    ...(s.paidAt ? { paidAt: s.paidAt.toISOString() } : {}),
    ...(s.settledAt ? { settledAt: s.settledAt.toISOString() } : {}),
  };
}
