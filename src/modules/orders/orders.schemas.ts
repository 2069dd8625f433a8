import { Type } from 'typebox';
import { EntryView } from '../ledger/index.ts';

const Time = Type.String({ format: 'date-time' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const OrderView = Type.Object({
  id: Type.String({ description: 'ord_...' }),
  userId: Type.String(),
  currency: Type.String(),
  amount: Type.String({ description: 'Decimal string in the order currency' }),
  type: Type.String({ description: 'RECHARGE_BANK, RECHARGE_CARD, WITHDRAW or PURCHASE' }),
  serialNo: Type.String({ description: 'The request number, pay order number or subscription id that carried it out' }),
  status: Type.String({ description: 'PENDING, then SUCCEEDED or FAILED' }),
  errorCode: Nullable(Type.String()),
  transactedAt: Nullable(Time),
  createdAt: Time,
  updatedAt: Time,
});

export const OrderDetailView = Type.Intersect([
  OrderView,
  Type.Object({
    transfers: Type.Array(
      Type.Object({ id: Type.String(), code: Type.String(), amount: Type.String(), currency: Type.String(), state: Type.String(), createdAt: Time }),
      { description: 'The ledger transfers this order made so far' },
    ),
    entries: Type.Array(EntryView, { description: 'Their entries on my accounts' }),
  }),
]);

export const OrderQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  startingAfter: Type.Optional(Type.String({ maxLength: 64, description: 'The id of the last order of the previous page' })),
  status: Type.Optional(Type.String({ maxLength: 16 })),
  type: Type.Optional(Type.String({ maxLength: 16 })),
  currency: Type.Optional(Type.String({ maxLength: 3 })),
});

export const OrderParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
export const OrderPage = Type.Object({ data: Type.Array(OrderView), hasMore: Type.Boolean() });
