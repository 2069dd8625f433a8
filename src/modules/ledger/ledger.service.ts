import { randomInt } from 'node:crypto';
import type { Clock } from '../../platform/clock.ts';
import { DomainError } from '../../platform/errors.ts';
import { newId } from '../../platform/ids.ts';
import { currencyCode, type CurrencyCode, MAX_AMOUNT_MINOR } from '../../platform/money/index.ts';
import { checkInvariants, type InvariantReport } from './ledger.invariants.ts';
import { type ChainReport, verifyChain } from './ledger.chain.ts';
import type { Unit } from './ledger.plan.ts';
import * as repo from './ledger.repository.ts';
import {
  type Account,
  type AccountId,
  type AccountStatus,
  type AccountType,
  accountTypes,
  type Entry,
  type LedgerOperation,
  type OwnerKind,
  ownerKinds,
  type Page,
  type PostPendingRequest,
  type Transfer,
  type TransferRequest,
  transferCodes,
  type VoidPendingRequest,
} from './ledger.types.ts';
import { LedgerWriter, type WriterOptions } from './ledger.writer.ts';

export interface LedgerDeps {
  db: repo.Executor;
  clock: Clock;
  writer: Pick<WriterOptions, 'mode' | 'maxBatchSize' | 'concurrency' | 'onBatch' | 'logError'>;
}

export interface OpenAccountInput {
  ownerKind: OwnerKind;
  ownerId: string;
  type: AccountType;
  currency: CurrencyCode;
  /** Defaults to true for users and merchants, false for platform accounts. */
  noOverdraft?: boolean;
}

export const PLATFORM_OWNER_ID = 'platform';

export class LedgerService {
  private readonly writer: LedgerWriter;
  private readonly platformAccountIds = new Map<string, AccountId>();

  constructor(private readonly deps: LedgerDeps) {
    this.writer = new LedgerWriter(deps.db, deps.clock, deps.writer);
  }

  async openAccount(input: OpenAccountInput): Promise<Account> {
    const ownerKind = oneOf(input.ownerKind, ownerKinds, 'ownerKind');
    const type = oneOf(input.type, accountTypes, 'type');
    const currency = currencyCode(input.currency);
    if (!input.ownerId || input.ownerId.length > 64) throw new DomainError('VALIDATION_FAILED', 'ownerId must be 1-64 characters');
    const now = this.deps.clock.now();
    for (let attempt = 0; attempt < 5; attempt++) {
      const account: Account = {
        id: newId('acc'),
        accountNo: accountNumber(now),
        ownerKind,
        ownerId: input.ownerId,
        type,
        currency,
        status: 'ACTIVE',
        noOverdraft: input.noOverdraft ?? ownerKind !== 'PLATFORM',
        postedDebits: 0n,
        postedCredits: 0n,
        pendingDebits: 0n,
        pendingCredits: 0n,
        createdAt: now,
        updatedAt: now,
      };
      try {
        await repo.insertAccount(this.deps.db, account);
        return account;
      } catch (err) {
        if ((err as { code?: string }).code !== '23505') throw err;
        if (await repo.findAccountByOwner(this.deps.db, { ...input, type, currency })) {
          throw new DomainError(
            'ACCOUNT_ALREADY_EXISTS',
            `${input.ownerKind} ${input.ownerId} already has a ${type} account in ${currency}`,
          );
        }
        // otherwise the random account number collided: draw another
      }
    }
    throw new Error('could not draw a free account number');
  }

  /** The id of the platform's account of a type and currency (opened on first use); ids never change, so it is remembered. */
  async platformAccountId(type: AccountType, currency: CurrencyCode): Promise<AccountId> {
    const key = `${type}:${currency}`;
    let id = this.platformAccountIds.get(key);
    if (!id) {
      id = (await this.platformAccount(type, currency)).id;
      this.platformAccountIds.set(key, id);
    }
    return id;
  }

  /** The platform's account of a type and currency, opened on first use. */
  async platformAccount(type: AccountType, currency: CurrencyCode): Promise<Account> {
    const owner = { ownerKind: 'PLATFORM' as const, ownerId: PLATFORM_OWNER_ID, type, currency };
    const found = await repo.findAccountByOwner(this.deps.db, owner);
    if (found) return found;
    try {
      return await this.openAccount(owner);
    } catch (err) {
      const raced = await repo.findAccountByOwner(this.deps.db, owner);
      if (raced) return raced;
      throw err;
    }
  }

  async getAccount(id: string): Promise<Account> {
    const account = await repo.findAccount(this.deps.db, id);
    if (!account) throw new DomainError('ACCOUNT_NOT_FOUND', `No ledger account ${id}`);
    return account;
  }

  findAccountByNo(accountNo: string): Promise<Account | undefined> {
    return repo.findAccountByNo(this.deps.db, accountNo);
  }

  findAccount(owner: { ownerKind: OwnerKind; ownerId: string; type: AccountType; currency: CurrencyCode }): Promise<Account | undefined> {
    return repo.findAccountByOwner(this.deps.db, owner);
  }

  accountsOf(ownerKind: OwnerKind, ownerId: string): Promise<Account[]> {
    return repo.findAccountsOfOwner(this.deps.db, ownerKind, ownerId);
  }

  freezeAccount(id: string): Promise<Account> {
    return this.setStatus(id, 'FROZEN');
  }

  unfreezeAccount(id: string): Promise<Account> {
    return this.setStatus(id, 'ACTIVE');
  }

  private async setStatus(id: string, status: AccountStatus): Promise<Account> {
    const current = await this.getAccount(id);
    if (current.status === 'CLOSED') throw new DomainError('ACCOUNT_CLOSED', `Account ${id} is closed`);
    const updated = await repo.updateAccountStatus(this.deps.db, id, status, this.deps.clock.now());
    this.writer.forget(id);
    return updated!;
  }

  /** Moves money (or, with `pending`, holds it). Same id again: the first result, nothing moves. */
  async transfer(request: TransferRequest): Promise<Transfer> {
    const [transfer] = await this.submit([{ op: 'transfer', ...validTransfer(request) }]);
    return transfer!;
  }

  /** Several transfers that all happen or none does (e.g. a payout and its fee). */
  async linkedTransfers(requests: TransferRequest[]): Promise<Transfer[]> {
    if (requests.length === 0) throw new DomainError('VALIDATION_FAILED', 'A linked group needs at least one transfer');
    return this.submit(requests.map((request) => ({ op: 'transfer' as const, ...validTransfer(request) })));
  }

  async postPending(request: PostPendingRequest): Promise<Transfer> {
    validId(request.id);
    validId(request.pendingId);
    if (request.amountMinor !== undefined) validAmount(request.amountMinor);
    const [transfer] = await this.submit([{ op: 'post', ...request }]);
    return transfer!;
  }

  async voidPending(request: VoidPendingRequest): Promise<Transfer> {
    validId(request.id);
    validId(request.pendingId);
    const [transfer] = await this.submit([{ op: 'void', ...request }]);
    return transfer!;
  }

  private async submit(ops: LedgerOperation[]): Promise<Transfer[]> {
    const outcome = await this.writer.submit({ ops } satisfies Unit);
    if (outcome.status === 'failed') throw outcome.error;
    return outcome.transfers;
  }

  /**
   * Holds still open that were placed before `createdBefore` with this code, oldest first
   * (by creation time, then id). `after` (the last hold of the previous page) pages on, so a
   * sweeper is not stuck behind more long-lived holds than one page holds.
   */
  openPendingTransfers(filter: { code: string; createdBefore: Date; limit?: number; after?: { createdAt: Date; id: string } }): Promise<Transfer[]> {
    return repo.openPendingTransfers(this.deps.db, { ...filter, limit: Math.min(Math.max(filter.limit ?? 100, 1), 1000) });
  }

  /** Every transfer whose reference (the business order) is one of these, oldest first: what moved for them. */
  transfersByReference(references: string[]): Promise<Transfer[]> {
    return repo.transfersByReference(this.deps.db, references);
  }

  async getTransfer(id: string): Promise<Transfer> {
    const transfer = await repo.findTransfer(this.deps.db, id);
    if (!transfer) throw new DomainError('TRANSFER_NOT_FOUND', `No transfer ${id}`);
    return transfer;
  }

  /** Those of the transfers that exist, and the entries they made on the given accounts (e.g. a user's, for an order's detail). */
  async transfersWithEntries(transferIds: string[], accountIds: string[]): Promise<{ transfers: Transfer[]; entries: Entry[] }> {
    const found = await repo.readTransfers(this.deps.db, transferIds);
    const transfers = transferIds.flatMap((id) => found.get(id) ?? []);
    return { transfers, entries: await repo.entriesOfTransfers(this.deps.db, transfers.map((t) => t.id), accountIds) };
  }

  /** An account's entries, newest first; `startingAfter` is the `seq` of the last entry of the previous page. */
  async entries(accountId: string, page: { limit?: number; startingAfter?: string; from?: Date; to?: Date } = {}): Promise<Page<Entry>> {
    await this.getAccount(accountId);
    const limit = Math.min(Math.max(page.limit ?? 20, 1), 200);
    if (page.startingAfter !== undefined && !/^\d{1,18}$/.test(page.startingAfter)) {
      throw new DomainError('VALIDATION_FAILED', 'startingAfter must be the seq of an entry');
    }
    const rows = await repo.listEntries(this.deps.db, {
      accountId,
      limit: limit + 1,
      ...(page.startingAfter !== undefined ? { beforeSeq: BigInt(page.startingAfter) } : {}),
      ...(page.from ? { from: page.from } : {}),
      ...(page.to ? { to: page.to } : {}),
    });
    return { data: rows.slice(0, limit), hasMore: rows.length > limit };
  }

  /** Voids pending transfers whose timeout has passed. Returns how many it voided. */
  async expireDuePendings(limit = 500): Promise<number> {
    const ids = await repo.duePendingIds(this.deps.db, this.deps.clock.now(), limit);
    const results = await Promise.allSettled(
      ids.map((pendingId) => this.submit([{ op: 'void', id: `${pendingId}.expired`, pendingId, expired: true }])),
    );
    return results.filter((r) => r.status === 'fulfilled').length;
  }

  checkInvariants(): Promise<InvariantReport> {
    return checkInvariants(this.deps.db);
  }

  /** Re-hashes every account's chain of entries and names the first broken link. */
  verifyChain(): Promise<ChainReport> {
    return verifyChain(this.deps.db, this.deps.clock.now());
  }
}

function accountNumber(now: Date): string {
  const date = now.toISOString().slice(0, 10).replaceAll('-', '');
  return date + String(randomInt(0, 10_000_000_000)).padStart(10, '0');
}

const TRANSFER_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

function validId(id: string): void {
  if (typeof id !== 'string' || !TRANSFER_ID.test(id)) {
    throw new DomainError('VALIDATION_FAILED', 'A transfer id is 1-128 letters, digits or . _ : - and starts with a letter or digit');
  }
}

function validAmount(amountMinor: bigint): void {
  if (typeof amountMinor !== 'bigint' || amountMinor <= 0n || amountMinor > MAX_AMOUNT_MINOR) {
    throw new DomainError('INVALID_AMOUNT', `A transfer amount must be between 1 and ${MAX_AMOUNT_MINOR} minor units`);
  }
}

function validTransfer(request: TransferRequest): TransferRequest {
  validId(request.id);
  validAmount(request.amountMinor);
  currencyCode(request.currency);
  oneOf(request.code, transferCodes, 'code');
  if (request.debitAccountId === request.creditAccountId) {
    throw new DomainError('SAME_ACCOUNT', 'Debit and credit account are the same');
  }
  const timeout = request.pending?.timeoutSeconds;
  if (timeout !== undefined && (!Number.isInteger(timeout) || timeout <= 0 || timeout > 366 * 86_400)) {
    throw new DomainError('VALIDATION_FAILED', 'timeoutSeconds must be a whole number of seconds up to a year');
  }
  if (request.reference !== undefined && request.reference.length > 128) {
    throw new DomainError('VALIDATION_FAILED', 'reference is at most 128 characters');
  }
  return request;
}

function oneOf<T extends string>(value: string, allowed: readonly T[], field: string): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new DomainError('VALIDATION_FAILED', `${field} must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

export type { AccountId };
