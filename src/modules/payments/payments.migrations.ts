import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * The payment core (SPEC 8). Money lives in the ledger (transfers keyed on the
 * pay order number); these tables hold the orders, each try at a channel
 * (written before the call), the cards, the coupons, the channel
 * configuration with its circuit breaker, and every routing decision.
 */
const m001: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`
      create table payment_orders (
        pay_order_no text primary key,
        business_type text not null,
        business_order_no text not null,
        user_id text not null,
        description text not null,
        amount_minor int8 not null check (amount_minor > 0),
        discount_minor int8 not null default 0 check (discount_minor >= 0),
        payable_minor int8 not null check (payable_minor > 0 and payable_minor + discount_minor = amount_minor),
        currency text not null,
        credit_account_id text not null,
        transfer_code text not null,
        method text check (method in ('QUICK_PAY', 'DIRECT_DEBIT')),
        status text not null check (status in ('DOING', 'SUCCESS', 'FAIL')),
        step text not null check (step in ('CREATED', 'SMS_SENT', 'CONFIRMING', 'UNKNOWN_OUTCOME', 'DONE')),
        sms_sent_by text check (sms_sent_by in ('CHANNEL', 'COFFER')),
        card_id text,
        coupon_id text,
        channel_code text,
        sms_attempt_no text,
        sms_challenge_id text,
        mobile_masked text,
        error_code text,
        error_message text,
        expires_at timestamptz not null,
        lease_until timestamptz,
        created_at timestamptz not null,
        updated_at timestamptz not null,
        unique (business_type, business_order_no),
        check ((status = 'DOING') = (step <> 'DONE'))
      )`.execute(db);
    await sql`create index payment_orders_user on payment_orders (user_id, pay_order_no)`.execute(db);
    await sql`create index payment_orders_status on payment_orders (status, pay_order_no)`.execute(db);
    await sql`create index payment_orders_expiry on payment_orders (expires_at) where step in ('CREATED', 'SMS_SENT')`.execute(db);
    await sql`create index payment_orders_in_flight on payment_orders (lease_until) where step in ('CONFIRMING', 'UNKNOWN_OUTCOME')`.execute(db);

    await sql`
      create table payment_attempts (
        attempt_no text primary key,
        pay_order_no text not null references payment_orders (pay_order_no),
        channel_code text not null,
        operation text not null check (operation in ('SEND_SMS', 'CONFIRM', 'DEBIT')),
        status text not null check (status in ('SENDING', 'SMS_SENT', 'CALLING', 'SUCCESS', 'FAILED', 'UNKNOWN')),
        error_code text,
        error_message text,
        channel_ref text,
        created_at timestamptz not null,
        updated_at timestamptz not null
      )`.execute(db);
    await sql`create index payment_attempts_order on payment_attempts (pay_order_no, created_at)`.execute(db);

    await sql`
      create table payment_cards (
        id text primary key,
        user_id text not null,
        number_sealed text not null,
        last4 text not null,
        bank_code text not null,
        holder_name text not null,
        mobile text not null,
        deleted_at timestamptz,
        created_at timestamptz not null
      )`.execute(db);
    await sql`create index payment_cards_user on payment_cards (user_id, id) where deleted_at is null`.execute(db);

    await sql`
      create table payment_coupons (
        id text primary key,
        user_id text not null,
        amount_off_minor int8 not null check (amount_off_minor > 0),
        min_spend_minor int8 not null check (min_spend_minor >= 0),
        currency text not null,
        expires_at timestamptz not null,
        status text not null check (status in ('AVAILABLE', 'LOCKED', 'USED')),
        pay_order_no text,
        locked_until timestamptz,
        issued_by text not null,
        created_at timestamptz not null,
        updated_at timestamptz not null,
        check ((status = 'AVAILABLE') = (pay_order_no is null))
      )`.execute(db);
    await sql`create index payment_coupons_user on payment_coupons (user_id, id)`.execute(db);
    // One coupon per payment, ever: a second coupon can neither be locked nor used for the same order.
    await sql`create unique index payment_coupons_one_per_order on payment_coupons (pay_order_no) where status in ('LOCKED', 'USED')`.execute(db);
    await sql`create index payment_coupons_lock_due on payment_coupons (locked_until) where status = 'LOCKED'`.execute(db);

    await sql`
      create table payment_channels (
        code text primary key,
        kind text not null check (kind in ('QUICK_PAY', 'DIRECT_DEBIT')),
        provider text not null,
        methods jsonb not null,
        banks jsonb,
        currencies jsonb not null,
        min_amount_minor int8 not null check (min_amount_minor > 0),
        max_amount_minor int8 not null check (max_amount_minor >= min_amount_minor),
        priority int4 not null,
        weight int4 not null check (weight >= 0),
        enabled boolean not null,
        version int4 not null,
        updated_at timestamptz not null
      )`.execute(db);
    await sql`
      create table payment_circuits (
        channel_code text primary key references payment_channels (code),
        state text not null check (state in ('CLOSED', 'OPEN', 'HALF_OPEN')),
        failures int4 not null,
        window_started_at timestamptz,
        opened_at timestamptz,
        retry_at timestamptz,
        trial_until timestamptz
      )`.execute(db);
    // The simulator's channels (src/protocol/payment-channel.ts). Quick pay takes the three
    // euro-area / dollar / yuan card currencies; direct debit yuan and dollars only.
    await sql`
      insert into payment_channels (code, kind, provider, methods, banks, currencies, min_amount_minor, max_amount_minor, priority, weight, enabled, version, updated_at)
      values
        ('QP_ALPHA', 'QUICK_PAY', 'Alpha Payments', '["QUICK_PAY"]', null, '["CNY","USD","EUR"]', 1, 5000000, 10, 70, true, 1, now()),
        ('QP_BETA', 'QUICK_PAY', 'Beta Pay', '["QUICK_PAY"]', null, '["CNY","USD","EUR"]', 1, 2000000, 10, 30, true, 1, now()),
        ('DD_GAMMA', 'DIRECT_DEBIT', 'Gamma Clearing', '["DIRECT_DEBIT"]', null, '["CNY","USD"]', 1, 10000000, 10, 100, true, 1, now())`.execute(db);
    await sql`insert into payment_circuits (channel_code, state, failures) select code, 'CLOSED', 0 from payment_channels`.execute(db);

    await sql`
      create table payment_routing_decisions (
        id text primary key,
        pay_order_no text not null,
        method text not null,
        step text not null,
        candidates jsonb not null,
        route jsonb not null,
        chosen text,
        rule text not null,
        created_at timestamptz not null
      )`.execute(db);
    await sql`create index payment_routing_decisions_order on payment_routing_decisions (pay_order_no, id)`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    for (const table of ['payment_routing_decisions', 'payment_circuits', 'payment_channels', 'payment_coupons', 'payment_cards', 'payment_attempts', 'payment_orders']) {
      await sql`drop table ${sql.table(table)}`.execute(db);
    }
  },
};

/** The settlement check reads each day's final items by the time they became final. */
const finalDay: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`create index payment_attempts_final_day on payment_attempts (updated_at) where status in ('SUCCESS', 'FAILED')`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`drop index payment_attempts_final_day`.execute(db);
  },
};

export const paymentsMigrations: Record<string, Migration> = {
  '2026_12_04_0100_payments': m001,
  '2026_12_05_0802_payment_attempts_final_day': finalDay,
};
