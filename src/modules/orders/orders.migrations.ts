import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Transaction orders (seed 002). (type, serial_no) is unique: the module that
 * carries a request out opens its order once, in its own transaction.
 */
const m001: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`
      create table transaction_orders (
        id text primary key,
        user_id text not null,
        currency text not null,
        amount_minor int8 not null check (amount_minor > 0),
        type text not null check (type in ('RECHARGE_BANK', 'RECHARGE_CARD', 'WITHDRAW', 'PURCHASE')),
        serial_no text not null,
        status text not null check (status in ('PENDING', 'SUCCEEDED', 'FAILED')),
        error_code text,
        account_id text,
        transfer_ids jsonb not null,
        transacted_at timestamptz,
        created_at timestamptz not null,
        updated_at timestamptz not null,
        unique (type, serial_no),
        check ((status = 'PENDING') = (transacted_at is null))
      )`.execute(db);
    await sql`create index transaction_orders_user on transaction_orders (user_id, id)`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`drop table transaction_orders`.execute(db);
  },
};

/**
 * An order keeps the Idempotency-Key of the request that opened it (unique per
 * user): a retry that takes the key over from a process that died after its
 * commit, before its answer was stored, finds the order instead of opening a second.
 */
const m002: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`alter table transaction_orders add column client_key text`.execute(db);
    await sql`create unique index transaction_orders_client_key on transaction_orders (user_id, client_key) where client_key is not null`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`drop index transaction_orders_client_key`.execute(db);
    await sql`alter table transaction_orders drop column client_key`.execute(db);
  },
};

export const ordersMigrations: Record<string, Migration> = {
  '2026_12_05_0700_transaction_orders': m001,
  '2026_12_07_0100_transaction_orders_client_key': m002,
};
