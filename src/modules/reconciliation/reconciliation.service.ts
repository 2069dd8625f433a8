import { createHash } from 'node:crypto';
import type { Clock } from '../../platform/clock.ts';
import { DomainError } from '../../platform/errors.ts';
import { currencyCode, parseMoney } from '../../platform/money/index.ts';
import { renderFile } from './reconciliation.csv.ts';
import { dayOf, firstOpenDay, isClosedAt, nextDay, parseDay } from './reconciliation.days.ts';
import * as repo from './reconciliation.repository.ts';
import { finalStatuses, type DaySummary, type FinalStatus, type Line, type ReconciliationFile } from './reconciliation.types.ts';

export interface ReconciliationOptions {
  /** Day D closes at D+1 00:00 UTC + this many seconds (RECONCILIATION_CLOSE_AFTER_S). */
  closeAfterS: number;
}

export const DEFAULT_RECONCILIATION_OPTIONS: ReconciliationOptions = { closeAfterS: 3600 };

export interface ReconciliationDeps {
  db: repo.Executor;
  clock: Clock;
  options?: Partial<ReconciliationOptions>;
}

/** The PAYOUT_FINAL payload as far as reconciliation reads it (the payouts module's `PayoutView`). */
export interface PayoutFinalPayload {
  merchantId: string;
  status: FinalStatus;
  payout: {
    id: string;
    merchantOrderNo: string;
    amount: string;
    fee: string;
    currency: string;
    beneficiary: { accountNo: string };
    updated: string;
  };
}

export type BookOutcome = 'booked' | 'late' | 'duplicate';

const MAX_DAYS = 366;
const CLOSE_BATCH = 100;

/**
 * Daily reconciliation files (SPEC 5): lines booked from the payouts module's
 * PAYOUT_FINAL events, one per (payout, final status); a day's file is
 * provisional until the day closes, then rendered once, stored with its
 * SHA-256 and served from storage byte for byte. README.md beside this file.
 */
export class ReconciliationService {
  private readonly options: ReconciliationOptions;

  constructor(private readonly deps: ReconciliationDeps) {
    this.options = { ...DEFAULT_RECONCILIATION_OPTIONS, ...deps.options };
  }

  /**
   * The outbox consumer's work: books one final status, idempotent by (payout,
   * status). Dated by the status time; if that day has closed (the event came
   * late), booked into the first open day and marked late.
   */
  async book(payload: PayoutFinalPayload): Promise<BookOutcome> {
    const line = lineFrom(payload);
    const { closeAfterS } = this.options;
    return this.deps.db.transaction().execute(async (trx) => {
      if (await repo.lineExists(trx, line.payoutId, line.status)) return 'duplicate';
      const now = this.deps.clock.now();
      let day = line.day;
      const late = (await repo.lockDay(trx, line.merchantId, day, now)).closed || isClosedAt(day, now, closeAfterS);
      if (late) {
        // Days are locked in ascending order (status day first), so bookers and closers never deadlock.
        day = maxDay(nextDay(day), firstOpenDay(now, closeAfterS));
        while ((await repo.lockDay(trx, line.merchantId, day, now)).closed || isClosedAt(day, now, closeAfterS)) day = nextDay(day);
      }
      const booked = late ? { ...line, day, late, bookedAt: now } : line;
      if (!(await repo.insertLine(trx, booked, now))) return 'duplicate';
      return late ? 'late' : 'booked';
    });
  }

  /**
   * A day's file. Closed (its closing time has passed): rendered and stored at
   * the first call, then always the stored bytes. Open: rendered from the lines
   * booked so far, marked provisional. A day that has not begun is refused.
   */
  async file(merchantId: string, date: string): Promise<ReconciliationFile> {
    const day = parseDay(date);
    const now = this.deps.clock.now();
    if (day > dayOf(now)) {
      throw new DomainError('RECONCILIATION_DAY_NOT_STARTED', `${day} has not begun (it is ${dayOf(now)} in UTC)`);
    }
    const stored = await repo.findClosedFile(this.deps.db, merchantId, day);
    if (stored) return { csv: stored.csv, closed: true, sha256: stored.sha256 };
    if (isClosedAt(day, now, this.options.closeAfterS)) return this.close(merchantId, day);
    return { csv: renderFile(day, false, await repo.linesOf(this.deps.db, merchantId, day)), closed: false };
  }

  /** The merchant's days with lines (and today), newest first: for the portal's list of files. */
  async days(merchantId: string, { limit = 30 }: { limit?: number } = {}): Promise<DaySummary[]> {
    const bounded = Math.min(Math.max(Math.trunc(limit), 1), MAX_DAYS);
    const now = this.deps.clock.now();
    const rows = await repo.listDays(this.deps.db, merchantId, bounded);
    const today = dayOf(now);
    const days = rows.filter((r) => r.day <= today);
    if (days[0]?.day !== today) days.unshift({ day: today, closed: false, lines: 0 });
    return days.slice(0, bounded).map((r) => ({ date: r.day, closed: r.closed || isClosedAt(r.day, now, this.options.closeAfterS), lines: r.lines }));
  }

  /** The job: closes (renders and stores) days whose closing time has passed. Answers how many it closed. */
  async closeDueDays(): Promise<number> {
    const due = await repo.dueDays(this.deps.db, firstOpenDay(this.deps.clock.now(), this.options.closeAfterS), CLOSE_BATCH);
    for (const { merchantId, day } of due) await this.close(merchantId, day);
    return due.length;
  }

  /** Renders and stores a closed day once, under the day's lock; a racing closer finds it stored. */
  private close(merchantId: string, day: string): Promise<ReconciliationFile> {
    return this.deps.db.transaction().execute(async (trx) => {
      const now = this.deps.clock.now();
      if (!(await repo.lockDay(trx, merchantId, day, now)).closed) {
        const lines = await repo.linesOf(trx, merchantId, day);
        const csv = renderFile(day, true, lines);
        const sha256 = createHash('sha256').update(csv, 'utf8').digest('hex');
        await repo.storeClosedFile(trx, merchantId, day, { csv, sha256, closedAt: now, lineCount: lines.length });
      }
      const stored = (await repo.findClosedFile(trx, merchantId, day))!;
      return { csv: stored.csv, closed: true, sha256: stored.sha256 };
    });
  }
}

/** The PAYOUT_FINAL outbox consumer: books the line in its own transaction (idempotent by payout and status). */
export function payoutFinalConsumer(reconciliation: ReconciliationService) {
  return async (message: { payload: PayoutFinalPayload }): Promise<void> => {
    await reconciliation.book(message.payload);
  };
}

function maxDay(a: string, b: string): string {
  return a > b ? a : b;
}

/** Checks the event and turns it into the line for its status day. A malformed event throws (the relay retries, then parks it). */
export function lineFrom(payload: PayoutFinalPayload): Line {
  const { merchantId, status, payout } = payload;
  if (typeof merchantId !== 'string' || merchantId.length === 0) throw new Error('payout.final must carry merchantId');
  if (!finalStatuses.includes(status)) throw new Error(`payout.final carries an unknown status ${String(status)}`);
  if (typeof payout?.id !== 'string' || typeof payout.updated !== 'string' || Number.isNaN(Date.parse(payout.updated))) {
    throw new Error('payout.final must carry payout.id and payout.updated');
  }
  const currency = currencyCode(payout.currency);
  const amountMinor = parseMoney(payout.amount, currency).amountMinor;
  const feeMinor = parseMoney(payout.fee, currency, { allowZero: true }).amountMinor;
  const statusAt = new Date(payout.updated);
  const total = amountMinor + feeMinor;
  return {
    payoutId: payout.id,
    status,
    merchantId,
    day: dayOf(statusAt),
    bookedAt: statusAt,
    statusAt,
    late: false,
    merchantOrderNo: String(payout.merchantOrderNo ?? ''),
    beneficiaryAccount: mask(String(payout.beneficiary?.accountNo ?? '')),
    currency,
    amountMinor,
    feeMinor,
    netMinor: status === 'SUCCEEDED' ? -total : status === 'REVERSED' ? total : 0n,
  };
}

/** Enough of an account number to recognise it, not to use it. */
function mask(accountNo: string): string {
  return accountNo.length <= 4 ? accountNo : `****${accountNo.slice(-4)}`;
}
