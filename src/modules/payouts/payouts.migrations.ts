import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Single payouts (SPEC 5). Money lives in the ledger (holds keyed on the
 * payout id); this table is what the merchant asked for, where it stands, and
 * the work queue of the dispatch and query jobs (next_dispatch_at,
 * next_query_at, claimed with FOR UPDATE SKIP LOCKED).
 */
const m001: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`
      create table payouts (
        id text primary key,
        merchant_id text not null,
        merchant_order_no text not null,
        amount_minor int8 not null check (amount_minor > 0),
        fee_minor int8 not null check (fee_minor >= 0),
        currency text not null,
        beneficiary_name text not null,
        beneficiary_account_no text not null,
        beneficiary_bank_code text not null,
        remark text,
        status text not null check (status in ('ACCEPTED', 'PROCESSING', 'SUCCEEDED', 'FAILED', 'REVERSED')),
        risk_decision_id text not null,
        risk_level text not null,
        review_pending boolean not null default false,
        settlement_account_id text not null,
        error_code text,
        error_message text,
        channel_ref text,
        next_dispatch_at timestamptz,
        dispatch_attempts int4 not null default 0,
        next_query_at timestamptz,
        query_attempts int4 not null default 0,
        created_at timestamptz not null,
        updated_at timestamptz not null,
        unique (merchant_id, merchant_order_no)
      )`.execute(db);
    await sql`create index payouts_merchant on payouts (merchant_id, id)`.execute(db);
    await sql`create index payouts_decision on payouts (risk_decision_id)`.execute(db);
    await sql`create index payouts_dispatch_due on payouts (next_dispatch_at) where status = 'ACCEPTED' and not review_pending`.execute(db);
    await sql`create index payouts_query_due on payouts (next_query_at) where status = 'PROCESSING'`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`drop table payouts`.execute(db);
  },
};

/**
 * The dispatch lease on its own column, on the database's clock: the send
 * schedule (next_dispatch_at) follows the business clock, which sandbox mode
 * moves, while a lease other processes read must not depend on their clocks
 * agreeing.
 */
const m002: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`alter table payouts add column dispatch_leased_until timestamptz`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`alter table payouts drop column dispatch_leased_until`.execute(db);
  },
};

/** The settlement check reads each day's final items by the time they became final. */
const finalDay: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`create index payouts_final_day on payouts (updated_at) where status in ('SUCCEEDED', 'FAILED', 'REVERSED')`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`drop index payouts_final_day`.execute(db);
  },
};

/** SUCCEEDED payouts are queried too, for a while after their success (a reversal the bank could not notify). */
const reversalWatch: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`drop index payouts_query_due`.execute(db);
    await sql`create index payouts_query_due on payouts (next_query_at) where status in ('PROCESSING', 'SUCCEEDED')`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`drop index payouts_query_due`.execute(db);
    await sql`create index payouts_query_due on payouts (next_query_at) where status = 'PROCESSING'`.execute(db);
  },
};

export const payoutsMigrations: Record<string, Migration> = {
  '2026_11_22_0750_payouts': m001,
  '2026_12_04_0500_payouts_dispatch_lease': m002,
  '2026_12_05_0801_payouts_final_day': finalDay,
  '2026_12_06_0100_payouts_reversal_watch': reversalWatch,
};
