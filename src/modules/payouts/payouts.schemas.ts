import { Type } from 'typebox';

const Amount = Type.String({ description: 'A decimal amount in the currency, e.g. "125.50"', examples: ['125.50'], maxLength: 40 });
const Status = Type.Union([
  Type.Literal('ACCEPTED'),
  Type.Literal('PROCESSING'),
  Type.Literal('SUCCEEDED'),
  Type.Literal('FAILED'),
  Type.Literal('REVERSED'),
]);

const Beneficiary = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128 }),
    accountNo: Type.String({ minLength: 1, maxLength: 64, description: 'Sandbox: ending 0002 fails, 0003 is reversed later, 0004 times out until queried' }),
    bankCode: Type.String({ minLength: 1, maxLength: 32 }),
  },
  { additionalProperties: false },
);

/** SPEC 5, a contract: exactly these fields. */
export const CreatePayoutBody = Type.Object(
  {
    merchantOrderNo: Type.String({ minLength: 1, maxLength: 64, description: 'Unique per merchant: a second payout with it is 409 DUPLICATE_MERCHANT_ORDER_NO' }),
    amount: Amount,
    currency: Type.String({ minLength: 3, maxLength: 3, examples: ['CNY'] }),
    beneficiary: Beneficiary,
    remark: Type.Optional(Type.String({ maxLength: 256 })),
  },
  { additionalProperties: false },
);

export const PayoutView = Type.Object({
  id: Type.String({ description: 'po_...' }),
  status: Status,
  merchantOrderNo: Type.String(),
  amount: Type.String(),
  fee: Type.String(),
  currency: Type.String(),
  beneficiary: Beneficiary,
  remark: Type.Union([Type.String(), Type.Null()]),
  riskLevel: Type.String({ description: 'LOW, MEDIUM or HIGH (HIGH waits for a manual review before it is sent)' }),
  reviewPending: Type.Boolean(),
  errorCode: Type.Union([Type.String(), Type.Null()]),
  errorMessage: Type.Union([Type.String(), Type.Null()]),
  channelRef: Type.Union([Type.String(), Type.Null()]),
  created: Type.String({ format: 'date-time' }),
  updated: Type.String({ format: 'date-time' }),
});

export const PayoutPage = Type.Object({ data: Type.Array(PayoutView), hasMore: Type.Boolean() });

export const PayoutParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

export const ListQuery = Type.Object(
  {
    merchantOrderNo: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    status: Type.Optional(Status),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    startingAfter: Type.Optional(Type.String({ maxLength: 64, description: 'The last id of the previous page' })),
  },
  { additionalProperties: false },
);

export const NotificationQuery = Type.Object({
  serviceName: Type.Optional(Type.String({ maxLength: 64 })),
  platformNo: Type.Optional(Type.String({ maxLength: 128 })),
  signature: Type.Optional(Type.String({ maxLength: 2048 })),
  reqData: Type.Optional(Type.String({ maxLength: 8192 })),
});
