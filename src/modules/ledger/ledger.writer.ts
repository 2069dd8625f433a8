import type { Clock } from '../../platform/clock.ts';
import { DomainError } from '../../platform/errors.ts';
import { planBatch, type Unit, type UnitOutcome } from './ledger.plan.ts';
import { type Executor, readAccounts, readTransfers, writeBatch } from './ledger.repository.ts';

export type SettledOutcome = Exclude<UnitOutcome, { status: 'deferred' }>;

export interface WriterOptions {
  /**
   * 'group' gathers the units that arrive while a batch is being written into
   * the next batch: one transaction, one lock per account and one commit for
   * all of them. 'single' gives every unit its own transaction.
   */
  mode: 'group' | 'single';
  maxBatchSize: number;
  /** Batches in flight at once ('group' mode). */
  concurrency: number;
  onBatch?: (size: number, durationMs: number) => void;
  logError?: (message: string, err: unknown) => void;
}

interface Waiting {
  unit: Unit;
  resolve(outcome: SettledOutcome): void;
  reject(err: unknown): void;
}

const MAX_ATTEMPTS = 10;
/**
 * A concurrent writer changed what the plan read (CF001 from ledger_write_batch,
 * or an overdraft refused by a check constraint), or the database broke a
 * deadlock or serialization conflict: read again, plan again.
 */
const RETRYABLE_SQLSTATES = new Set(['CF001', '23514', '23505', '40001', '40P01']);

/** Writes units to the ledger and answers each caller once its unit is durable. */
export class LedgerWriter {
  private readonly queue: Waiting[] = [];
  private inFlight = 0;
  private pumpScheduled = false;

  constructor(
    private readonly db: Executor,
    private readonly clock: Clock,
    private readonly options: WriterOptions,
  ) {}

  submit(unit: Unit): Promise<SettledOutcome> {
    if (this.options.mode === 'single') return this.runAlone(unit);
    return new Promise((resolve, reject) => {
      this.queue.push({ unit, resolve, reject });
      this.schedulePump();
    });
  }

  /** Let every caller of this event-loop turn join the batch before it starts. */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.options.concurrency && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBatchSize);
      this.inFlight++;
      void this.runBatch(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async runBatch(batch: Waiting[]): Promise<void> {
    const started = performance.now();
    try {
      const outcomes = await this.executeWithRetry(batch.map((w) => w.unit));
      const deferred: Waiting[] = [];
      outcomes.forEach((outcome, i) => {
        if (outcome.status === 'deferred') deferred.push(batch[i]!);
        else batch[i]!.resolve(outcome);
      });
      this.queue.unshift(...deferred);
    } catch (err) {
      if (batch.length === 1) {
        batch[0]!.reject(err);
      } else {
        // Something the planner did not foresee (the database refused the batch):
        // write each unit alone so only the offending one fails.
        this.options.logError?.('ledger batch failed; retrying its units one by one', err);
        await Promise.all(batch.map((w) => this.runAlone(w.unit).then(w.resolve, w.reject)));
      }
    } finally {
      this.options.onBatch?.(batch.length, performance.now() - started);
    }
  }

  private async runAlone(unit: Unit): Promise<SettledOutcome> {
    const [outcome] = await this.executeWithRetry([unit]);
    if (!outcome || outcome.status === 'deferred') throw new Error('a unit alone cannot be deferred');
    return outcome;
  }

  private async executeWithRetry(units: Unit[]): Promise<UnitOutcome[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.execute(units, attempt > 1);
      } catch (err) {
        if (attempt >= MAX_ATTEMPTS || !isRetryable(err)) throw err;
        await new Promise((r) => setTimeout(r, Math.random() * attempt * 2));
      }
    }
  }

  /**
   * One attempt: read, plan, write in a single statement. The first attempt of
   * a lone new transfer skips looking for an earlier transfer with its id: if
   * there is one the write refuses, and the retry reads it.
   */
  private async execute(units: Unit[], isRetry: boolean): Promise<UnitOutcome[]> {
    const now = this.clock.now();
    const optimistic = !isRetry && units.length === 1 && units[0]!.ops.every((op) => op.op === 'transfer');
    const existing = optimistic ? new Map() : await readTransfers(this.db, referencedTransferIds(units));
    const accountIds = new Set<string>();
    for (const op of units.flatMap((u) => u.ops)) {
      const source = op.op === 'transfer' ? op : existing.get(op.pendingId);
      if (source) accountIds.add(source.debitAccountId).add(source.creditAccountId);
    }
    const accounts = await readAccounts(this.db, [...accountIds]);
    const plan = planBatch({ units, accounts, existing, now });
    if (plan.newTransfers.length > 0) await writeBatch(this.db, plan, now);
    return plan.outcomes;
  }
}

function referencedTransferIds(units: Unit[]): string[] {
  const ids = new Set<string>();
  for (const op of units.flatMap((u) => u.ops)) {
    ids.add(op.id);
    if (op.op !== 'transfer') ids.add(op.pendingId);
  }
  return [...ids];
}

function isRetryable(err: unknown): boolean {
  if (err instanceof DomainError) return false;
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && RETRYABLE_SQLSTATES.has(code);
}
