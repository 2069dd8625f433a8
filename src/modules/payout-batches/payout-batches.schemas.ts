import { Type } from 'typebox';
import { rowStatuses } from './payout-batches.types.ts';

const Actor = Type.Object({ kind: Type.Union([Type.Literal('apiKey'), Type.Literal('operator')]), id: Type.String() });
const Tally = Type.Object({ count: Type.Integer(), amount: Type.String(), fee: Type.String() });

export const BatchView = Type.Object({
  id: Type.String({ description: 'pb_...' }),
  status: Type.Union([
    Type.Literal('AWAITING_APPROVAL'),
    Type.Literal('APPROVED'),
    Type.Literal('PROCESSING'),
    Type.Literal('PROCESSED'),
    Type.Literal('REJECTED'),
  ]),
  currency: Type.String(),
  count: Type.Integer({ description: 'Rows in the file' }),
  totalAmount: Type.String({ description: 'Sum of the rows, a decimal string in currency' }),
  createdBy: Actor,
  approvedBy: Type.Union([Actor, Type.Null()]),
  rejectedBy: Type.Union([Actor, Type.Null()]),
  rejectReason: Type.Union([Type.String(), Type.Null()]),
  rows: Type.Object(Object.fromEntries(rowStatuses.map((s) => [s, Tally])), {
    description: 'Rows per status: count, sum of amounts, sum of fees (fees are known once a row is accepted)',
  }),
  decided: Type.Union([Type.String(), Type.Null()]),
  processed: Type.Union([Type.String(), Type.Null()]),
  created: Type.String(),
  updated: Type.String(),
});

export const BatchPage = Type.Object({ data: Type.Array(BatchView), hasMore: Type.Boolean() });

export const BatchParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

export const ListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  startingAfter: Type.Optional(Type.String({ maxLength: 64 })),
  status: Type.Optional(Type.String({ maxLength: 32 })),
});

export const CsvBody = Type.String({
  description:
    'The batch file (Content-Type: text/csv, UTF-8, signed like any body): header `merchantOrderNo,amount,currency,name,accountNo,bankCode,remark`, then one payout per line; at most 100,000 rows and 20 MB',
});

/** The 422 of an upload: the problem with every bad line (RFC 9457 + `errors`). */
export const InvalidFileProblem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    code: Type.String(),
    detail: Type.String(),
    requestId: Type.String(),
    instance: Type.String(),
    errors: Type.Optional(
      Type.Array(
        Type.Object({
          line: Type.Integer({ description: "The file's line number (the header is line 1)" }),
          reason: Type.String(),
          code: Type.String({ description: 'A catalogue code: VALIDATION_FAILED, INVALID_AMOUNT, UNSUPPORTED_CURRENCY, CURRENCY_MISMATCH, DUPLICATE_MERCHANT_ORDER_NO' }),
        }),
      ),
    ),
  },
  { additionalProperties: true },
);
