import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Balances are kept as four running totals per account (as TigerBeetle does):
 * balance = posted_credits - posted_debits, available = balance - pending_debits.
 * The check constraints repeat the engine's rules so a bug cannot write bad books.
 */
const m001: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`
      create table ledger_accounts (
        id text primary key,
        account_no text not null unique,
        owner_kind text not null check (owner_kind in ('USER', 'MERCHANT', 'PLATFORM')),
        owner_id text not null,
        type text not null,
        currency text not null,
        status text not null default 'ACTIVE' check (status in ('ACTIVE', 'FROZEN', 'CLOSED')),
        no_overdraft boolean not null,
        posted_debits int8 not null default 0 check (posted_debits >= 0),
        posted_credits int8 not null default 0 check (posted_credits >= 0),
        pending_debits int8 not null default 0 check (pending_debits >= 0),
        pending_credits int8 not null default 0 check (pending_credits >= 0),
        entry_seq int8 not null default 0,
        created_at timestamptz not null,
        updated_at timestamptz not null,
        unique (owner_kind, owner_id, type, currency),
        check (not no_overdraft or posted_debits + pending_debits <= posted_credits)
      )`.execute(db);
    await sql`
      create table ledger_transfers (
        id text primary key,
        kind text not null check (kind in ('POSTED', 'PENDING', 'POST_PENDING', 'VOID_PENDING')),
        debit_account_id text not null references ledger_accounts (id),
        credit_account_id text not null references ledger_accounts (id),
        amount int8 not null check (amount >= 0),
        currency text not null,
        code text not null,
        reference text,
        metadata jsonb,
        pending_id text references ledger_transfers (id),
        timeout_at timestamptz,
        state text not null check (state in ('POSTED', 'PENDING', 'VOIDED', 'EXPIRED')),
        posted_amount int8,
        linked_id text,
        created_at timestamptz not null,
        check (debit_account_id <> credit_account_id)
      )`.execute(db);
    await sql`create index ledger_transfers_open_pending on ledger_transfers (timeout_at) where state = 'PENDING'`.execute(db);
    await sql`create index ledger_transfers_reference on ledger_transfers (reference) where reference is not null`.execute(db);
    await sql`
      create table ledger_entries (
        account_id text not null references ledger_accounts (id),
        seq int8 not null,
        transfer_id text not null references ledger_transfers (id),
        direction text not null check (direction in ('DEBIT', 'CREDIT')),
        amount int8 not null check (amount > 0),
        balance_before int8 not null,
        balance_after int8 not null,
        code text not null,
        currency text not null,
        created_at timestamptz not null,
        primary key (account_id, seq)
      )`.execute(db);
    await sql`create index ledger_entries_account_time on ledger_entries (account_id, created_at)`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`drop table ledger_entries, ledger_transfers, ledger_accounts`.execute(db);
  },
};

export const ledgerMigrations: Record<string, Migration> = {
  '2026_11_22_0100_ledger': m001,
};
