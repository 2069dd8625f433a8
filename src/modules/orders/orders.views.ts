import { formatMinor } from '../../platform/money/index.ts';
import { entryView } from '../ledger/index.ts';
import type { OrderDetail } from './orders.service.ts';
import type { TransactionOrder } from './orders.types.ts';

/** How an order looks at the API: money as a decimal string, times ISO-8601 UTC. */
export function orderView(o: TransactionOrder) {
  return {
    id: o.id,
    userId: o.userId,
    currency: o.currency,
    amount: formatMinor(o.amountMinor, o.currency),
    type: o.type,
    serialNo: o.serialNo,
    status: o.status,
    errorCode: o.errorCode,
    transactedAt: o.transactedAt ? o.transactedAt.toISOString() : null,
    createdAt: o.createdAt.toISOString(),
    updatedAt: o.updatedAt.toISOString(),
  };
}

export function orderDetailView(d: OrderDetail) {
  return {
    ...orderView(d.order),
    transfers: d.transfers.map((t) => ({
      id: t.id,
      code: t.code,
      amount: formatMinor(t.amountMinor, t.currency),
      currency: t.currency,
      state: t.state,
      createdAt: t.createdAt.toISOString(),
    })),
    entries: d.entries.map(entryView),
  };
}
