import { type Kysely, sql } from 'kysely';
import type { Payout, PayoutStatus } from './payouts.types.ts';

/** SQL only; the same statements run on PGlite and a PostgreSQL server. */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Executor = Kysely<any>;

const columns = sql`
  id, merchant_id as "merchantId", merchant_order_no as "merchantOrderNo", amount_minor as "amountMinor",
  fee_minor as "feeMinor", currency, beneficiary_name as "beneficiaryName", beneficiary_account_no as "beneficiaryAccountNo",
  beneficiary_bank_code as "beneficiaryBankCode", remark, status, risk_decision_id as "riskDecisionId",
  risk_level as "riskLevel", review_pending as "reviewPending", settlement_account_id as "settlementAccountId",
  error_code as "errorCode", error_message as "errorMessage", channel_ref as "channelRef",
  dispatch_attempts as "dispatchAttempts", query_attempts as "queryAttempts", created_at as "createdAt", updated_at as "updatedAt"`;

export type NewPayout = Omit<Payout, 'errorCode' | 'errorMessage' | 'channelRef' | 'dispatchAttempts' | 'queryAttempts'> & {
  nextDispatchAt: Date | null;
};

/**
 * Inserts several payouts in one statement. A payout whose (merchant,
 * merchantOrderNo) is taken — by a saved payout or one earlier in the list —
 * is left out (the unique constraint decides); answers the ids inserted.
 * `events` (outbox rows keyed on payout ids) are inserted by the same statement
 * for the payouts that were inserted, and only for them: one statement, so
 * atomic without a transaction and one round trip.
 */
export async function insertPayouts(
  db: Executor,
  ps: NewPayout[],
  events: { topic: string; key: string | null; payloadJson: string }[] = [],
): Promise<Set<string>> {
  const values = ps.map(
    (p) => sql`(${p.id}, ${p.merchantId}, ${p.merchantOrderNo}, ${p.amountMinor}::int8, ${p.feeMinor}::int8, ${p.currency}, ${p.beneficiaryName},
      ${p.beneficiaryAccountNo}, ${p.beneficiaryBankCode}, ${p.remark}, ${p.status}, ${p.riskDecisionId}, ${p.riskLevel},
      ${p.reviewPending}, ${p.settlementAccountId}, ${p.nextDispatchAt}::timestamptz, ${p.createdAt}::timestamptz, ${p.updatedAt}::timestamptz)`,
  );
  const insert = sql`
    insert into payouts (id, merchant_id, merchant_order_no, amount_minor, fee_minor, currency, beneficiary_name,
      beneficiary_account_no, beneficiary_bank_code, remark, status, risk_decision_id, risk_level, review_pending,
      settlement_account_id, next_dispatch_at, created_at, updated_at)
    values ${sql.join(values)}
    on conflict (merchant_id, merchant_order_no) do nothing
    returning id`;
  const { rows } =
    events.length === 0
      ? await sql<{ id: string }>`${insert}`.execute(db)
      : await sql<{ id: string }>`
          with saved as (${insert}),
          events as (
            insert into outbox_messages (topic, key, payload)
            select e.topic, e.key, e.payload::jsonb
            from unnest(${events.map((e) => e.topic)}::text[], ${events.map((e) => e.key)}::text[], ${events.map((e) => e.payloadJson)}::text[])
              with ordinality as e(topic, key, payload, n)
            where e.key in (select id from saved)
            order by e.n
            returning id)
          select id from saved`.execute(db);
  return new Set(rows.map((row) => row.id));
}

export async function findPayout(db: Executor, id: string): Promise<Payout | undefined> {
  const { rows } = await sql<Payout>`select ${columns} from payouts where id = ${id}`.execute(db);
  return rows[0];
}

export async function findPayoutIds(db: Executor, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const { rows } = await sql<{ id: string }>`select id from payouts where id = any(${ids}::text[])`.execute(db);
  return new Set(rows.map((r) => r.id));
}

export async function findPayouts(db: Executor, ids: string[]): Promise<Payout[]> {
  if (ids.length === 0) return [];
  const { rows } = await sql<Payout>`select ${columns} from payouts where id = any(${ids}::text[])`.execute(db);
  return rows;
}

/** Payouts whose latest final status (SUCCEEDED, FAILED, REVERSED) came in [from, to), by updated_at. */
export async function finalPayoutsBetween(db: Executor, from: Date, to: Date): Promise<Payout[]> {
  const { rows } = await sql<Payout>`
    select ${columns} from payouts
    where status in ('SUCCEEDED', 'FAILED', 'REVERSED') and updated_at >= ${from} and updated_at < ${to}
    order by id`.execute(db);
  return rows;
}

export async function findByOrderNo(db: Executor, merchantId: string, merchantOrderNo: string): Promise<Payout | undefined> {
  return (await findByOrderNos(db, [{ merchantId, merchantOrderNo }]))[0];
}

/** The payouts with any of these (merchant, merchantOrderNo) pairs, in one statement. */
export async function findByOrderNos(db: Executor, keys: { merchantId: string; merchantOrderNo: string }[]): Promise<Payout[]> {
  const { rows } = await sql<Payout>`
    select ${columns} from payouts
    where (merchant_id, merchant_order_no) in (
      select * from unnest(${keys.map((k) => k.merchantId)}::text[], ${keys.map((k) => k.merchantOrderNo)}::text[]))`.execute(db);
  return rows;
}

/** Which of `orderNos` the merchant's payouts have already, with the payout ids (batch uploads check a chunk at once). */
export async function findOrderNos(db: Executor, merchantId: string, orderNos: readonly string[]): Promise<Map<string, string>> {
  if (orderNos.length === 0) return new Map();
  const { rows } = await sql<{ merchantOrderNo: string; id: string }>`
    select merchant_order_no as "merchantOrderNo", id from payouts
    where merchant_id = ${merchantId} and merchant_order_no = any(${[...orderNos]}::text[])`.execute(db);
  return new Map(rows.map((r) => [r.merchantOrderNo, r.id]));
}

export async function findByDecision(db: Executor, decisionId: string): Promise<Payout | undefined> {
  const { rows } = await sql<Payout>`select ${columns} from payouts where risk_decision_id = ${decisionId}`.execute(db);
  return rows[0];
}

/** Newest first; `startingAfter` is the last id of the previous page (ids sort by creation time). */
export async function listPayouts(
  db: Executor,
  merchantId: string,
  filter: { status?: PayoutStatus | undefined; merchantOrderNo?: string | undefined; startingAfter?: string | undefined },
  limit: number,
): Promise<Payout[]> {
  const { rows } = await sql<Payout>`
    select ${columns} from payouts
    where merchant_id = ${merchantId}
      and (${filter.status ?? null}::text is null or status = ${filter.status ?? null})
      and (${filter.merchantOrderNo ?? null}::text is null or merchant_order_no = ${filter.merchantOrderNo ?? null})
      and (${filter.startingAfter ?? null}::text is null or id < ${filter.startingAfter ?? null})
    order by id desc
    limit ${limit}`.execute(db);
  return rows;
}

export interface Change {
  errorCode?: string | null;
  errorMessage?: string | null;
  channelRef?: string | null;
  nextQueryAt?: Date | null;
}

/**
 * The guarded transition: moves `from -> to` only if the payout is still in
 * `from`. Undefined = it was not (someone else moved it first).
 */
export async function transition(db: Executor, id: string, from: PayoutStatus, to: PayoutStatus, change: Change, now: Date): Promise<Payout | undefined> {
  const { rows } = await sql<Payout>`
    update payouts set status = ${to}, updated_at = ${now},
      error_code = coalesce(${change.errorCode ?? null}::text, error_code),
      error_message = coalesce(${change.errorMessage ?? null}::text, error_message),
      channel_ref = coalesce(${change.channelRef ?? null}::text, channel_ref),
      next_query_at = ${change.nextQueryAt ?? null},
      next_dispatch_at = null,
      review_pending = false
    where id = ${id} and status = ${from}
    returning ${columns}`.execute(db);
  return rows[0];
}

/** A reviewer approved a HIGH payout: it may be sent now. */
export async function approveReview(db: Executor, id: string, now: Date): Promise<Payout | undefined> {
  const { rows } = await sql<Payout>`
    update payouts set review_pending = false, next_dispatch_at = ${now}, updated_at = ${now}
    where id = ${id} and status = 'ACCEPTED' and review_pending
    returning ${columns}`.execute(db);
  return rows[0];
}

interface Backoff {
  now: Date;
  limit: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/**
 * Claims ACCEPTED payouts due to be sent, pushing each one's next send time
 * out (growing with its attempts) in the same statement: SKIP LOCKED keeps
 * concurrent processes off each other's rows, the pushed-out time keeps them
 * off afterwards (a lease: a process that dies mid-send is retried later).
 * The same delay also leases the payout (dispatch_leased_until) on the
 * database's clock, so a process whose clock runs ahead, which sees the send
 * time come early, still cannot take an order that may be on its way.
 */
export async function claimDispatch(db: Executor, b: Backoff): Promise<Payout[]> {
  const delay = sql`least(${b.maxDelayMs}::float8, ${b.baseDelayMs}::float8 * power(2, least(p.dispatch_attempts, 20))) * interval '1 millisecond'`;
  const { rows } = await sql<Payout>`
    update payouts p
    set next_dispatch_at = ${b.now}::timestamptz + ${delay},
        dispatch_leased_until = now() + ${delay},
        dispatch_attempts = p.dispatch_attempts + 1
    where p.id in (
      select id from payouts
      where status = 'ACCEPTED' and not review_pending and next_dispatch_at <= ${b.now}
        and (dispatch_leased_until is null or dispatch_leased_until <= now())
      order by next_dispatch_at
      limit ${b.limit}
      for update skip locked)
    and p.status = 'ACCEPTED' and not p.review_pending
    returning ${columns}`.execute(db);
  return rows;
}

interface QueryBackoff extends Backoff {
  /** How long after its success a SUCCEEDED payout is still queried, and its first query's delay. */
  watchMs: number;
  watchBaseMs: number;
}

/**
 * Claims payouts whose query time has come (same lease and backoff as `claimDispatch`): PROCESSING ones,
 * and SUCCEEDED ones still in their reversal watch. A SUCCEEDED payout's next query comes as long after
 * this one as this one came after the success (so the gaps double); none once the watch is over.
 */
export async function claimQueries(db: Executor, b: QueryBackoff): Promise<Payout[]> {
  const sinceSuccess = sql`(${b.now}::timestamptz - p.updated_at)`;
  const { rows } = await sql<Payout>`
    update payouts p
    set next_query_at = case
          when p.status = 'PROCESSING' then ${b.now}::timestamptz
            + least(${b.maxDelayMs}::float8, ${b.baseDelayMs}::float8 * power(2, least(p.query_attempts, 20))) * interval '1 millisecond'
          when ${sinceSuccess} < ${b.watchMs}::float8 * interval '1 millisecond'
            then ${b.now}::timestamptz + greatest(${sinceSuccess}, ${b.watchBaseMs}::float8 * interval '1 millisecond')
        end,
        query_attempts = p.query_attempts + 1
    where p.id in (
      select id from payouts
      where status in ('PROCESSING', 'SUCCEEDED') and next_query_at <= ${b.now}
      order by next_query_at
      limit ${b.limit}
      for update skip locked)
    and p.status in ('PROCESSING', 'SUCCEEDED')
    returning ${columns}`.execute(db);
  return rows;
}
