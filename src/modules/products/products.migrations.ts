import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Savings products and subscriptions (SPEC 7). Money lives in the ledger (the
 * user's PRODUCT_HOLDING account); these tables say what was bought and where
 * it stands. The product row is the one place the raise cap is enforced: every
 * reservation is a single guarded UPDATE, and the check constraint is the
 * database's own word that raised + reserved never exceeds the total.
 */
const m001: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`
      create table products (
        id text primary key,
        code text not null unique,
        name text not null,
        currency text not null,
        rate_ppm int4 not null check (rate_ppm > 0 and rate_ppm <= 1000000),
        term_days int4 not null check (term_days > 0),
        min_amount_minor int8 not null check (min_amount_minor > 0),
        step_amount_minor int8 not null check (step_amount_minor > 0),
        total_amount_minor int8 not null check (total_amount_minor > 0),
        raised_minor int8 not null default 0 check (raised_minor >= 0),
        reserved_minor int8 not null default 0 check (reserved_minor >= 0),
        day_count text not null check (day_count in ('ACT/365', 'ACT/360')),
        acceptor_bank text,
        sale_start timestamptz,
        sale_end timestamptz,
        on_shelf boolean not null default false,
        status text not null check (status in ('PRESALE', 'ON_SALE', 'SOLD_OUT', 'ENDED')),
        version int4 not null default 1,
        created_at timestamptz not null,
        updated_at timestamptz not null,
        check (raised_minor + reserved_minor <= total_amount_minor)
      )`.execute(db);
    await sql`create index products_shelf on products (on_shelf, id)`.execute(db);
    await sql`
      create table product_subscriptions (
        id text primary key,
        user_id text not null,
        product_id text not null references products (id),
        product_code text not null,
        product_name text not null,
        amount_minor int8 not null check (amount_minor > 0),
        currency text not null,
        rate_ppm int4 not null,
        term_days int4 not null,
        day_count text not null,
        interest_minor int8 not null check (interest_minor >= 0),
        value_date date not null,
        maturity_date date not null,
        status text not null check (status in ('AWAITING_PAYMENT', 'PAID', 'VALUE', 'MATURED', 'SETTLED', 'CANCELLED')),
        pay_with text not null check (pay_with in ('WALLET', 'CARD')),
        pay_order_no text unique,
        wallet_account_id text not null,
        holding_account_id text not null,
        expires_at timestamptz,
        error_code text,
        claimed_until timestamptz,
        created_at timestamptz not null,
        paid_at timestamptz,
        settled_at timestamptz,
        updated_at timestamptz not null
      )`.execute(db);
    await sql`create index product_subscriptions_user on product_subscriptions (user_id, id)`.execute(db);
    await sql`create index product_subscriptions_unpaid on product_subscriptions (expires_at) where status = 'AWAITING_PAYMENT'`.execute(db);
    await sql`create index product_subscriptions_unsettled on product_subscriptions (maturity_date) where status in ('PAID', 'VALUE', 'MATURED')`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`drop table product_subscriptions`.execute(db);
    await sql`drop table products`.execute(db);
  },
};

/**
 * A subscription remembers the Idempotency-Key it was made under: a retry that
 * takes over the key after the first process died mid-way finds that order
 * and finishes it, instead of making (and paying for) a second one.
 */
const clientKey: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`alter table product_subscriptions add column client_key text`.execute(db);
    await sql`create unique index product_subscriptions_client_key on product_subscriptions (user_id, client_key) where client_key is not null`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`drop index product_subscriptions_client_key`.execute(db);
    await sql`alter table product_subscriptions drop column client_key`.execute(db);
  },
};

export const productsMigrations: Record<string, Migration> = {
  '2026_12_04_0200_products': m001,
  '2026_12_06_0200_products_client_key': clientKey,
};
