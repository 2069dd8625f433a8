import assert from 'node:assert/strict';
import { DomainError, type ErrorCode } from '../../platform/errors.ts';
import { formatMinor } from '../../platform/money/index.ts';
import {
  type Account,
  type AccountId,
  type AccountStatus,
  type LedgerOperation,
  type Metadata,
  type Transfer,
  type TransferState,
} from './ledger.types.ts';

/**
 * The ledger's state machine, with no I/O: given the locked accounts and the
 * transfers a batch refers to, decide each unit's outcome in order against
 * running balances, and produce the rows to write. A unit is one operation or
 * a linked group that succeeds or fails as a whole; one failing unit fails alone.
 */

const INT8_MAX = 9_223_372_036_854_775_807n;

/** What the planner needs of an account: what decides a transfer, and the running totals. */
export type AccountState = Pick<
  Account,
  'id' | 'currency' | 'status' | 'noOverdraft' | 'postedDebits' | 'postedCredits' | 'pendingDebits' | 'pendingCredits'
>;

export interface Unit {
  ops: LedgerOperation[];
}

export type UnitOutcome =
  | { status: 'applied'; transfers: Transfer[] }
  | { status: 'replayed'; transfers: Transfer[] }
  | { status: 'failed'; error: DomainError }
  /** Its id is already used by an earlier unit of this batch: run it in the next batch. */
  | { status: 'deferred' };

/** An entry to write; the database numbers it and computes its balances under the account's lock. */
export interface EntryRow {
  accountId: AccountId;
  transferId: string;
  direction: 'DEBIT' | 'CREDIT';
  amount: bigint;
  code: string;
  currency: string;
}

/**
 * What a batch changes on one account, as increments: the database adds them
 * under the row lock, so batches that share a hot account never invalidate
 * each other. The status the plan relied on is checked there too.
 */
export interface AccountDelta {
  id: AccountId;
  expectedStatus: AccountStatus;
  postedDebits: bigint;
  postedCredits: bigint;
  pendingDebits: bigint;
  pendingCredits: bigint;
  entries: bigint;
  /**
   * For an account that may not overdraw, the available balance it must still
   * have when the batch is written (0: nothing to check). The plan may start
   * from a stale state, and a batch that takes money out and puts it back (a
   * debit then a credit) ends within the table's check constraint even when the
   * money was not there at the debit: the database compares this with the
   * locked row, so no step of the batch can overdraw.
   */
  availableNeeded: bigint;
}

export interface PendingUpdate {
  id: string;
  state: TransferState;
  postedAmount: bigint | null;
}

export interface BatchPlan {
  outcomes: UnitOutcome[];
  newTransfers: Transfer[];
  entries: EntryRow[];
  /** Pending transfers created before this batch that this batch posts or voids. */
  pendingUpdates: PendingUpdate[];
  accountDeltas: AccountDelta[];
}

export interface PlanInput {
  units: Unit[];
  /** Recent state of every account the batch may touch (the database re-checks what matters). */
  accounts: Map<string, AccountState>;
  /** Stored transfers whose ids the batch names: its own ids (replays) and pending ids. */
  existing: Map<string, Transfer>;
  now: Date;
}

/**
 * The states the plan was given contradict the transfers it read (another
 * writer placed or finished a hold in between): nothing is written, and the
 * writer plans again from fresh reads (it retries SQLSTATE CF001).
 */
export class StalePlanError extends Error {
  readonly code = 'CF001';
}

export function planBatch({ units, accounts, existing, now }: PlanInput): BatchPlan {
  const plan = new BatchState(accounts, existing, now);
  const outcomes = units.map((unit) => plan.applyUnit(unit));
  return {
    outcomes,
    newTransfers: plan.newTransfers,
    entries: plan.entries,
    pendingUpdates: [...plan.pendingUpdates.values()],
    accountDeltas: plan.deltas(),
  };
}

class BatchState {
  readonly newTransfers: Transfer[] = [];
  readonly entries: EntryRow[] = [];
  readonly pendingUpdates = new Map<string, PendingUpdate>();
  readonly touched = new Set<string>();
  /** The lowest available balance each no-overdraft account passes through in the batch. */
  private readonly lowestAvailable = new Map<string, bigint>();
  /** Each touched account as it was before the batch. */
  private readonly initial = new Map<string, AccountState>();
  private readonly idsInBatch = new Set<string>();
  /** Pending transfers as this batch has left them (stored ones and ones created here). */
  private readonly pendings = new Map<string, Transfer>();
  private undo: UndoLog | undefined;

  constructor(
    readonly accounts: Map<string, AccountState>,
    private readonly existing: Map<string, Transfer>,
    private readonly now: Date,
  ) {}

  applyUnit(unit: Unit): UnitOutcome {
    const ids = unit.ops.map((op) => op.id);
    if (ids.some((id) => this.idsInBatch.has(id))) return { status: 'deferred' };
    if (new Set(ids).size !== ids.length) {
      return failed('TRANSFER_ID_CONFLICT', 'A linked group uses the same transfer id twice');
    }
    const stored = ids.map((id) => this.existing.get(id));
    if (stored.some(Boolean)) return replay(unit.ops, stored);

    const undo = this.checkpoint();
    const linkedId = unit.ops.length > 1 ? unit.ops[0]!.id : null;
    const transfers: Transfer[] = [];
    for (const [index, op] of unit.ops.entries()) {
      try {
        transfers.push(this.apply(op, linkedId));
      } catch (err) {
        undo();
        if (!(err instanceof DomainError)) throw err;
        if (unit.ops.length === 1) return { status: 'failed', error: err };
        return {
          status: 'failed',
          error: new DomainError(err.code, `Linked transfer ${index + 1} of ${unit.ops.length} (${op.id}): ${err.message}`, {
            failedTransferId: op.id,
          }),
        };
      }
    }
    for (const id of ids) this.idsInBatch.add(id);
    return { status: 'applied', transfers };
  }

  private apply(op: LedgerOperation, linkedId: string | null): Transfer {
    switch (op.op) {
      case 'transfer':
        return op.pending ? this.hold(op, linkedId) : this.move(op, linkedId);
      case 'post':
        return this.post(op, linkedId);
      case 'void':
        return this.void(op, linkedId);
    }
  }

  private move(op: Extract<LedgerOperation, { op: 'transfer' }>, linkedId: string | null): Transfer {
    const { debit, credit } = this.checkedPair(op.debitAccountId, op.creditAccountId, op.currency);
    requireAvailable(debit, op.amountMinor);
    const transfer = this.record(op, linkedId, { kind: 'POSTED', state: 'POSTED', amount: op.amountMinor });
    this.postEntries(transfer, debit, credit, op.amountMinor);
    this.noteAvailable(debit);
    return transfer;
  }

  private hold(op: Extract<LedgerOperation, { op: 'transfer' }>, linkedId: string | null): Transfer {
    const { debit, credit } = this.checkedPair(op.debitAccountId, op.creditAccountId, op.currency);
    requireAvailable(debit, op.amountMinor);
    const timeoutSeconds = op.pending?.timeoutSeconds;
    const timeoutAt = timeoutSeconds ? new Date(this.now.getTime() + timeoutSeconds * 1000) : null;
    const transfer = this.record(op, linkedId, { kind: 'PENDING', state: 'PENDING', amount: op.amountMinor, timeoutAt });
    debit.pendingDebits = add(debit.pendingDebits, op.amountMinor);
    credit.pendingCredits = add(credit.pendingCredits, op.amountMinor);
    this.noteAvailable(debit);
    this.setPending(transfer);
    return transfer;
  }

  private post(op: Extract<LedgerOperation, { op: 'post' }>, linkedId: string | null): Transfer {
    const pending = this.openPending(op.pendingId);
    const amount = op.amountMinor ?? pending.amountMinor;
    if (amount > pending.amountMinor) {
      throw new DomainError('POST_EXCEEDS_PENDING', `Cannot post ${amount} of a pending transfer holding ${pending.amountMinor}`);
    }
    const debit = this.account(pending.debitAccountId);
    const credit = this.account(pending.creditAccountId);
    this.release(pending, debit, credit);
    const transfer = this.record(
      { ...op, debitAccountId: pending.debitAccountId, creditAccountId: pending.creditAccountId, currency: pending.currency, code: pending.code },
      linkedId,
      { kind: 'POST_PENDING', state: 'POSTED', amount, pendingId: pending.id },
    );
    if (amount > 0n) this.postEntries(transfer, debit, credit, amount);
    this.finishPending(pending, 'POSTED', amount);
    return transfer;
  }

  private void(op: Extract<LedgerOperation, { op: 'void' }>, linkedId: string | null): Transfer {
    const pending = this.openPending(op.pendingId, op.expired);
    this.release(pending, this.account(pending.debitAccountId), this.account(pending.creditAccountId));
    const transfer = this.record(
      { ...op, debitAccountId: pending.debitAccountId, creditAccountId: pending.creditAccountId, currency: pending.currency, code: pending.code },
      linkedId,
      { kind: 'VOID_PENDING', state: 'POSTED', amount: pending.amountMinor, pendingId: pending.id },
    );
    this.finishPending(pending, op.expired ? 'EXPIRED' : 'VOIDED', null);
    return transfer;
  }

  private openPending(pendingId: string, expiring = false): Transfer {
    const pending = this.pendings.get(pendingId) ?? this.existing.get(pendingId);
    if (!pending || pending.kind !== 'PENDING') {
      throw new DomainError('PENDING_TRANSFER_NOT_FOUND', `No pending transfer ${pendingId}`);
    }
    if (pending.state === 'EXPIRED') throw new DomainError('PENDING_TRANSFER_EXPIRED', `Pending transfer ${pendingId} timed out`);
    if (pending.state !== 'PENDING') {
      throw new DomainError('PENDING_TRANSFER_ALREADY_FINAL', `Pending transfer ${pendingId} is already ${pending.state}`);
    }
    if (!expiring && pending.timeoutAt && pending.timeoutAt <= this.now) {
      throw new DomainError('PENDING_TRANSFER_EXPIRED', `Pending transfer ${pendingId} timed out at ${pending.timeoutAt.toISOString()}`);
    }
    return pending;
  }

  private release(pending: Transfer, debit: AccountState, credit: AccountState): void {
    this.touch(debit);
    this.touch(credit);
    debit.pendingDebits -= pending.amountMinor;
    credit.pendingCredits -= pending.amountMinor;
    if (debit.pendingDebits < 0n || credit.pendingCredits < 0n) {
      throw new StalePlanError(`The account totals were read before hold ${pending.id} was placed`);
    }
  }

  private finishPending(pending: Transfer, state: TransferState, postedAmount: bigint | null): void {
    const finished = { ...pending, state, postedAmountMinor: postedAmount };
    this.setPending(finished);
    if (this.existing.has(pending.id)) {
      this.setPendingUpdate({ id: pending.id, state, postedAmount });
      return;
    }
    // Created earlier in this batch: it is inserted in its final state.
    const index = this.newTransfers.findIndex((t) => t.id === pending.id);
    this.undo?.replaced.push({ index, transfer: this.newTransfers[index]! });
    this.newTransfers[index] = finished;
  }

  private checkedPair(debitId: AccountId, creditId: AccountId, currency: string) {
    if (debitId === creditId) throw new DomainError('SAME_ACCOUNT', 'Debit and credit account are the same');
    const debit = this.account(debitId);
    const credit = this.account(creditId);
    for (const account of [debit, credit]) {
      if (account.currency !== currency) {
        throw new DomainError('CURRENCY_MISMATCH', `Account ${account.id} holds ${account.currency}, the transfer is in ${currency}`);
      }
      if (account.status === 'CLOSED') throw new DomainError('ACCOUNT_CLOSED', `Account ${account.id} is closed`);
    }
    if (debit.status === 'FROZEN') throw new DomainError('ACCOUNT_FROZEN', `Account ${debit.id} is frozen and accepts no debits`);
    this.touch(debit);
    this.touch(credit);
    return { debit, credit };
  }

  private account(id: AccountId): AccountState {
    const account = this.accounts.get(id);
    if (!account) throw new DomainError('ACCOUNT_NOT_FOUND', `No ledger account ${id}`);
    return account;
  }

  private postEntries(transfer: Transfer, debit: AccountState, credit: AccountState, amount: bigint): void {
    this.entries.push(entry(transfer, debit, 'DEBIT', amount));
    debit.postedDebits = add(debit.postedDebits, amount);
    this.entries.push(entry(transfer, credit, 'CREDIT', amount));
    credit.postedCredits = add(credit.postedCredits, amount);
    assert.ok(!debit.noOverdraft || debit.postedDebits + debit.pendingDebits <= debit.postedCredits, `account ${debit.id} overdrawn`);
  }

  private record(
    op: { id: string; debitAccountId: AccountId; creditAccountId: AccountId; currency: string; code: string; reference?: string; metadata?: Metadata },
    linkedId: string | null,
    shape: { kind: Transfer['kind']; state: TransferState; amount: bigint; timeoutAt?: Date | null; pendingId?: string },
  ): Transfer {
    const transfer: Transfer = {
      id: op.id,
      kind: shape.kind,
      debitAccountId: op.debitAccountId,
      creditAccountId: op.creditAccountId,
      amountMinor: shape.amount,
      currency: op.currency as Transfer['currency'],
      code: op.code as Transfer['code'],
      reference: op.reference ?? null,
      metadata: op.metadata ?? null,
      pendingId: shape.pendingId ?? null,
      timeoutAt: shape.timeoutAt ?? null,
      state: shape.state,
      postedAmountMinor: null,
      linkedId,
      createdAt: this.now,
    };
    this.newTransfers.push(transfer);
    return transfer;
  }

  deltas(): AccountDelta[] {
    const entryCounts = new Map<string, bigint>();
    for (const e of this.entries) entryCounts.set(e.accountId, (entryCounts.get(e.accountId) ?? 0n) + 1n);
    return [...this.touched].map((id) => {
      const now = this.accounts.get(id)!;
      const before = this.initial.get(id)!;
      const availableBefore = before.postedCredits - before.postedDebits - before.pendingDebits;
      const lowest = this.lowestAvailable.get(id) ?? availableBefore;
      return {
        id: now.id,
        expectedStatus: now.status,
        postedDebits: now.postedDebits - before.postedDebits,
        postedCredits: now.postedCredits - before.postedCredits,
        pendingDebits: now.pendingDebits - before.pendingDebits,
        pendingCredits: now.pendingCredits - before.pendingCredits,
        entries: entryCounts.get(id) ?? 0n,
        availableNeeded: lowest < availableBefore ? availableBefore - lowest : 0n,
      };
    });
  }

  private touch(account: AccountState): void {
    if (!this.initial.has(account.id)) this.initial.set(account.id, { ...account });
    if (this.undo && !this.undo.accounts.has(account.id)) {
      this.undo.accounts.set(account.id, { ...account });
      if (!this.touched.has(account.id)) this.undo.newlyTouched.push(account.id);
    }
    this.touched.add(account.id);
  }

  private noteAvailable(account: AccountState): void {
    if (!account.noOverdraft) return;
    const available = account.postedCredits - account.postedDebits - account.pendingDebits;
    const lowest = this.lowestAvailable.get(account.id);
    if (lowest !== undefined && lowest <= available) return;
    if (this.undo && !this.undo.lowestAvailable.has(account.id)) this.undo.lowestAvailable.set(account.id, lowest);
    this.lowestAvailable.set(account.id, available);
  }

  private setPending(transfer: Transfer): void {
    if (this.undo && !this.undo.pendings.has(transfer.id)) this.undo.pendings.set(transfer.id, this.pendings.get(transfer.id));
    this.pendings.set(transfer.id, transfer);
  }

  private setPendingUpdate(update: PendingUpdate): void {
    if (this.undo && !this.undo.pendingUpdates.has(update.id)) {
      this.undo.pendingUpdates.set(update.id, this.pendingUpdates.get(update.id));
    }
    this.pendingUpdates.set(update.id, update);
  }

  /**
   * Starts recording what a unit changes (copy on first touch), so a unit that
   * fails midway can be rolled back without copying the whole batch state.
   */
  private checkpoint(): () => void {
    const undo: UndoLog = {
      accounts: new Map(),
      newlyTouched: [],
      pendings: new Map(),
      pendingUpdates: new Map(),
      lowestAvailable: new Map(),
      replaced: [],
      transferCount: this.newTransfers.length,
      entryCount: this.entries.length,
    };
    this.undo = undo;
    return () => {
      for (const [id, saved] of undo.accounts) Object.assign(this.accounts.get(id)!, saved);
      for (const id of undo.newlyTouched) this.touched.delete(id);
      restore(this.pendings, undo.pendings);
      restore(this.pendingUpdates, undo.pendingUpdates);
      restore(this.lowestAvailable, undo.lowestAvailable);
      for (const { index, transfer } of undo.replaced.reverse()) this.newTransfers[index] = transfer;
      this.newTransfers.length = undo.transferCount;
      this.entries.length = undo.entryCount;
    };
  }
}

interface UndoLog {
  accounts: Map<string, AccountState>;
  newlyTouched: string[];
  pendings: Map<string, Transfer | undefined>;
  pendingUpdates: Map<string, PendingUpdate | undefined>;
  lowestAvailable: Map<string, bigint | undefined>;
  replaced: { index: number; transfer: Transfer }[];
  transferCount: number;
  entryCount: number;
}

function restore<T>(target: Map<string, T>, saved: Map<string, T | undefined>): void {
  for (const [id, value] of saved) {
    if (value === undefined) target.delete(id);
    else target.set(id, value);
  }
}

function entry(transfer: Transfer, account: AccountState, direction: 'DEBIT' | 'CREDIT', amount: bigint): EntryRow {
  return { accountId: account.id, transferId: transfer.id, direction, amount, code: transfer.code, currency: transfer.currency };
}

function requireAvailable(debit: AccountState, amount: bigint): void {
  if (!debit.noOverdraft) return;
  const available = debit.postedCredits - debit.postedDebits - debit.pendingDebits;
  if (amount > available) {
    const money = (minor: bigint) => `${formatMinor(minor, debit.currency)} ${debit.currency}`;
    throw new DomainError('INSUFFICIENT_FUNDS', `Account ${debit.id} has ${money(available)} available, ${money(amount)} needed`, {
      accountId: debit.id,
    });
  }
}

function add(total: bigint, amount: bigint): bigint {
  const sum = total + amount;
  if (sum > INT8_MAX) throw new DomainError('BALANCE_OVERFLOW', 'The account total would exceed the largest value the ledger stores');
  return sum;
}

function failed(code: ErrorCode, detail: string): UnitOutcome {
  return { status: 'failed', error: new DomainError(code, detail) };
}

/** Every id of the unit must already be stored with the same content; then nothing moves again. */
function replay(ops: LedgerOperation[], stored: (Transfer | undefined)[]): UnitOutcome {
  for (const [index, op] of ops.entries()) {
    const transfer = stored[index];
    if (!transfer || !sameContent(op, transfer)) {
      return failed('TRANSFER_ID_CONFLICT', `Transfer id ${op.id} was already used for a different transfer`);
    }
  }
  return { status: 'replayed', transfers: stored as Transfer[] };
}

export function sameContent(op: LedgerOperation, stored: Transfer): boolean {
  const sameExtras = (op.reference ?? null) === stored.reference && sameMetadata(op.metadata ?? null, stored.metadata);
  switch (op.op) {
    case 'transfer':
      return (
        sameExtras &&
        stored.kind === (op.pending ? 'PENDING' : 'POSTED') &&
        stored.debitAccountId === op.debitAccountId &&
        stored.creditAccountId === op.creditAccountId &&
        stored.amountMinor === op.amountMinor &&
        stored.currency === op.currency &&
        stored.code === op.code &&
        sameTimeout(op.pending?.timeoutSeconds, stored)
      );
    case 'post':
      return (
        sameExtras &&
        stored.kind === 'POST_PENDING' &&
        stored.pendingId === op.pendingId &&
        (op.amountMinor === undefined || op.amountMinor === stored.amountMinor)
      );
    case 'void':
      return sameExtras && stored.kind === 'VOID_PENDING' && stored.pendingId === op.pendingId;
  }
}

/** A hold's deadline was its creation time plus the seconds asked for, so the two can be compared exactly. */
function sameTimeout(timeoutSeconds: number | undefined, stored: Transfer): boolean {
  if (timeoutSeconds === undefined || stored.timeoutAt === null) return timeoutSeconds === undefined && stored.timeoutAt === null;
  return stored.timeoutAt.getTime() - stored.createdAt.getTime() === timeoutSeconds * 1000;
}

function sameMetadata(a: Metadata | null, b: Metadata | null): boolean {
  if (a === null || b === null) return a === b;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => Object.is(a[key], b[key]));
}
