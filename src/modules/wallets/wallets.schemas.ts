import { Type, type Static } from 'typebox';

const Amount = Type.String({ description: 'Decimal string in the depository currency, e.g. "100.00"', examples: ['100.00'], maxLength: 40 });
const CallbackUrl = Type.String({ description: 'Where the bank sends the browser back when the user is done', maxLength: 2048, examples: ['https://wallet.example/return'] });
const Time = Type.String({ format: 'date-time' });

export const OpenDepositoryAccountBody = Type.Object({ callbackUrl: CallbackUrl }, { additionalProperties: false });

export const BindCardBody = Type.Object({ callbackUrl: CallbackUrl }, { additionalProperties: false });

export const CardParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, description: 'A card id from GET /my/cards' }) });

export const RechargeBody = Type.Object({ amount: Amount, callbackUrl: CallbackUrl }, { additionalProperties: false });
export type RechargeBody = Static<typeof RechargeBody>;

export const WithdrawBody = Type.Object(
  {
    amount: Amount,
    callbackUrl: CallbackUrl,
    cardNumberMasked: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'One of GET /my/cards; defaults to the first bound card' })),
  },
  { additionalProperties: false },
);
export type WithdrawBody = Static<typeof WithdrawBody>;

export const PageQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  startingAfter: Type.Optional(Type.String({ maxLength: 64, description: 'The last id (or entry seq) of the previous page' })),
});

export const WalletView = Type.Object({
  accountNo: Type.String(),
  currency: Type.String(),
  balance: Amount,
  available: Amount,
  pending: Type.String({ description: 'Held for withdrawals in progress' }),
  status: Type.String(),
});

export const RechargeRecordView = Type.Object({
  id: Type.String(),
  requestNo: Type.String(),
  amount: Amount,
  currency: Type.String(),
  status: Type.Union([Type.Literal('PENDING'), Type.Literal('SUCCEEDED'), Type.Literal('FAILED')]),
  errorCode: Type.Union([Type.String(), Type.Null()]),
  createdAt: Time,
  updatedAt: Time,
});

export const WithdrawRecordView = Type.Object({
  id: Type.String(),
  requestNo: Type.String(),
  amount: Amount,
  fee: Amount,
  currency: Type.String(),
  cardNumberMasked: Type.Union([Type.String(), Type.Null()]),
  status: Type.Union([Type.Literal('PENDING'), Type.Literal('SUCCEEDED'), Type.Literal('FAILED')]),
  errorCode: Type.Union([Type.String(), Type.Null()]),
  createdAt: Time,
  updatedAt: Time,
});

export const CardView = Type.Object({
  id: Type.String(),
  cardNumberMasked: Type.String(),
  bankCode: Type.Union([Type.String(), Type.Null()]),
  boundAt: Time,
});

export const pageOf = <T extends Parameters<typeof Type.Array>[0]>(item: T) => Type.Object({ data: Type.Array(item), hasMore: Type.Boolean() });
