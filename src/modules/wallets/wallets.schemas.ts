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

/** wallets.types.ts `recordStatuses`, as the API shows them. */
const RecordStatus = Type.Union(
  [
    Type.Literal('AWAITING_VERIFICATION'),
    Type.Literal('AWAITING_REVIEW'),
    Type.Literal('READY'),
    Type.Literal('PENDING'),
    Type.Literal('SUCCEEDED'),
    Type.Literal('FAILED'),
  ],
  {
  description: 'PENDING while the bank works, then SUCCEEDED or FAILED; a withdrawal under risk control first waits in AWAITING_VERIFICATION (SMS code), AWAITING_REVIEW (a reviewer) or READY (continue to the bank)',
  },
);

export const RechargeRecordView = Type.Object({
  id: Type.String(),
  requestNo: Type.String(),
  amount: Amount,
  currency: Type.String(),
  status: RecordStatus,
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
  status: RecordStatus,
  errorCode: Type.Union([Type.String(), Type.Null()]),
  riskLevel: Type.Union([Type.String(), Type.Null()], { description: 'LOW, MEDIUM or HIGH: what risk control asked of this withdrawal (SPEC 6)' }),
  createdAt: Time,
  updatedAt: Time,
});

/** A withdrawal risk control holds back until the user passes more checks (202). */
export const WithdrawVerificationView = Type.Object({
  record: WithdrawRecordView,
  verification: Type.Array(Type.String(), { description: 'What this withdrawal needs: TRANSACTION_PASSWORD (at the bank), SMS_CODE, MANUAL_REVIEW' }),
  sms: Type.Union([Type.Object({ challengeId: Type.String(), expiresAt: Time }), Type.Null()], { description: 'The code sent to the user’s mobile, for POST /my/withdraw-records/{id}/verification' }),
});

export const VerifyWithdrawBody = Type.Object({ code: Type.String({ minLength: 1, maxLength: 16, examples: ['123456'] }) }, { additionalProperties: false });
export const RecordIdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

export const CardView = Type.Object({
  id: Type.String(),
  cardNumberMasked: Type.String(),
  bankCode: Type.Union([Type.String(), Type.Null()]),
  boundAt: Time,
});

export const pageOf = <T extends Parameters<typeof Type.Array>[0]>(item: T) => Type.Object({ data: Type.Array(item), hasMore: Type.Boolean() });
