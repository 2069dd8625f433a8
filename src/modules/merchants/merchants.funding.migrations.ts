import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Incoming bank transfers (funding by wire): one row per bank transfer number
 * (the primary key: a duplicate notification finds the first row), where the
 * money went (a merchant's settlement account, or suspense when the payee
 * account named none), the signed text it was believed from, and when its
 * ledger transfer was posted.
 */
const f001: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`
      create table merchant_transfers_in (
        transfer_no text primary key,
        status text not null check (status in ('CREDITED', 'UNMATCHED')),
        merchant_id text,
        payee_account_no text not null,
        account_id text not null,
        amount_minor int8 not null check (amount_minor > 0),
        currency text not null,
        payer_name text not null,
        bank_timestamp text not null,
        ledger_transfer_id text not null unique,
        req_data text not null,
        created_at timestamptz not null,
        posted_at timestamptz,
        check ((status = 'CREDITED') = (merchant_id is not null))
      )`.execute(db);
    await sql`create index merchant_transfers_in_status on merchant_transfers_in (status, created_at desc, transfer_no desc)`.execute(db);
    await sql`create index merchant_transfers_in_merchant on merchant_transfers_in (merchant_id, created_at desc) where merchant_id is not null`.execute(db);
  },
};

export const fundingMigrations: Record<string, Migration> = {
  '2026_12_03_1400_002_merchant_transfers_in': f001,
};
