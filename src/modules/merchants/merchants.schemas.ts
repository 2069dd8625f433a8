import { Type, type Static } from 'typebox';

const Amount = Type.String({ description: 'A decimal amount in the currency, e.g. "1.50"', examples: ['1.50'], maxLength: 40 });
const DateTime = Type.String({ format: 'date-time' });
const Product = Type.Union([Type.Literal('PAYOUT_SINGLE'), Type.Literal('PAYOUT_BATCH')]);
const MerchantStatus = Type.Union([Type.Literal('PENDING_REVIEW'), Type.Literal('ACTIVE'), Type.Literal('SUSPENDED')]);
const KeyRole = Type.Union([Type.Literal('maker'), Type.Literal('checker')]);
const OperatorRole = Type.Union([Type.Literal('admin'), Type.Literal('maker'), Type.Literal('checker'), Type.Literal('viewer')]);

export const FeeRuleInput = Type.Object(
  {
    product: Type.String({ maxLength: 32, description: 'PAYOUT_SINGLE or PAYOUT_BATCH' }),
    currency: Type.String({ maxLength: 8 }),
    fixed: Type.Optional(Amount),
    rateBp: Type.Optional(Type.Integer({ minimum: 0, maximum: 10000, description: 'Percentage part in basis points (50 = 0.50 %)' })),
    min: Type.Optional(Amount),
    max: Type.Optional(Amount),
  },
  {
    additionalProperties: false,
    description:
      'fee = clamp(fixed + roundHalfUp(amount x rateBp / 10000), min, max) in minor units; min and max only when set. No rule for a product and currency means no fee.',
  },
);

const FeeRuleView = Type.Object({
  product: Product,
  currency: Type.String(),
  fixed: Type.String(),
  rateBp: Type.Integer(),
  min: Type.Union([Type.String(), Type.Null()]),
  max: Type.Union([Type.String(), Type.Null()]),
});

const Fees = Type.Array(FeeRuleInput, { maxItems: 32 });
const Products = Type.Array(Type.String({ maxLength: 32 }), { maxItems: 8, description: 'PAYOUT_SINGLE, PAYOUT_BATCH' });

export const CreateMerchantBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 200 }), products: Products, fees: Type.Optional(Fees) },
  { additionalProperties: false },
);
export type CreateMerchantBody = Static<typeof CreateMerchantBody>;

export const UpdateTermsBody = Type.Object({ products: Type.Optional(Products), fees: Type.Optional(Fees) }, { additionalProperties: false });

export const MerchantView = Type.Object({
  merchantId: Type.String(),
  name: Type.String(),
  status: MerchantStatus,
  products: Type.Array(Product),
  fees: Type.Array(FeeRuleView),
  createdAt: DateTime,
  updatedAt: DateTime,
});

export const BalanceView = Type.Object({
  accountId: Type.String(),
  accountNo: Type.String(),
  currency: Type.String(),
  balance: Type.String(),
  available: Type.String(),
  pendingDebits: Type.String(),
  status: Type.String(),
});

export const MerchantDetailView = Type.Intersect([MerchantView, Type.Object({ settlementAccounts: Type.Array(BalanceView) })]);

export const MerchantPage = Type.Object({ data: Type.Array(MerchantView), hasMore: Type.Boolean() });

export const MerchantsQuery = Type.Object(
  {
    status: Type.Optional(MerchantStatus),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
    startingAfter: Type.Optional(Type.String({ maxLength: 64, description: 'The last merchantId of the previous page' })),
  },
  { additionalProperties: false },
);

export const PageQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
    startingAfter: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);

export const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
export const MerchantIdParams = IdParams;
export const ApiKeyParams = Type.Object({ id: Type.String({ maxLength: 64 }), keyId: Type.String({ maxLength: 64 }) });

export const CreateApiKeyBody = Type.Object({ role: Type.Optional(KeyRole) }, { additionalProperties: false });

export const CreatedApiKey = Type.Object({
  keyId: Type.String(),
  secret: Type.String({ description: 'Shown this once: Coffer keeps it only encrypted and never shows it again' }),
  role: KeyRole,
  merchantId: Type.String(),
  createdAt: DateTime,
});

export const ApiKeyView = Type.Object({
  keyId: Type.String(),
  role: KeyRole,
  merchantId: Type.String(),
  createdAt: DateTime,
  revokedAt: Type.Union([DateTime, Type.Null()]),
});

export const ApiKeyList = Type.Object({ data: Type.Array(ApiKeyView) });

export const AdjustmentBody = Type.Object(
  {
    amount: Amount,
    currency: Type.String({ maxLength: 8 }),
    reason: Type.String({ minLength: 1, maxLength: 500, description: 'Why the balance is adjusted (kept in the audit log)' }),
  },
  { additionalProperties: false },
);

export const AdjustmentView = Type.Object({
  adjustmentId: Type.String(),
  merchantId: Type.String(),
  amount: Type.String(),
  currency: Type.String(),
  reason: Type.String(),
  status: Type.Union([Type.Literal('PENDING'), Type.Literal('POSTED'), Type.Literal('FAILED')]),
  accountId: Type.String(),
  transferId: Type.String(),
  createdBy: Type.Object({ kind: Type.String(), id: Type.String() }),
  createdAt: DateTime,
  postedAt: Type.Union([DateTime, Type.Null()]),
});

export const AdjustmentPage = Type.Object({ data: Type.Array(AdjustmentView), hasMore: Type.Boolean() });

export const CreateOperatorBody = Type.Object(
  {
    username: Type.String({ maxLength: 64 }),
    password: Type.String({ maxLength: 1024, description: 'At least 10 characters' }),
    role: OperatorRole,
    merchantId: Type.Optional(Type.String({ maxLength: 64, description: 'Required for maker and checker; never for admin' })),
  },
  { additionalProperties: false },
);

export const OperatorView = Type.Object({
  operatorId: Type.String(),
  username: Type.String(),
  role: OperatorRole,
  merchantId: Type.Union([Type.String(), Type.Null()]),
  status: Type.String(),
  createdAt: DateTime,
});

export const OperatorPage = Type.Object({ data: Type.Array(OperatorView), hasMore: Type.Boolean() });

export const OperatorLoginBody = Type.Object(
  { username: Type.String({ maxLength: 64 }), password: Type.String({ maxLength: 1024 }) },
  { additionalProperties: false },
);

export const OperatorLoginResult = Type.Object({
  token: Type.String({ description: 'Send as `Authorization: Bearer <token>`' }),
  expiresAt: DateTime,
  operatorId: Type.String(),
  role: OperatorRole,
  merchantId: Type.Union([Type.String(), Type.Null()]),
});

export const OperatorMe = Type.Object({
  operatorId: Type.String(),
  username: Type.String(),
  role: OperatorRole,
  merchantId: Type.Union([Type.String(), Type.Null()]),
});

export const WhoAmI = Type.Object({
  merchantId: Type.String(),
  name: Type.String(),
  status: MerchantStatus,
  products: Type.Array(Product),
  fees: Type.Array(FeeRuleView),
  key: Type.Object({ keyId: Type.String(), role: KeyRole }),
  balances: Type.Array(BalanceView),
});
