import { Type } from 'typebox';

const Amount = Type.String({ description: 'A decimal amount in the product currency, e.g. "1000.00"', maxLength: 40, examples: ['1000.00'] });
const Time = Type.String({ format: 'date-time' });
const Day = Type.String({ description: 'A calendar day (UTC), yyyy-mm-dd', examples: ['2026-12-05'] });
const DayCount = Type.Union([Type.Literal('ACT/365'), Type.Literal('ACT/360')]);
const ProductStatus = Type.Union([Type.Literal('PRESALE'), Type.Literal('ON_SALE'), Type.Literal('SOLD_OUT'), Type.Literal('ENDED')]);
const SubscriptionStatus = Type.Union(
  [
    Type.Literal('AWAITING_PAYMENT'),
    Type.Literal('PAID'),
    Type.Literal('VALUE'),
    Type.Literal('MATURED'),
    Type.Literal('SETTLED'),
    Type.Literal('CANCELLED'),
  ],
  { description: 'PAID (waiting for the value date) | VALUE (earning) | MATURED (paid back by the maturity job) | SETTLED | CANCELLED | AWAITING_PAYMENT (card)' },
);
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

const productFields = {
  name: Type.String({ minLength: 1, maxLength: 128 }),
  currency: Type.String({ minLength: 3, maxLength: 3, examples: ['CNY'] }),
  annualRate: Type.String({ description: 'Percent a year, up to 4 decimals: "3.65"', maxLength: 12, examples: ['3.65'] }),
  termDays: Type.Integer({ minimum: 1, maximum: 3660 }),
  minAmount: Amount,
  stepAmount: Amount,
  totalAmount: Amount,
  dayCount: DayCount,
  acceptorBank: Type.Optional(Type.String({ maxLength: 128 })),
  saleStart: Type.Optional(Type.String({ format: 'date-time', description: 'PRESALE until then' })),
  saleEnd: Type.Optional(Type.String({ format: 'date-time', description: 'ENDED from then' })),
};

/** SPEC 7, a contract. */
export const CreateProductBody = Type.Object({ code: Type.String({ minLength: 1, maxLength: 32, examples: ['XJP-90D-001'] }), ...productFields }, { additionalProperties: false });
export const UpdateProductBody = Type.Object(
  { ...productFields, version: Type.Integer({ minimum: 1, description: 'The version read: a stale one is 409 PRODUCT_VERSION_CONFLICT' }) },
  { additionalProperties: false },
);
export const ShelfBody = Type.Object({ onShelf: Type.Boolean() }, { additionalProperties: false });
export const CreatedProduct = Type.Object({ id: Type.String({ description: 'prd_...' }), code: Type.String(), status: ProductStatus });

export const ProductView = Type.Object({
  id: Type.String(),
  code: Type.String(),
  name: Type.String(),
  currency: Type.String(),
  annualRate: Type.String({ description: 'Percent a year' }),
  termDays: Type.Integer(),
  minAmount: Type.String(),
  stepAmount: Type.String(),
  totalAmount: Type.String(),
  raisedAmount: Type.String({ description: 'Paid subscriptions' }),
  reservedAmount: Type.String({ description: 'Orders waiting for their card payment' }),
  remainingAmount: Type.String({ description: 'What can still be bought' }),
  progress: Type.String({ description: 'raisedAmount / totalAmount in percent, two decimals (floored)' }),
  dayCount: DayCount,
  acceptorBank: Nullable(Type.String()),
  interestStartRule: Type.Literal('T+1'),
  saleStart: Nullable(Time),
  saleEnd: Nullable(Time),
  onShelf: Type.Boolean(),
  status: ProductStatus,
  version: Type.Integer(),
  createdAt: Time,
  updatedAt: Time,
});

export const ProductPage = Type.Object({ data: Type.Array(ProductView), page: Type.Integer(), size: Type.Integer(), total: Type.Integer() });
export const PageQuery = Type.Object(
  { page: Type.Optional(Type.Integer({ minimum: 1, default: 1 })), size: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 10 })) },
  { additionalProperties: false },
);
export const IdOrCodeParams = Type.Object({ idOrCode: Type.String({ minLength: 1, maxLength: 64 }) });
export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
export const QuoteQuery = Type.Object({ amount: Amount }, { additionalProperties: false });
export const QuoteView = Type.Object({
  amount: Type.String(),
  currency: Type.String(),
  interest: Type.String({ description: 'amount x rate x termDays / days-in-year, rounded half-up once' }),
  valueDate: Day,
  maturityDate: Day,
  maturityAmount: Type.String(),
});

export const SubscribeBody = Type.Object(
  {
    productId: Type.String({ minLength: 1, maxLength: 64, description: 'The product id (or code)' }),
    amount: Amount,
    payWith: Type.Union([Type.Literal('WALLET'), Type.Literal('CARD')]),
  },
  { additionalProperties: false },
);

export const HoldingView = Type.Object({
  id: Type.String({ description: 'sub_...' }),
  productId: Type.String(),
  productCode: Type.String(),
  productName: Type.String(),
  amount: Type.String(),
  currency: Type.String(),
  annualRate: Type.String(),
  termDays: Type.Integer(),
  dayCount: DayCount,
  interest: Type.String({ description: 'Expected interest of the whole term' }),
  maturityAmount: Type.String(),
  valueDate: Day,
  maturityDate: Day,
  earnedToDate: Type.String({ description: 'Accrued linearly by days since the value date, floored to the minor unit' }),
  status: SubscriptionStatus,
  payWith: Type.Union([Type.Literal('WALLET'), Type.Literal('CARD')]),
  payOrderNo: Type.Optional(Type.String({ description: 'Card orders: pay at /my/payments/{payOrderNo}' })),
  expiresAt: Type.Optional(Time),
  errorCode: Type.Optional(Type.String()),
  createdAt: Time,
  paidAt: Type.Optional(Time),
  settledAt: Type.Optional(Time),
});
export const HoldingPage = Type.Object({ data: Type.Array(HoldingView), hasMore: Type.Boolean() });
export const HoldingListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    startingAfter: Type.Optional(Type.String({ maxLength: 64, description: 'The last id of the previous page' })),
  },
  { additionalProperties: false },
);
export const MaturityRunView = Type.Object({ settled: Type.Integer({ description: 'Holdings paid back by this run' }) });
