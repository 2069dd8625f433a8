import { Type, type Static } from 'typebox';
import { accountTypes, ownerKinds, transferCodes } from './ledger.types.ts';

const Amount = Type.String({ description: 'Decimal string in the currency, e.g. "100.50"', examples: ['100.50'], maxLength: 40 });
const Currency = Type.String({ description: 'ISO 4217 code, e.g. CNY', pattern: '^[A-Z]{3}$' });
const TransferId = Type.String({
  description: "The caller's idempotency key: the same id again moves nothing and returns the first result",
  pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$',
});
const Metadata = Type.Record(Type.String({ maxLength: 64 }), Type.Union([Type.String({ maxLength: 512 }), Type.Number(), Type.Boolean(), Type.Null()]));

export const AccountIdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
export const TransferIdParams = Type.Object({ id: Type.String({ maxLength: 128 }) });

export const OpenAccountBody = Type.Object(
  {
    ownerKind: Type.Union(ownerKinds.map((k) => Type.Literal(k))),
    ownerId: Type.String({ minLength: 1, maxLength: 64 }),
    type: Type.Union(accountTypes.map((t) => Type.Literal(t))),
    currency: Currency,
    noOverdraft: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type OpenAccountBody = Static<typeof OpenAccountBody>;

export const AccountView = Type.Object({
  id: Type.String(),
  accountNo: Type.String(),
  ownerKind: Type.String(),
  ownerId: Type.String(),
  type: Type.String(),
  currency: Type.String(),
  status: Type.String(),
  noOverdraft: Type.Boolean(),
  balance: Amount,
  available: Amount,
  pendingDebits: Amount,
  pendingCredits: Amount,
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

export const TransferBody = Type.Object(
  {
    id: TransferId,
    debitAccountId: Type.String({ maxLength: 64 }),
    creditAccountId: Type.String({ maxLength: 64 }),
    amount: Amount,
    currency: Currency,
    code: Type.Union(transferCodes.map((c) => Type.Literal(c))),
    reference: Type.Optional(Type.String({ maxLength: 128 })),
    metadata: Type.Optional(Metadata),
    pending: Type.Optional(
      Type.Object(
        { timeoutSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 366 * 86_400 })) },
        { additionalProperties: false, description: 'Hold the amount instead of moving it, until posted or voided' },
      ),
    ),
  },
  { additionalProperties: false },
);
export type TransferBody = Static<typeof TransferBody>;

export const LinkedTransfersBody = Type.Object(
  { transfers: Type.Array(TransferBody, { minItems: 1, maxItems: 100 }) },
  { additionalProperties: false },
);

export const PostPendingBody = Type.Object(
  {
    id: TransferId,
    amount: Type.Optional(Type.String({ ...Amount, description: 'Defaults to the whole pending amount' })),
    reference: Type.Optional(Type.String({ maxLength: 128 })),
    metadata: Type.Optional(Metadata),
  },
  { additionalProperties: false },
);

export const VoidPendingBody = Type.Object(
  { id: TransferId, reference: Type.Optional(Type.String({ maxLength: 128 })), metadata: Type.Optional(Metadata) },
  { additionalProperties: false },
);

export const TransferView = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  state: Type.String(),
  debitAccountId: Type.String(),
  creditAccountId: Type.String(),
  amount: Amount,
  currency: Type.String(),
  code: Type.String(),
  reference: Type.Union([Type.String(), Type.Null()]),
  metadata: Type.Union([Metadata, Type.Null()]),
  pendingId: Type.Union([Type.String(), Type.Null()]),
  timeoutAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  postedAmount: Type.Union([Amount, Type.Null()]),
  linkedId: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
});

export const EntriesQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 20 })),
    startingAfter: Type.Optional(Type.String({ pattern: '^\\d{1,18}$', description: 'The seq of the last entry of the previous page' })),
    from: Type.Optional(Type.String({ format: 'date-time' })),
    to: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);

export const EntryView = Type.Object({
  seq: Type.String({ description: 'Pass as startingAfter for the next page' }),
  transferId: Type.String(),
  direction: Type.Union([Type.Literal('DEBIT'), Type.Literal('CREDIT')]),
  amount: Amount,
  balanceBefore: Amount,
  balanceAfter: Amount,
  code: Type.String({ description: 'Why the money moved: recharge, withdraw, fee, ...' }),
  currency: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
});

export const EntryPage = Type.Object({ data: Type.Array(EntryView), hasMore: Type.Boolean() });

export const InvariantReportView = Type.Object({
  ok: Type.Boolean(),
  checkedAt: Type.String({ format: 'date-time' }),
  checks: Type.Array(
    Type.Object({
      name: Type.String(),
      description: Type.String(),
      ok: Type.Boolean(),
      violations: Type.Array(Type.Record(Type.String(), Type.Union([Type.String(), Type.Null()]))),
    }),
  ),
});

export const ChainReportView = Type.Object({
  ok: Type.Boolean(),
  checkedAt: Type.String({ format: 'date-time' }),
  accounts: Type.Integer(),
  entries: Type.Integer(),
  breaks: Type.Integer(),
  firstBreak: Type.Union([
    Type.Object({
      accountId: Type.String(),
      seq: Type.String(),
      reason: Type.Union([Type.Literal('hash_mismatch'), Type.Literal('sequence_gap'), Type.Literal('head_mismatch')]),
      expected: Type.Union([Type.String(), Type.Null()]),
      found: Type.Union([Type.String(), Type.Null()]),
    }),
    Type.Null(),
  ]),
});
