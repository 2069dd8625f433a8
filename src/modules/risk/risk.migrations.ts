import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Risk control (SPEC 6).
 *
 * - risk_rules: the stored rules an admin edits. Typed columns per parameter
 *   (checked per rule type) rather than a JSON blob, so a bad rule cannot be
 *   stored at all. `version` grows with each edit (optimistic concurrency).
 * - risk_blacklist: entries that reject at once. Removal is a soft delete (who,
 *   when) so the history stays; one active entry per (kind, value).
 * - risk_subjects: one row per subject; assess upserts it first, which locks it
 *   until the transaction ends, so two assessments of one subject run one
 *   after the other and the second sees the first's decision (no slipping two
 *   requests under a daily limit together).
 * - risk_decisions: every decision with the inputs (numbers masked) and a
 *   snapshot of the rules that fired. The daily and velocity figures are
 *   computed from this table only: counted = level <> 'REJECT' and not released.
 */
const m001: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`
      create table risk_rules (
        id text primary key,
        name text not null check (length(name) between 1 and 100),
        type text not null check (type in ('AMOUNT_THRESHOLD', 'DAILY_AMOUNT', 'DAILY_COUNT', 'VELOCITY', 'NEW_BENEFICIARY')),
        flows text[] not null check (cardinality(flows) > 0 and flows <@ array['WITHDRAW', 'PAYOUT']::text[]),
        level text not null check (level in ('MEDIUM', 'HIGH', 'REJECT')),
        enabled boolean not null default true,
        threshold_minor int8 check (threshold_minor > 0),
        currency text,
        count int4 check (count > 0),
        window_minutes int4 check (window_minutes > 0),
        version int4 not null default 1 check (version > 0),
        created_at timestamptz not null,
        updated_at timestamptz not null,
        updated_by text not null,
        check ((type in ('AMOUNT_THRESHOLD', 'DAILY_AMOUNT')) = (threshold_minor is not null and currency is not null)),
        check ((type in ('AMOUNT_THRESHOLD', 'DAILY_AMOUNT')) or (threshold_minor is null and currency is null)),
        check ((type in ('DAILY_COUNT', 'VELOCITY')) = (count is not null)),
        check ((type = 'VELOCITY') = (window_minutes is not null))
      )`.execute(db);

    // Who changed which rule how: one row per create, edit and delete, with the rule as it then was.
    await sql`
      create table risk_rule_changes (
        id text primary key,
        rule_id text not null,
        version int4 not null,
        action text not null check (action in ('CREATED', 'UPDATED', 'DELETED')),
        actor text not null,
        rule jsonb not null,
        created_at timestamptz not null
      )`.execute(db);
    await sql`create index risk_rule_changes_rule on risk_rule_changes (rule_id, id)`.execute(db);

    await sql`
      create table risk_blacklist (
        id text primary key,
        kind text not null check (kind in ('USER', 'MERCHANT', 'ID_NUMBER', 'CARD', 'BENEFICIARY_ACCOUNT')),
        value text not null,
        reason text not null,
        created_by text not null,
        created_at timestamptz not null,
        removed_by text,
        removed_at timestamptz,
        check ((removed_at is null) = (removed_by is null))
      )`.execute(db);
    await sql`create unique index risk_blacklist_active on risk_blacklist (kind, value) where removed_at is null`.execute(db);

    await sql`
      create table risk_subjects (
        subject_kind text not null,
        subject_id text not null,
        assessments int8 not null,
        last_assessed_at timestamptz not null,
        primary key (subject_kind, subject_id)
      )`.execute(db);

    await sql`
      create table risk_decisions (
        id text primary key,
        flow text not null check (flow in ('WITHDRAW', 'PAYOUT')),
        subject_kind text not null check (subject_kind in ('USER', 'MERCHANT')),
        subject_id text not null,
        amount_minor int8 not null check (amount_minor > 0),
        currency text not null,
        reference text not null,
        level text not null check (level in ('LOW', 'MEDIUM', 'HIGH', 'REJECT')),
        fired_rules jsonb not null,
        verification jsonb not null,
        inputs jsonb not null,
        instrument_hash text,
        review_status text check (review_status in ('PENDING', 'APPROVED', 'REJECTED', 'CANCELLED')),
        reviewed_by text,
        review_note text,
        reviewed_at timestamptz,
        released_at timestamptz,
        created_at timestamptz not null,
        check ((level = 'HIGH') = (review_status is not null)),
        check ((review_status in ('APPROVED', 'REJECTED')) = (reviewed_at is not null)),
        check (level <> 'REJECT' or released_at is null)
      )`.execute(db);
    await sql`create index risk_decisions_subject on risk_decisions (subject_kind, subject_id, flow, created_at)`.execute(db);
    await sql`create index risk_decisions_subject_id on risk_decisions (subject_id, id)`.execute(db);
    await sql`create index risk_decisions_instrument on risk_decisions (subject_kind, subject_id, instrument_hash) where instrument_hash is not null`.execute(db);
    await sql`create index risk_decisions_reviews on risk_decisions (review_status, id) where review_status is not null`.execute(db);

    // Default rules (README "Default rules"): sensible starting points an admin edits or disables.
    const seeds: [string, string, string, string[], string, boolean, bigint | null, string | null, number | null, number | null][] = [
      ['rrl_seed_withdraw_medium', 'Withdrawal of 5,000.00 CNY or more', 'AMOUNT_THRESHOLD', ['WITHDRAW'], 'MEDIUM', true, 500_000n, 'CNY', null, null],
      ['rrl_seed_withdraw_high', 'Withdrawal of 50,000.00 CNY or more', 'AMOUNT_THRESHOLD', ['WITHDRAW'], 'HIGH', true, 5_000_000n, 'CNY', null, null],
      ['rrl_seed_withdraw_daily_amount', 'Withdrawals reaching 100,000.00 CNY in a day', 'DAILY_AMOUNT', ['WITHDRAW'], 'HIGH', true, 10_000_000n, 'CNY', null, null],
      ['rrl_seed_withdraw_daily_count', '10 or more withdrawals in a day', 'DAILY_COUNT', ['WITHDRAW'], 'MEDIUM', true, null, null, 10, null],
      ['rrl_seed_withdraw_velocity', '5 or more withdrawals within 10 minutes', 'VELOCITY', ['WITHDRAW'], 'HIGH', true, null, null, 5, 10],
      ['rrl_seed_payout_high', 'Payout of 1,000,000.00 CNY or more', 'AMOUNT_THRESHOLD', ['PAYOUT'], 'HIGH', true, 100_000_000n, 'CNY', null, null],
      ['rrl_seed_payout_daily_amount', 'Payouts reaching 10,000,000.00 CNY in a day (template, off)', 'DAILY_AMOUNT', ['PAYOUT'], 'HIGH', false, 1_000_000_000n, 'CNY', null, null],
      ['rrl_seed_new_beneficiary', 'First use of a card or beneficiary account (template, off)', 'NEW_BENEFICIARY', ['WITHDRAW', 'PAYOUT'], 'MEDIUM', false, null, null, null, null],
    ];
    for (const [id, name, type, ruleFlows, level, enabled, thresholdMinor, currency, count, windowMinutes] of seeds) {
      await sql`
        insert into risk_rules (id, name, type, flows, level, enabled, threshold_minor, currency, count, window_minutes, version, created_at, updated_at, updated_by)
        values (${id}, ${name}, ${type}, string_to_array(${ruleFlows.join(',')}, ','), ${level}, ${enabled},
          ${thresholdMinor === null ? null : thresholdMinor.toString()}::int8, ${currency}, ${count}::int4, ${windowMinutes}::int4, 1, now(), now(), 'seed')`.execute(db);
    }
    await sql`
      insert into risk_rule_changes (id, rule_id, version, action, actor, rule, created_at)
      select 'rrc_' || id, id, version, 'CREATED', 'seed',
        jsonb_strip_nulls(jsonb_build_object('id', id, 'name', name, 'type', type, 'flows', to_jsonb(flows), 'level', level,
          'enabled', enabled, 'version', version, 'updatedBy', updated_by, 'thresholdMinor', threshold_minor::text,
          'currency', currency, 'count', count, 'windowMinutes', window_minutes)),
        created_at
      from risk_rules`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`drop table risk_decisions, risk_subjects, risk_blacklist, risk_rule_changes, risk_rules`.execute(db);
  },
};

/** Decisions by their business reference: the decision of a request that died before it was saved is released by it. */
const m002: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`create index risk_decisions_reference on risk_decisions (flow, reference)`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`drop index risk_decisions_reference`.execute(db);
  },
};

export const riskMigrations: Record<string, Migration> = {
  '2026_11_22_0500_risk': m001,
  '2026_12_07_0200_risk_decisions_reference': m002,
};
