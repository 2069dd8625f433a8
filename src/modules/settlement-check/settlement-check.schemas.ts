import { Type } from 'typebox';
import { breakTypes, runStatuses } from './settlement-check.types.ts';

export const RunView = Type.Object({
  date: Type.String({ description: 'yyyy-mm-dd (UTC)' }),
  status: Type.Enum(runStatuses, { description: 'CLEAN, PENDING (items in flight, checked again), BROKEN, ERROR, or RUNNING (first run not finished)' }),
  items: Type.Integer(),
  matched: Type.Integer(),
  pending: Type.Integer(),
  breaks: Type.Integer(),
  runs: Type.Integer({ description: 'How many times the day was checked' }),
  error: Type.Union([Type.String(), Type.Null()]),
  statementSha256: Type.Union([Type.String(), Type.Null()], { description: "SHA-256 of the bank's signed statement text the result rests on" }),
  startedAt: Type.String({ format: 'date-time' }),
  finishedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

const Finding = {
  kind: Type.Union([Type.Literal('DEPOSITORY'), Type.Literal('PAYOUT'), Type.Literal('CHANNEL_DEBIT')]),
  businessId: Type.String({ description: 'Request number, payout id or channel attempt number' }),
  odd: Type.Union([Type.Literal('ledger'), Type.Literal('records'), Type.Literal('bank'), Type.Null()], { description: 'The source that disagrees with the other two' }),
  ledger: Type.String(),
  records: Type.String(),
  bank: Type.String(),
  detail: Type.String(),
};

export const BreakView = Type.Object({ type: Type.Enum(breakTypes), ...Finding });
export const PendingView = Type.Object({ type: Type.Literal('PENDING'), ...Finding });

export const DayView = Type.Object({ run: RunView, breaks: Type.Array(BreakView), pending: Type.Array(PendingView) });
export const RunBody = Type.Object({ date: Type.String({ description: 'yyyy-mm-dd (UTC)', maxLength: 40 }) }, { additionalProperties: false });
export const RunsQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 366 })),
    before: Type.Optional(Type.String({ description: 'Days before this one (yyyy-mm-dd): the next page', maxLength: 40 })),
  },
  { additionalProperties: false },
);
export const DayParams = Type.Object({ date: Type.String({ description: 'yyyy-mm-dd, or yyyy-mm-dd.csv for the CSV', maxLength: 40 }) });
