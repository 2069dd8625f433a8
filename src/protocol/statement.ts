/**
 * The bank's daily settlement statement (like a real bank's settlement file),
 * between Coffer and the bank (simulated in src/bank-simulator). Same keys and
 * signatures as the depository protocol (./depository.ts).
 *
 * Coffer asks `GET /statements/{yyyy-mm-dd}?platformNo=&reqData=&signature=`
 * with reqData a StatementRequestData signed by the platform key (the bank
 * refuses an unsigned request or one for another date); the bank answers
 * `{ reqData, signature }`: a StatementData signed by the bank's key, which
 * Coffer verifies before it believes a line.
 *
 * The day is a UTC calendar day on the bank's clock: a line belongs to the day
 * its item reached its current final status. Items still in flight at the bank
 * are not listed; an item that changes final status later (a payout SUCCEEDED,
 * then REVERSED) moves to the day of its latest status.
 */
export const STATEMENT_PATH = '/statements';

export interface StatementRequestData {
  /** yyyy-mm-dd, the same as the path's. */
  date: string;
  timestamp: string;
}

/** DEPOSITORY: a recharge or withdrawal; PAYOUT: a payout order; CHANNEL_DEBIT: a card payment channel's debit. */
export const statementKinds = ['DEPOSITORY', 'PAYOUT', 'CHANNEL_DEBIT'] as const;
export type StatementKind = (typeof statementKinds)[number];

export interface StatementLine {
  kind: StatementKind;
  /** The platform's number for the item: request number, payout id, channel attempt number. */
  id: string;
  /** RECHARGE | WITHDRAW for DEPOSITORY, the channel code for CHANNEL_DEBIT, PAYOUT for PAYOUT. */
  service: string;
  /** Decimal string in `currency`. */
  amount: string;
  currency: string;
  /** The bank's own final status words: SUCCESS | FAIL (depository, channel), SUCCEEDED | FAILED | REVERSED (payout). */
  status: string;
  /** When the item reached that status (ISO-8601 UTC). */
  finalAt: string;
}

export interface StatementData {
  platformNo: string;
  date: string;
  /** False while the day is not over at the bank: more lines may come. */
  complete: boolean;
  generatedAt: string;
  lines: StatementLine[];
}

/** yyyy-mm-dd that is a real calendar day. */
export function isStatementDate(value: unknown): value is string {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const day = new Date(`${value}T00:00:00.000Z`);
  return !Number.isNaN(day.getTime()) && day.toISOString().slice(0, 10) === value;
}
