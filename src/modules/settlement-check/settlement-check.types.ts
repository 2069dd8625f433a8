import type { StatementKind } from '../../protocol/statement.ts';

/**
 * The three-way settlement check (issue 6): for one UTC day, every money
 * movement that crosses the bank is compared in three places: the ledger (what
 * moved), Coffer's own records (depository transaction records, payouts,
 * payment channel attempts) and the bank's signed daily statement.
 */

export const breakTypes = [
  'MISSING_IN_LEDGER',
  'MISSING_AT_BANK',
  'MISSING_IN_RECORDS',
  'AMOUNT_MISMATCH',
  'CURRENCY_MISMATCH',
  'STATUS_MISMATCH',
] as const;
export type BreakType = (typeof breakTypes)[number];

export type ItemKind = StatementKind;

/**
 * One status vocabulary for the three sources. NONE: the source has nothing
 * (the ledger moved no money for it). PENDING: still in flight there.
 */
export type Outcome = 'SUCCEEDED' | 'FAILED' | 'REVERSED' | 'PENDING' | 'NONE';

/** What one source says about an item; absent when the source does not know it at all. */
export interface SideView {
  status: Outcome;
  amountMinor: bigint | null;
  currency: string | null;
  /** When this source saw the item become final (null while in flight). */
  finalAt: Date | null;
}

export type Side = 'ledger' | 'records' | 'bank';
export const sides: readonly Side[] = ['ledger', 'records', 'bank'];

export interface Item {
  kind: ItemKind;
  /** Request number, payout id, or channel attempt number. */
  businessId: string;
  ledger?: SideView | undefined;
  records?: SideView | undefined;
  bank?: SideView | undefined;
}

export interface Break {
  type: BreakType;
  kind: ItemKind;
  businessId: string;
  /** The source that disagrees with the other two, when two agree. */
  odd: Side | null;
  ledger: string;
  records: string;
  bank: string;
  detail: string;
}

/** MATCHED, PENDING (in flight on one side, inside the grace period: checked again next run) or BROKEN. */
export type ItemVerdict = { verdict: 'MATCHED' } | { verdict: 'PENDING'; reason: string } | { verdict: 'BROKEN'; breaks: Break[] };

export const runStatuses = ['RUNNING', 'CLEAN', 'PENDING', 'BROKEN', 'ERROR'] as const;
/** CLEAN: every item matched; PENDING: no break but items in flight; BROKEN: at least one break; ERROR: the run could not finish. */
export type RunStatus = (typeof runStatuses)[number];

export interface Run {
  date: string;
  status: RunStatus;
  items: number;
  matched: number;
  pending: number;
  breaks: number;
  runs: number;
  error: string | null;
  statementSha256: string | null;
  startedAt: Date;
  finishedAt: Date | null;
}
