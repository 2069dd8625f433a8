import type { Clock } from '../../platform/clock.ts';
import { DomainError } from '../../platform/errors.ts';
import { type AccountDelta, type AccountState, planBatch, type Unit, type UnitOutcome } from './ledger.plan.ts';
import { type Executor, readAccounts, readTransfers, writeBatch } from './ledger.repository.ts';
import type { Transfer } from './ledger.types.ts';

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
const MAX_KNOWN_ACCOUNTS = 100_000;
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
  /**
   * Account states as of this writer's last read plus its own writes since. In
   * one process they are exact; other processes' writes make them stale, which
   * costs a retry, never a wrong write (see execute).
   */
  private readonly known = new Map<string, AccountState>();
  /** Transfer ids of units submitted and not yet answered, with their answers to come. */
  private readonly idsInProgress = new Map<string, Promise<SettledOutcome>>();

  constructor(
    private readonly db: Executor,
    private readonly clock: Clock,
    private readonly options: WriterOptions,
  ) {}

  /**
   * A unit waits for any earlier unit of this process with one of its ids: its
   * answer must then be that unit's (a replay), never one decided from a read
   * taken while the first was still being written.
   */
  submit(unit: Unit): Promise<SettledOutcome> {
    const ahead = unit.ops.flatMap((op) => this.idsInProgress.get(op.id) ?? []);
    const run = ahead.length > 0 ? Promise.allSettled(ahead).then(() => this.start(unit)) : this.start(unit);
    for (const op of unit.ops) this.idsInProgress.set(op.id, run);
    const forget = () => {
      for (const op of unit.ops) if (this.idsInProgress.get(op.id) === run) this.idsInProgress.delete(op.id);
    };
    run.then(forget, forget);
    return run;
  }

  private start(unit: Unit): Promise<SettledOutcome> {
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

  /** Drops what the writer remembers of an account (its status changed outside a batch). */
  forget(accountId: string): void {
    this.known.delete(accountId);
  }

  private async executeWithRetry(units: Unit[]): Promise<UnitOutcome[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.execute(units, attempt === 1 ? 'optimistic' : 'fresh');
      } catch (err) {
        if (attempt >= MAX_ATTEMPTS || !isRetryable(err)) throw err;
        await new Promise((r) => setTimeout(r, Math.random() * attempt * 2));
      }
    }
  }

  /**
   * One attempt: read, plan, write in a single statement.
   *
   * The optimistic first attempt plans from the account states this writer
   * already knows and does not look for earlier transfers with the same ids.
   * Nothing wrong can be written that way: the write function refuses a taken
   * id or a changed status, and the table refuses an overdraft, and the retry
   * reads everything fresh. A refusal is only ever reported from fresh reads.
   */
  private async execute(units: Unit[], reads: 'optimistic' | 'fresh'): Promise<UnitOutcome[]> {
    const now = this.clock.now();
    const optimistic = reads === 'optimistic';
    const needsTransfers = !optimistic || units.some((u) => u.ops.some((op) => op.op !== 'transfer'));
    const existing = needsTransfers ? await readTransfers(this.db, referencedTransferIds(units)) : new Map<string, Transfer>();
    const accountIds = new Set<string>();
    for (const op of units.flatMap((u) => u.ops)) {
      const source = op.op === 'transfer' ? op : existing.get(op.pendingId);
      if (source) accountIds.add(source.debitAccountId).add(source.creditAccountId);
    }
    const accounts = await this.accountStates([...accountIds], optimistic);
    const plan = planBatch({ units, accounts, existing, now });
    if (optimistic && plan.outcomes.some((o) => o.status === 'failed')) return this.execute(units, 'fresh');
    if (plan.newTransfers.length === 0) return plan.outcomes;
    try {
      await writeBatch(this.db, plan, now);
    } catch (err) {
      for (const id of accountIds) this.known.delete(id);
      throw err;
    }
    this.remember(plan.accountDeltas);
    return plan.outcomes;
  }

  /** Copies (the planner changes them) of the accounts' states, read unless known and allowed. */
  private async accountStates(ids: string[], useKnown: boolean): Promise<Map<string, AccountState>> {
    const missing = useKnown ? ids.filter((id) => !this.known.has(id)) : ids;
    if (missing.length > 0) {
      if (this.known.size + missing.length > MAX_KNOWN_ACCOUNTS) this.known.clear();
      for (const [id, state] of await readAccounts(this.db, missing)) this.known.set(id, state);
    }
    const states = new Map<string, AccountState>();
    for (const id of ids) {
      const state = this.known.get(id);
      if (state) states.set(id, { ...state });
    }
    return states;
  }

  private remember(deltas: AccountDelta[]): void {
    for (const delta of deltas) {
      const state = this.known.get(delta.id);
      if (!state) continue;
      state.postedDebits += delta.postedDebits;
      state.postedCredits += delta.postedCredits;
      state.pendingDebits += delta.pendingDebits;
      state.pendingCredits += delta.pendingCredits;
    }
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
