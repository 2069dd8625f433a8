import { Counter, Gauge, type Registry } from 'prom-client';
import { raiseAlert, resolveAlerts } from '../../platform/alerts.ts';
import type { Clock } from '../../platform/clock.ts';
import { DomainError, isDomainError } from '../../platform/errors.ts';
import { newId } from '../../platform/ids.ts';
import type { Logger } from '../../platform/log.ts';
import { isStatementDate, type StatementData } from '../../protocol/statement.ts';
import type { DepositoryAgent } from '../depository/index.ts';
import type { LedgerService, Transfer } from '../ledger/index.ts';
import type { PaymentsService } from '../payments/index.ts';
import type { PayoutsService } from '../payouts/index.ts';
import type { StatementSource } from './settlement-check.bank.ts';
import { describeAll, judge } from './settlement-check.compare.ts';
import * as repo from './settlement-check.repository.ts';
import { bankLineView, channelDebitRecordView, depositoryRecordView, ledgerView, payoutRecordView } from './settlement-check.sources.ts';
import type { Break, Item, ItemKind, Run } from './settlement-check.types.ts';

export const SETTLEMENT_CHECK = 'settlement-check';
const DAY_MS = 86_400_000;

export interface SettlementCheckOptions {
  /** How long a source may lag the others (outbox, notifications) before the disagreement is a break. */
  graceMs: number;
  /** How long one run may hold its day before another process may take it over (it died). */
  leaseMs: number;
  /** How many days back the job re-checks days left PENDING (or ERROR). */
  recheckDays: number;
}

export const DEFAULT_SETTLEMENT_CHECK_OPTIONS: SettlementCheckOptions = { graceMs: 15 * 60_000, leaseMs: 10 * 60_000, recheckDays: 3 };

export interface SettlementCheckDeps {
  db: repo.Executor;
  clock: Clock;
  logger: Logger;
  registry: Registry;
  statements: StatementSource;
  depository: Pick<DepositoryAgent, 'findTransactions' | 'finalMoneyTransactionsBetween'>;
  payouts: Pick<PayoutsService, 'findPayouts' | 'finalPayoutsBetween'>;
  payments: Pick<PaymentsService, 'channelDebits' | 'channelDebitsBetween'>;
  ledger: Pick<LedgerService, 'transfersByReference'>;
  options?: Partial<SettlementCheckOptions>;
}

export interface DayResult {
  run: Run;
  breaks: Break[];
  pending: (Omit<Break, 'type'> & { type: 'PENDING' })[];
}

function dayOf(date: Date): string {
  return date.toISOString().slice(0, 10);
}

function addDays(date: string, days: number): string {
  return dayOf(new Date(new Date(`${date}T00:00:00.000Z`).getTime() + days * DAY_MS));
}

/**
 * The daily three-way settlement check (README "Three-way reconciliation"):
 * ledger vs Coffer's records vs the bank's signed statement, per business id.
 * A run claims its day (a lease on the database clock), replaces the day's
 * findings in one transaction, raises an admin alert while the day has breaks
 * and resolves it when a later run finds none.
 */
export class SettlementCheckService {
  private readonly options: SettlementCheckOptions;
  private readonly runsTotal: Counter<'status'>;
  private readonly breaksFound: Counter<'type'>;
  private readonly lastBreaks: Gauge;

  constructor(private readonly deps: SettlementCheckDeps) {
    this.options = { ...DEFAULT_SETTLEMENT_CHECK_OPTIONS, ...deps.options };
    this.runsTotal = new Counter({
      name: 'coffer_settlement_check_runs_total',
      help: 'Three-way settlement check runs, by result (CLEAN, PENDING, BROKEN, ERROR)',
      labelNames: ['status'] as const,
      registers: [deps.registry],
    });
    this.breaksFound = new Counter({
      name: 'coffer_settlement_check_breaks_found_total',
      help: 'Breaks found by settlement check runs (a break found again by a re-run counts again), by type',
      labelNames: ['type'] as const,
      registers: [deps.registry],
    });
    this.lastBreaks = new Gauge({
      name: 'coffer_settlement_check_last_run_breaks',
      help: 'Breaks the latest settlement check run found (0 when clean)',
      registers: [deps.registry],
    });
  }

  /** Checks `date` now (any day that has begun); SETTLEMENT_CHECK_RUNNING while another run holds it. */
  async run(date: string): Promise<DayResult> {
    const now = this.deps.clock.now();
    if (!isStatementDate(date)) throw new DomainError('VALIDATION_FAILED', 'date must be a calendar day written yyyy-mm-dd (UTC)');
    if (date > dayOf(now)) throw new DomainError('SETTLEMENT_CHECK_DAY_NOT_STARTED', `${date} has not begun yet (it is ${dayOf(now)}, UTC)`);
    const token = newId('scl', now.getTime());
    if (!(await repo.claimDay(this.deps.db, date, token, this.options.leaseMs, now))) {
      throw new DomainError('SETTLEMENT_CHECK_RUNNING', `${date} is being checked right now; ask again in a moment`);
    }
    let outcome: { result: repo.RunResult; findings: repo.Finding[] };
    try {
      outcome = await this.check(date, now);
    } catch (err) {
      this.deps.logger.error({ err, date }, 'settlement check failed');
      const error = (err as Error).message.slice(0, 500);
      const result: repo.RunResult = { status: 'ERROR', items: 0, matched: 0, pending: 0, breaks: 0, error, statementSha256: null };
      await repo.finishRun(this.deps.db, date, token, result, undefined, this.deps.clock.now());
      this.runsTotal.labels({ status: 'ERROR' }).inc();
      throw err;
    }
    const { result, findings } = outcome;
    const recorded = await this.deps.db.transaction().execute((trx) => repo.finishRun(trx, date, token, result, findings, this.deps.clock.now()));
    if (!recorded) throw new DomainError('SETTLEMENT_CHECK_RUNNING', `${date} was taken over by another run before this one finished`);
    this.runsTotal.labels({ status: result.status }).inc();
    this.lastBreaks.set(result.breaks);
    for (const found of findings) if (found.type !== 'PENDING') this.breaksFound.labels({ type: found.type }).inc();
    await this.alert(date, result);
    return this.day(date);
  }

  /** A day's latest result with its breaks and in-flight items; NOT_FOUND when never checked. */
  async day(date: string): Promise<DayResult> {
    if (!isStatementDate(date)) throw new DomainError('VALIDATION_FAILED', 'date must be a calendar day written yyyy-mm-dd (UTC)');
    const run = await repo.findRun(this.deps.db, date);
    if (!run) throw new DomainError('NOT_FOUND', `${date} has not been checked yet`);
    const findings = await repo.findingsOf(this.deps.db, date);
    return {
      run,
      breaks: findings.filter((f): f is Break => f.type !== 'PENDING'),
      pending: findings.filter((f): f is DayResult['pending'][number] => f.type === 'PENDING'),
    };
  }

  runs(page: { limit?: number | undefined; before?: string | undefined } = {}): Promise<Run[]> {
    return repo.listRuns(this.deps.db, Math.min(Math.max(page.limit ?? 30, 1), 366), page.before);
  }

  /**
   * The daily job: checks yesterday (business clock) once, and re-checks the
   * last `recheckDays` days left PENDING or ERROR once the grace period has
   * passed since their run. Every process runs it; the day's lease keeps two
   * from checking one day at once. Answers the days it checked.
   */
  async runDue(): Promise<string[]> {
    const now = this.deps.clock.now();
    const today = dayOf(now);
    const yesterday = addDays(today, -1);
    const due = new Set<string>();
    if (!(await repo.findRun(this.deps.db, yesterday))) due.add(yesterday);
    const again = await repo.daysToRecheck(this.deps.db, addDays(today, -this.options.recheckDays), new Date(now.getTime() - this.options.graceMs));
    for (const date of again) if (date < today) due.add(date);
    const done: string[] = [];
    for (const date of [...due].sort()) {
      try {
        await this.run(date);
        done.push(date);
      } catch (err) {
        if (!isDomainError(err, 'SETTLEMENT_CHECK_RUNNING')) this.deps.logger.warn({ err, date }, 'scheduled settlement check did not finish');
      }
    }
    return done;
  }

  private async alert(date: string, result: repo.RunResult): Promise<void> {
    const now = this.deps.clock.now();
    if (result.status === 'BROKEN') {
      this.deps.logger.error({ date, breaks: result.breaks }, `SETTLEMENT BREAKS: ${result.breaks} on ${date}`);
      await raiseAlert(
        this.deps.db,
        {
          source: SETTLEMENT_CHECK,
          key: date,
          message: `Settlement check of ${date}: ${result.breaks} break${result.breaks === 1 ? '' : 's'} between the ledger, Coffer's records and the bank`,
          details: { date, breaks: result.breaks, items: result.items, csv: `/admin/settlement-checks/${date}.csv` },
        },
        now,
      );
    }
    await resolveAlerts(this.deps.db, SETTLEMENT_CHECK, await repo.brokenDays(this.deps.db), now);
  }

  /** Gathers the three sources for the day and judges every item. */
  private async check(date: string, now: Date): Promise<{ result: repo.RunResult; findings: repo.Finding[] }> {
    const { deps } = this;
    const statement = await deps.statements.statement(date);
    const from = new Date(`${date}T00:00:00.000Z`);
    const to = new Date(from.getTime() + DAY_MS);
    const items = new Map<string, Item>();
    const item = (kind: ItemKind, businessId: string): Item => {
      const key = `${kind}:${businessId}`;
      let found = items.get(key);
      if (!found) items.set(key, (found = { kind, businessId }));
      return found;
    };
    /** Pay order and channel per attempt: the ledger knows a card payment by its pay order. */
    const payOrders = new Map<string, { payOrderNo: string; channelCode: string }>();

    const [depository, payouts, debits] = await Promise.all([
      deps.depository.finalMoneyTransactionsBetween(from, to),
      deps.payouts.finalPayoutsBetween(from, to),
      deps.payments.channelDebitsBetween(from, to),
    ]);
    const addBank = (lines: StatementData['lines'], only?: Set<string>) => {
      for (const line of lines) {
        const key = `${line.kind}:${line.id}`;
        if (!only || only.has(key)) item(line.kind, line.id).bank = bankLineView(line);
      }
    };
    addBank(statement.data.lines);
    for (const record of depository) item('DEPOSITORY', record.requestNo).records = depositoryRecordView(record);
    for (const payout of payouts) item('PAYOUT', payout.id).records = payoutRecordView(payout);
    for (const debit of debits) {
      item('CHANNEL_DEBIT', debit.attemptNo).records = channelDebitRecordView(debit);
      payOrders.set(debit.attemptNo, { payOrderNo: debit.payOrderNo, channelCode: debit.channelCode });
    }

    // The bank listed what Coffer did not finish that day: Coffer's record as it is now (maybe still in flight, or final another day).
    const withoutRecords = (kind: ItemKind) => [...items.values()].filter((i) => i.kind === kind && !i.records).map((i) => i.businessId);
    const [moreDepository, morePayouts, moreDebits] = await Promise.all([
      deps.depository.findTransactions(withoutRecords('DEPOSITORY')),
      deps.payouts.findPayouts(withoutRecords('PAYOUT')),
      deps.payments.channelDebits(withoutRecords('CHANNEL_DEBIT')),
    ]);
    for (const record of moreDepository) item('DEPOSITORY', record.requestNo).records = depositoryRecordView(record);
    for (const payout of morePayouts) item('PAYOUT', payout.id).records = payoutRecordView(payout);
    for (const debit of moreDebits) {
      item('CHANNEL_DEBIT', debit.attemptNo).records = channelDebitRecordView(debit);
      payOrders.set(debit.attemptNo, { payOrderNo: debit.payOrderNo, channelCode: debit.channelCode });
    }

    // Coffer finished what the bank's statement of the day does not list: the bank may have finished it
    // just before midnight, or just after (its clock and Coffer's differ a little), so the neighbours are asked.
    const withoutBank = new Set([...items.entries()].filter(([, i]) => !i.bank).map(([key]) => key));
    if (withoutBank.size > 0) {
      for (const neighbour of [addDays(date, -1), addDays(date, 1)]) {
        if (neighbour > dayOf(now)) continue;
        addBank((await deps.statements.statement(neighbour)).data.lines, withoutBank);
      }
    }

    const references = [...items.values()].map((i) => (i.kind === 'CHANNEL_DEBIT' ? payOrders.get(i.businessId)?.payOrderNo : i.businessId));
    const byReference = new Map<string, Transfer[]>();
    for (const transfer of await deps.ledger.transfersByReference([...new Set(references.filter((r): r is string => r !== undefined))])) {
      const list = byReference.get(transfer.reference!) ?? [];
      list.push(transfer);
      byReference.set(transfer.reference!, list);
    }

    const findings: repo.Finding[] = [];
    let matched = 0;
    let pending = 0;
    const ordered = [...items.values()].sort((a, b) => (a.kind === b.kind ? (a.businessId < b.businessId ? -1 : 1) : a.kind < b.kind ? -1 : 1));
    for (const one of ordered) {
      const channel = one.kind === 'CHANNEL_DEBIT' ? payOrders.get(one.businessId) : undefined;
      const reference = one.kind === 'CHANNEL_DEBIT' ? channel?.payOrderNo : one.businessId;
      // Without a record of a card payment attempt Coffer cannot tell which pay order the ledger knows it by.
      if (one.kind !== 'CHANNEL_DEBIT' || channel) one.ledger = ledgerView(one.kind, byReference.get(reference ?? '') ?? [], channel);
      const verdict = judge(one, now, this.options.graceMs);
      if (verdict.verdict === 'MATCHED') matched += 1;
      else if (verdict.verdict === 'PENDING') {
        pending += 1;
        findings.push({ type: 'PENDING', kind: one.kind, businessId: one.businessId, odd: null, ...describeAll(one), detail: verdict.reason });
      } else findings.push(...verdict.breaks);
    }
    const breaks = findings.length - pending;
    const status = breaks > 0 ? 'BROKEN' : pending > 0 ? 'PENDING' : 'CLEAN';
    return { result: { status, items: items.size, matched, pending, breaks, error: null, statementSha256: statement.sha256 }, findings };
  }
}
