import { Type } from 'typebox';

const Amount = Type.String({ description: 'A decimal amount in the currency, e.g. "125.50"', examples: ['125.50'], maxLength: 40 });
const Optional = <T extends Parameters<typeof Type.Optional>[0]>(schema: T) => Type.Optional(schema);

export const PaymentView = Type.Object({
  payOrderNo: Type.String({ description: 'pay_...' }),
  businessType: Type.String(),
  businessOrderNo: Type.String(),
  description: Type.String(),
  amount: Amount,
  discount: Amount,
  payable: Amount,
  currency: Type.String(),
  method: Type.Union([Type.Literal('QUICK_PAY'), Type.Literal('DIRECT_DEBIT'), Type.Null()]),
  status: Type.Union([Type.Literal('DOING'), Type.Literal('SUCCESS'), Type.Literal('FAIL')]),
  step: Type.Union([Type.Literal('CREATED'), Type.Literal('SMS_SENT'), Type.Literal('CONFIRMING'), Type.Literal('UNKNOWN_OUTCOME'), Type.Literal('DONE')]),
  smsSentBy: Type.Union([Type.Literal('CHANNEL'), Type.Literal('COFFER'), Type.Null()]),
  mobileMasked: Optional(Type.String()),
  cardId: Optional(Type.String()),
  couponId: Optional(Type.String()),
  channel: Optional(Type.String()),
  errorCode: Optional(Type.String()),
  errorMessage: Optional(Type.String()),
  expiresAt: Type.String({ format: 'date-time' }),
  createdAt: Type.String({ format: 'date-time' }),
  updated: Type.String({ format: 'date-time' }),
});
export const PaymentPage = Type.Object({ data: Type.Array(PaymentView), hasMore: Type.Boolean() });

export const PayOrderParams = Type.Object({ payOrderNo: Type.String({ maxLength: 64 }) });

export const PageQuery = Type.Object(
  {
    limit: Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    startingAfter: Optional(Type.String({ maxLength: 64, description: 'The last id of the previous page' })),
  },
  { additionalProperties: false },
);
export const AdminPaymentsQuery = Type.Object(
  {
    status: Optional(Type.Union([Type.Literal('DOING'), Type.Literal('SUCCESS'), Type.Literal('FAIL')])),
    userId: Optional(Type.String({ maxLength: 64 })),
    limit: Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    startingAfter: Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);

export const SendSmsBody = Type.Object(
  {
    cardId: Type.String({ maxLength: 64, description: 'pcd_... (one of your payment cards)' }),
    couponId: Optional(Type.String({ maxLength: 64, description: 'cpn_... (one of your coupons, AVAILABLE)' })),
  },
  { additionalProperties: false },
);
export const ConfirmBody = Type.Object(
  { smsCode: Type.String({ minLength: 1, maxLength: 16, description: 'The code the channel (quick pay) or Coffer (direct debit) texted' }) },
  { additionalProperties: false },
);

export const AddCardBody = Type.Object(
  {
    cardNumber: Type.String({ minLength: 12, maxLength: 40, description: '12-19 digits passing the Luhn check (spaces and dashes ignored); stored sealed, never shown whole' }),
    holderName: Type.String({ minLength: 1, maxLength: 128 }),
    mobile: Type.String({ minLength: 6, maxLength: 24 }),
    bankCode: Type.String({ minLength: 2, maxLength: 32 }),
  },
  { additionalProperties: false },
);
export const CardView = Type.Object({
  id: Type.String({ description: 'pcd_...' }),
  cardNumberMasked: Type.String(),
  bankCode: Type.String(),
  holderName: Type.String(),
  mobileMasked: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
});
export const CardParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

const CouponStatus = Type.Union([Type.Literal('AVAILABLE'), Type.Literal('LOCKED'), Type.Literal('USED'), Type.Literal('EXPIRED')]);
export const CouponView = Type.Object({
  id: Type.String({ description: 'cpn_...' }),
  userId: Type.String(),
  amountOff: Amount,
  minSpend: Amount,
  currency: Type.String(),
  expiresAt: Type.String({ format: 'date-time' }),
  status: CouponStatus,
  payOrderNo: Optional(Type.String()),
});
export const MyCouponsQuery = Type.Object({ status: Optional(CouponStatus) }, { additionalProperties: false });
export const AdminCouponsQuery = Type.Object(
  {
    userId: Optional(Type.String({ maxLength: 64 })),
    status: Optional(CouponStatus),
    limit: Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    startingAfter: Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);
export const CouponPage = Type.Object({ data: Type.Array(CouponView), hasMore: Type.Boolean() });
export const IssueCouponBody = Type.Object(
  {
    userId: Type.String({ minLength: 1, maxLength: 64 }),
    amountOff: Amount,
    minSpend: Type.String({ maxLength: 40, description: 'More than amountOff' }),
    currency: Type.String({ minLength: 3, maxLength: 3 }),
    expiresAt: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
);

const Circuit = Type.Object({
  state: Type.Union([Type.Literal('CLOSED'), Type.Literal('OPEN'), Type.Literal('HALF_OPEN')]),
  failures: Type.Integer(),
  openedAt: Optional(Type.String({ format: 'date-time' })),
  retryAt: Optional(Type.String({ format: 'date-time' })),
});
export const ChannelView = Type.Object({
  code: Type.String(),
  kind: Type.String(),
  provider: Type.String(),
  methods: Type.Array(Type.String()),
  banks: Type.Union([Type.Array(Type.String()), Type.Null()]),
  currencies: Type.Array(Type.String()),
  minAmount: Amount,
  maxAmount: Amount,
  priority: Type.Integer(),
  weight: Type.Integer(),
  enabled: Type.Boolean(),
  version: Type.Integer(),
  circuit: Circuit,
});
export const ChannelParams = Type.Object({ code: Type.String({ maxLength: 32 }) });
export const EditChannelBody = Type.Object(
  {
    methods: Optional(Type.Array(Type.String({ maxLength: 32 }), { maxItems: 4 })),
    banks: Optional(Type.Union([Type.Array(Type.String({ minLength: 2, maxLength: 32 }), { maxItems: 200 }), Type.Null()], { description: 'null or empty: every bank' })),
    currencies: Optional(Type.Array(Type.String({ minLength: 3, maxLength: 3 }), { minItems: 1, maxItems: 20 })),
    minAmount: Optional(Amount),
    maxAmount: Optional(Amount),
    priority: Optional(Type.Integer({ minimum: 0, maximum: 1000, description: 'Lower is tried first' })),
    weight: Optional(Type.Integer({ minimum: 0, maximum: 10000, description: 'Share among channels of the same priority' })),
    enabled: Optional(Type.Boolean()),
    version: Type.Integer({ minimum: 1, description: 'The version you read: a stale one is 409 CHANNEL_VERSION_CONFLICT' }),
  },
  { additionalProperties: false },
);

export const DecisionView = Type.Object({
  id: Type.String(),
  payOrderNo: Type.String(),
  method: Type.String(),
  step: Type.String(),
  candidates: Type.Array(Type.Object({ code: Type.String(), eligible: Type.Boolean(), reason: Optional(Type.String()) })),
  order: Type.Array(Type.String(), { description: 'Every eligible channel in the order they were to be tried' }),
  chosen: Optional(Type.String()),
  rule: Type.String({ description: 'PRIORITY, WEIGHT, FALLBACK (not the first of the order) or NONE' }),
  createdAt: Type.String({ format: 'date-time' }),
});
export const DecisionsQuery = Type.Object(
  {
    payOrderNo: Optional(Type.String({ maxLength: 64 })),
    limit: Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    startingAfter: Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);
export const DecisionPage = Type.Object({ data: Type.Array(DecisionView), hasMore: Type.Boolean() });
