import { type Kysely, sql } from 'kysely';
import type { AccountState, BatchPlan } from './ledger.plan.ts';
import type { Account, AccountId, AccountStatus, Entry, Transfer } from './ledger.types.ts';

/** SQL only. Every statement here runs the same on PGlite and a PostgreSQL server. */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Executor = Kysely<any>;

const accountColumns = sql`
  id, account_no as "accountNo", owner_kind as "ownerKind", owner_id as "ownerId", type, currency, status,
  no_overdraft as "noOverdraft", posted_debits as "postedDebits", posted_credits as "postedCredits",
  pending_debits as "pendingDebits", pending_credits as "pendingCredits",
  created_at as "createdAt", updated_at as "updatedAt"`;

const transferColumns = sql`
  id, kind, debit_account_id as "debitAccountId", credit_account_id as "creditAccountId",
  amount as "amountMinor", currency, code, reference, metadata, pending_id as "pendingId",
  timeout_at as "timeoutAt", state, posted_amount as "postedAmountMinor", linked_id as "linkedId",
  created_at as "createdAt"`;

export async function insertAccount(db: Executor, account: Account): Promise<void> {
  await sql`
    insert into ledger_accounts (id, account_no, owner_kind, owner_id, type, currency, status, no_overdraft, created_at, updated_at)
    values (${account.id}, ${account.accountNo}, ${account.ownerKind}, ${account.ownerId}, ${account.type},
            ${account.currency}, ${account.status}, ${account.noOverdraft}, ${account.createdAt}, ${account.updatedAt})`.execute(db);
}

export async function findAccount(db: Executor, id: string): Promise<Account | undefined> {
  const { rows } = await sql<Account>`select ${accountColumns} from ledger_accounts where id = ${id}`.execute(db);
  return rows[0];
}

export async function findAccountByNo(db: Executor, accountNo: string): Promise<Account | undefined> {
  const { rows } = await sql<Account>`select ${accountColumns} from ledger_accounts where account_no = ${accountNo}`.execute(db);
  return rows[0];
}

export async function findAccountsOfOwner(db: Executor, ownerKind: string, ownerId: string): Promise<Account[]> {
  const { rows } = await sql<Account>`
    select ${accountColumns} from ledger_accounts where owner_kind = ${ownerKind} and owner_id = ${ownerId}
    order by created_at, id`.execute(db);
  return rows;
}

export async function findAccountByOwner(
  db: Executor,
  owner: { ownerKind: string; ownerId: string; type: string; currency: string },
): Promise<Account | undefined> {
  const { rows } = await sql<Account>`
    select ${accountColumns} from ledger_accounts
    where owner_kind = ${owner.ownerKind} and owner_id = ${owner.ownerId} and type = ${owner.type} and currency = ${owner.currency}`.execute(db);
  return rows[0];
}

export async function updateAccountStatus(db: Executor, id: string, status: AccountStatus, now: Date): Promise<Account | undefined> {
  const { rows } = await sql<Account>`
    update ledger_accounts set status = ${status}, updated_at = ${now} where id = ${id}
    returning ${accountColumns}`.execute(db);
  return rows[0];
}

export async function readTransfers(db: Executor, ids: string[]): Promise<Map<string, Transfer>> {
  if (ids.length === 0) return new Map();
  const { rows } = await sql<Transfer>`select ${transferColumns} from ledger_transfers where id = any(${ids}::text[])`.execute(db);
  return new Map(rows.map((row) => [row.id, row]));
}

/** A plain read: the write function re-checks under lock whatever the plan relied on. */
export async function readAccounts(db: Executor, ids: string[]): Promise<Map<string, AccountState>> {
  const { rows } = await sql<AccountState>`
    select id, currency, status, no_overdraft as "noOverdraft", posted_debits as "postedDebits",
           posted_credits as "postedCredits", pending_debits as "pendingDebits", pending_credits as "pendingCredits"
    from ledger_accounts where id = any(${ids}::text[])`.execute(db);
  return new Map(rows.map((row) => [row.id, row]));
}

/** Writes a planned batch in one statement (see ledger_write_batch in the migration). */
export async function writeBatch(db: Executor, plan: BatchPlan, now: Date): Promise<void> {
  const t = plan.newTransfers;
  const p = plan.pendingUpdates;
  const e = plan.entries;
  const a = plan.accountDeltas;
  await sql`select ledger_write_batch(
    ${t.map((x) => x.id)}::text[], ${t.map((x) => x.kind)}::text[], ${t.map((x) => x.debitAccountId)}::text[],
    ${t.map((x) => x.creditAccountId)}::text[], ${t.map((x) => x.amountMinor)}::int8[], ${t.map((x) => x.currency)}::text[],
    ${t.map((x) => x.code)}::text[], ${t.map((x) => x.reference)}::text[],
    ${t.map((x) => (x.metadata ? JSON.stringify(x.metadata) : null))}::text[], ${t.map((x) => x.pendingId)}::text[],
    ${t.map((x) => x.timeoutAt?.toISOString() ?? null)}::timestamptz[], ${t.map((x) => x.state)}::text[],
    ${t.map((x) => x.postedAmountMinor)}::int8[], ${t.map((x) => x.linkedId)}::text[],
    ${p.map((x) => x.id)}::text[], ${p.map((x) => x.state)}::text[], ${p.map((x) => x.postedAmount)}::int8[],
    ${e.map((x) => x.accountId)}::text[], ${e.map((x) => x.transferId)}::text[], ${e.map((x) => x.direction)}::text[],
    ${e.map((x) => x.amount)}::int8[], ${e.map((x) => x.code)}::text[], ${e.map((x) => x.currency)}::text[],
    ${a.map((x) => x.id)}::text[], ${a.map((x) => x.expectedStatus)}::text[], ${a.map((x) => x.postedDebits)}::int8[],
    ${a.map((x) => x.postedCredits)}::int8[], ${a.map((x) => x.pendingDebits)}::int8[], ${a.map((x) => x.pendingCredits)}::int8[],
    ${a.map((x) => x.entries)}::int8[], ${a.map((x) => x.availableNeeded)}::int8[],
    ${now.toISOString()}::timestamptz)`.execute(db);
}

export interface EntryQuery {
  accountId: string;
  limit: number;
  /** Entries older than this sequence number (the cursor of the previous page). */
  beforeSeq?: bigint;
  from?: Date;
  to?: Date;
}

/** Newest first, as a bill reads. */
export async function listEntries(db: Executor, query: EntryQuery): Promise<Entry[]> {
  const { rows } = await sql<Entry>`
    select account_id as "accountId", seq, transfer_id as "transferId", direction, amount as "amountMinor",
           balance_before as "balanceBeforeMinor", balance_after as "balanceAfterMinor", code, currency, created_at as "createdAt"
    from ledger_entries
    where account_id = ${query.accountId}
      ${query.beforeSeq !== undefined ? sql`and seq < ${query.beforeSeq}` : sql``}
      ${query.from ? sql`and created_at >= ${query.from}` : sql``}
      ${query.to ? sql`and created_at < ${query.to}` : sql``}
    order by seq desc
    limit ${query.limit}`.execute(db);
  return rows;
}

/** The entries the given transfers made on the given accounts, oldest first (an order's detail). */
export async function entriesOfTransfers(db: Executor, transferIds: string[], accountIds: string[]): Promise<Entry[]> {
  if (transferIds.length === 0 || accountIds.length === 0) return [];
  const { rows } = await sql<Entry>`
    select account_id as "accountId", seq, transfer_id as "transferId", direction, amount as "amountMinor",
           balance_before as "balanceBeforeMinor", balance_after as "balanceAfterMinor", code, currency, created_at as "createdAt"
    from ledger_entries
    where transfer_id = any(${transferIds}::text[]) and account_id = any(${accountIds}::text[])
    order by created_at, seq`.execute(db);
  return rows;
}

export async function findTransfer(db: Executor, id: string): Promise<Transfer | undefined> {
  return (await readTransfers(db, [id])).get(id);
}

/** Every transfer naming one of these business references, oldest first. */
export async function transfersByReference(db: Executor, references: string[]): Promise<Transfer[]> {
  if (references.length === 0) return [];
  const { rows } = await sql<Transfer>`
    select ${transferColumns} from ledger_transfers where reference = any(${references}::text[]) order by created_at, id`.execute(db);
  return rows;
}

export async function openPendingTransfers(
  db: Executor,
  filter: { code: string; createdBefore: Date; limit: number; after?: { createdAt: Date; id: string } | undefined },
): Promise<Transfer[]> {
  const after = filter.after;
  const { rows } = await sql<Transfer>`
    select ${transferColumns} from ledger_transfers
    where state = 'PENDING' and code = ${filter.code} and created_at < ${filter.createdBefore}
      ${after ? sql`and (created_at, id) > (${after.createdAt}::timestamptz, ${after.id}::text)` : sql``}
    order by created_at, id limit ${filter.limit}`.execute(db);
  return rows;
}

export async function duePendingIds(db: Executor, now: Date, limit: number): Promise<string[]> {
  const { rows } = await sql<{ id: string }>`
    select id from ledger_transfers where state = 'PENDING' and timeout_at <= ${now} order by timeout_at limit ${limit}`.execute(db);
  return rows.map((row) => row.id);
}
