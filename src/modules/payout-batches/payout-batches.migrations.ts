import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Batch payouts (SPEC 5). A batch and its rows; each row becomes one payout
 * (through the payouts module) after a checker approves. The rows are also the
 * release job's work queue (PENDING rows of APPROVED batches, claimed with
 * FOR UPDATE SKIP LOCKED and a lease).
 */
const m001: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`
      create table payout_batches (
        id text primary key,
        merchant_id text not null,
        status text not null check (status in ('AWAITING_APPROVAL', 'APPROVED', 'PROCESSING', 'PROCESSED', 'REJECTED')),
        currency text not null,
        row_count int4 not null,
        total_minor int8 not null,
        created_by_kind text not null check (created_by_kind in ('apiKey', 'operator')),
        created_by_id text not null,
        decided_by_kind text check (decided_by_kind in ('apiKey', 'operator')),
        decided_by_id text,
        decided_at timestamptz,
        reject_reason text,
        processed_at timestamptz,
        created_at timestamptz not null,
        updated_at timestamptz not null
      )`.execute(db);
    await sql`create index payout_batches_merchant on payout_batches (merchant_id, id)`.execute(db);
    await sql`create index payout_batches_approved on payout_batches (id) where status = 'APPROVED'`.execute(db);
    await sql`
      create table payout_batch_rows (
        batch_id text not null references payout_batches (id),
        line int4 not null,
        merchant_id text not null,
        merchant_order_no text not null,
        amount_minor int8 not null check (amount_minor > 0),
        currency text not null,
        beneficiary_name text not null,
        beneficiary_account_no text not null,
        beneficiary_bank_code text not null,
        remark text,
        status text not null check (status in ('PENDING', 'ACCEPTED', 'SUCCEEDED', 'FAILED', 'REVERSED', 'CANCELLED')),
        holds_order_no boolean not null default true,
        payout_id text,
        fee_minor int8,
        error_code text,
        error_message text,
        attempts int4 not null default 0,
        first_attempt_at timestamptz,
        lease_until timestamptz,
        updated_at timestamptz not null,
        primary key (batch_id, line),
        check (status in ('PENDING', 'CANCELLED') or (status = 'FAILED' and payout_id is null) or payout_id is not null)
      )`.execute(db);
    // The order number of a live row is the merchant's: no other row (this batch or another) may take it.
    await sql`create unique index payout_batch_rows_order_no on payout_batch_rows (merchant_id, merchant_order_no) where holds_order_no`.execute(db);
    await sql`create unique index payout_batch_rows_payout on payout_batch_rows (payout_id) where payout_id is not null`.execute(db);
    await sql`create index payout_batch_rows_pending on payout_batch_rows (batch_id, line) where status = 'PENDING'`.execute(db);
    await sql`create index payout_batch_rows_open on payout_batch_rows (batch_id) where status in ('PENDING', 'ACCEPTED')`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`drop table payout_batch_rows`.execute(db);
    await sql`drop table payout_batches`.execute(db);
  },
};

/**
 * A batch remembers the Idempotency-Key it was uploaded under: a retry after
 * the upload committed but its answer was lost (the process died before the
 * key stored it) gets that batch, not a 422 for its own order numbers.
 */
const clientKey: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`alter table payout_batches add column client_key text`.execute(db);
    await sql`create unique index payout_batches_client_key on payout_batches (merchant_id, client_key) where client_key is not null`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`drop index payout_batches_client_key`.execute(db);
    await sql`alter table payout_batches drop column client_key`.execute(db);
  },
};

export const payoutBatchesMigrations: Record<string, Migration> = {
  '2026_12_03_1300_payout_batches': m001,
  '2026_12_06_0300_payout_batches_client_key': clientKey,
};
