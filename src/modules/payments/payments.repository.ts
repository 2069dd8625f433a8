import { type Kysely, sql } from 'kysely';
import type {
  Attempt,
  AttemptOperation,
  AttemptStatus,
  Channel,
  ChannelDebit,
  Circuit,
  Coupon,
  Payment,
  PaymentCard,
  PaymentStatus,
  PaymentStep,
  PayOrderNo,
  RoutingDecision,
} from './payments.types.ts';

/** SQL only; the same statements run on PGlite and a PostgreSQL server. */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Executor = Kysely<any>;

// ---- payment orders -----------------------------------------------------------------------------

const orderColumns = sql`
  pay_order_no as "payOrderNo", business_type as "businessType", business_order_no as "businessOrderNo", user_id as "userId",
  description, amount_minor as "amountMinor", discount_minor as "discountMinor", payable_minor as "payableMinor", currency,
  credit_account_id as "creditAccountId", transfer_code as "transferCode", method, status, step, sms_sent_by as "smsSentBy",
  card_id as "cardId", coupon_id as "couponId", channel_code as "channelCode", sms_attempt_no as "smsAttemptNo",
  sms_challenge_id as "smsChallengeId", mobile_masked as "mobileMasked", error_code as "errorCode", error_message as "errorMessage", expires_at as "expiresAt",
  lease_until as "leaseUntil", created_at as "createdAt", updated_at as "updatedAt"`;

/** Inserts the order unless its (business type, business order no) has one; answers whether it did. */
export async function insertPayment(db: Executor, p: Payment): Promise<boolean> {
  const { rows } = await sql`
    insert into payment_orders (pay_order_no, business_type, business_order_no, user_id, description, amount_minor, discount_minor,
      payable_minor, currency, credit_account_id, transfer_code, status, step, expires_at, created_at, updated_at)
    values (${p.payOrderNo}, ${p.businessType}, ${p.businessOrderNo}, ${p.userId}, ${p.description}, ${p.amountMinor}::int8,
      ${p.discountMinor}::int8, ${p.payableMinor}::int8, ${p.currency}, ${p.creditAccountId}, ${p.transferCode}, ${p.status}, ${p.step},
      ${p.expiresAt}::timestamptz, ${p.createdAt}::timestamptz, ${p.updatedAt}::timestamptz)
    on conflict (business_type, business_order_no) do nothing
    returning pay_order_no`.execute(db);
  return rows.length === 1;
}

export async function findPayment(db: Executor, payOrderNo: string): Promise<Payment | undefined> {
  const { rows } = await sql<Payment>`select ${orderColumns} from payment_orders where pay_order_no = ${payOrderNo}`.execute(db);
  return rows[0];
}

export async function findByBusinessOrder(db: Executor, businessType: string, businessOrderNo: string): Promise<Payment | undefined> {
  const { rows } = await sql<Payment>`
    select ${orderColumns} from payment_orders where business_type = ${businessType} and business_order_no = ${businessOrderNo}`.execute(db);
  return rows[0];
}

/** Newest first; `startingAfter` is the last pay order number of the previous page. */
export async function listPayments(
  db: Executor,
  filter: { userId?: string | undefined; status?: PaymentStatus | undefined; startingAfter?: string | undefined },
  limit: number,
): Promise<Payment[]> {
  const { rows } = await sql<Payment>`
    select ${orderColumns} from payment_orders
    where (${filter.userId ?? null}::text is null or user_id = ${filter.userId ?? null})
      and (${filter.status ?? null}::text is null or status = ${filter.status ?? null})
      and (${filter.startingAfter ?? null}::text is null or pay_order_no < ${filter.startingAfter ?? null})
    order by pay_order_no desc
    limit ${limit}`.execute(db);
  return rows;
}

export interface OrderChange {
  method?: Payment['method'];
  step?: PaymentStep;
  smsSentBy?: Payment['smsSentBy'];
  cardId?: string | null;
  couponId?: string | null;
  discountMinor?: bigint;
  payableMinor?: bigint;
  channelCode?: string | null;
  smsAttemptNo?: string | null;
  smsChallengeId?: string | null;
  mobileMasked?: string | null;
  errorCode?: string | null;
  errorMessage?: string | null;
  leaseUntil?: Date | null;
}

const changeColumns: Record<keyof OrderChange, string> = {
  method: 'method',
  step: 'step',
  smsSentBy: 'sms_sent_by',
  cardId: 'card_id',
  couponId: 'coupon_id',
  discountMinor: 'discount_minor',
  payableMinor: 'payable_minor',
  channelCode: 'channel_code',
  smsAttemptNo: 'sms_attempt_no',
  smsChallengeId: 'sms_challenge_id',
  mobileMasked: 'mobile_masked',
  errorCode: 'error_code',
  errorMessage: 'error_message',
  leaseUntil: 'lease_until',
};

/**
 * The guarded move of a DOING order: applies `change` only while the order is
 * DOING at one of `fromSteps` (and, with `toStatus`, makes it final). Undefined:
 * it was not (someone else moved it first).
 */
export async function updateOrder(
  db: Executor,
  payOrderNo: string,
  fromSteps: readonly PaymentStep[],
  change: OrderChange,
  now: Date,
  toStatus?: Exclude<PaymentStatus, 'DOING'>,
): Promise<Payment | undefined> {
  const sets = Object.entries(change)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => sql`${sql.ref(changeColumns[key as keyof OrderChange])} = ${value}`);
  if (toStatus) sets.push(sql`status = ${toStatus}`, sql`step = 'DONE'`, sql`lease_until = null`);
  const { rows } = await sql<Payment>`
    update payment_orders set ${sql.join([...sets, sql`updated_at = ${now}`])}
    where pay_order_no = ${payOrderNo} and status = 'DOING' and step = any(${[...fromSteps]}::text[])
    returning ${orderColumns}`.execute(db);
  return rows[0];
}

/** DOING orders past their expiry that no channel call holds, claimed for the expiry job. */
export async function dueExpiries(db: Executor, now: Date, limit: number): Promise<PayOrderNo[]> {
  const { rows } = await sql<{ payOrderNo: PayOrderNo }>`
    select pay_order_no as "payOrderNo" from payment_orders
    where step in ('CREATED', 'SMS_SENT') and expires_at <= ${now}
    order by expires_at limit ${limit}`.execute(db);
  return rows.map((r) => r.payOrderNo);
}

/**
 * Claims orders left CONFIRMING / UNKNOWN_OUTCOME past their lease (a crash,
 * or a time-out to settle), pushing the lease out in the same statement: SKIP
 * LOCKED keeps processes off each other's rows, the lease keeps them off after.
 */
export async function claimInFlight(db: Executor, now: Date, leaseUntil: Date, limit: number): Promise<Payment[]> {
  const { rows } = await sql<Payment>`
    update payment_orders set lease_until = ${leaseUntil}
    where pay_order_no in (
      select pay_order_no from payment_orders
      where step in ('CONFIRMING', 'UNKNOWN_OUTCOME') and lease_until <= ${now}
      order by lease_until limit ${limit}
      for update skip locked)
    and step in ('CONFIRMING', 'UNKNOWN_OUTCOME')
    returning ${orderColumns}`.execute(db);
  return rows;
}

// ---- attempts -----------------------------------------------------------------------------------

const attemptColumns = sql`
  attempt_no as "attemptNo", pay_order_no as "payOrderNo", channel_code as "channelCode", operation, status,
  error_code as "errorCode", error_message as "errorMessage", channel_ref as "channelRef", created_at as "createdAt", updated_at as "updatedAt"`;

export async function insertAttempt(
  db: Executor,
  a: { attemptNo: string; payOrderNo: string; channelCode: string; operation: AttemptOperation; status: AttemptStatus },
  now: Date,
): Promise<void> {
  await sql`
    insert into payment_attempts (attempt_no, pay_order_no, channel_code, operation, status, created_at, updated_at)
    values (${a.attemptNo}, ${a.payOrderNo}, ${a.channelCode}, ${a.operation}, ${a.status}, ${now}, ${now})`.execute(db);
}

/** Moves an attempt from one of `from` (guarded); answers whether it moved. */
export async function updateAttempt(
  db: Executor,
  attemptNo: string,
  from: readonly AttemptStatus[],
  change: { status: AttemptStatus; operation?: AttemptOperation; errorCode?: string | null; errorMessage?: string | null; channelRef?: string | null },
  now: Date,
): Promise<boolean> {
  const { rows } = await sql`
    update payment_attempts set status = ${change.status}, updated_at = ${now},
      operation = coalesce(${change.operation ?? null}::text, operation),
      error_code = coalesce(${change.errorCode ?? null}::text, error_code),
      error_message = coalesce(${change.errorMessage ?? null}::text, error_message),
      channel_ref = coalesce(${change.channelRef ?? null}::text, channel_ref)
    where attempt_no = ${attemptNo} and status = any(${[...from]}::text[])
    returning attempt_no`.execute(db);
  return rows.length === 1;
}

export async function attemptsOf(db: Executor, payOrderNo: string): Promise<Attempt[]> {
  const { rows } = await sql<Attempt>`
    select ${attemptColumns} from payment_attempts where pay_order_no = ${payOrderNo} order by created_at, attempt_no`.execute(db);
  return rows;
}

const channelDebitColumns = sql`
  a.attempt_no as "attemptNo", a.pay_order_no as "payOrderNo", a.channel_code as "channelCode", a.status,
  o.payable_minor as "payableMinor", o.currency, a.updated_at as "finalAt"`;

/** Attempts that ended (SUCCESS or FAILED) in [from, to), with their order's payable amount. */
export async function channelDebitsBetween(db: Executor, from: Date, to: Date): Promise<ChannelDebit[]> {
  const { rows } = await sql<ChannelDebit>`
    select ${channelDebitColumns} from payment_attempts a join payment_orders o on o.pay_order_no = a.pay_order_no
    where a.status in ('SUCCESS', 'FAILED') and a.updated_at >= ${from} and a.updated_at < ${to}
    order by a.attempt_no`.execute(db);
  return rows;
}

/** Attempts by number, whatever their status (an attempt still in flight shows as it is). */
export async function channelDebits(db: Executor, attemptNos: string[]): Promise<ChannelDebit[]> {
  if (attemptNos.length === 0) return [];
  const { rows } = await sql<ChannelDebit>`
    select ${channelDebitColumns} from payment_attempts a join payment_orders o on o.pay_order_no = a.pay_order_no
    where a.attempt_no = any(${attemptNos}::text[])`.execute(db);
  return rows;
}

// ---- cards --------------------------------------------------------------------------------------

const cardColumns = sql`
  id, user_id as "userId", number_sealed as "numberSealed", last4, bank_code as "bankCode", holder_name as "holderName",
  mobile, created_at as "createdAt"`;

export async function insertCard(db: Executor, c: PaymentCard): Promise<void> {
  await sql`
    insert into payment_cards (id, user_id, number_sealed, last4, bank_code, holder_name, mobile, created_at)
    values (${c.id}, ${c.userId}, ${c.numberSealed}, ${c.last4}, ${c.bankCode}, ${c.holderName}, ${c.mobile}, ${c.createdAt})`.execute(db);
}

export async function findCard(db: Executor, userId: string, id: string): Promise<PaymentCard | undefined> {
  const { rows } = await sql<PaymentCard>`
    select ${cardColumns} from payment_cards where id = ${id} and user_id = ${userId} and deleted_at is null`.execute(db);
  return rows[0];
}

export async function listCards(db: Executor, userId: string): Promise<PaymentCard[]> {
  const { rows } = await sql<PaymentCard>`
    select ${cardColumns} from payment_cards where user_id = ${userId} and deleted_at is null order by id`.execute(db);
  return rows;
}

export async function deleteCard(db: Executor, userId: string, id: string, now: Date): Promise<boolean> {
  const { rows } = await sql`
    update payment_cards set deleted_at = ${now} where id = ${id} and user_id = ${userId} and deleted_at is null returning id`.execute(db);
  return rows.length === 1;
}

// ---- coupons ------------------------------------------------------------------------------------

const couponColumns = sql`
  id, user_id as "userId", amount_off_minor as "amountOffMinor", min_spend_minor as "minSpendMinor", currency,
  expires_at as "expiresAt", status, pay_order_no as "payOrderNo", locked_until as "lockedUntil",
  created_at as "createdAt", updated_at as "updatedAt"`;

export async function insertCoupon(db: Executor, c: Coupon, issuedBy: string): Promise<void> {
  await sql`
    insert into payment_coupons (id, user_id, amount_off_minor, min_spend_minor, currency, expires_at, status, issued_by, created_at, updated_at)
    values (${c.id}, ${c.userId}, ${c.amountOffMinor}::int8, ${c.minSpendMinor}::int8, ${c.currency}, ${c.expiresAt}, 'AVAILABLE',
      ${issuedBy}, ${c.createdAt}, ${c.updatedAt})`.execute(db);
}

export async function findCoupon(db: Executor, id: string): Promise<Coupon | undefined> {
  const { rows } = await sql<Coupon>`select ${couponColumns} from payment_coupons where id = ${id}`.execute(db);
  return rows[0];
}

export async function listCoupons(db: Executor, userId: string | undefined, limit: number, startingAfter?: string): Promise<Coupon[]> {
  const { rows } = await sql<Coupon>`
    select ${couponColumns} from payment_coupons
    where (${userId ?? null}::text is null or user_id = ${userId ?? null})
      and (${startingAfter ?? null}::text is null or id < ${startingAfter ?? null})
    order by id desc limit ${limit}`.execute(db);
  return rows;
}

/**
 * AVAILABLE -> LOCKED for one payment, guarded (and already LOCKED for the
 * same payment answers true: a retried lock). A coupon locked elsewhere, used,
 * or past its expiry is not locked.
 */
export async function lockCoupon(db: Executor, id: string, userId: string, payOrderNo: string, lockedUntil: Date, now: Date): Promise<boolean> {
  const { rows } = await sql`
    update payment_coupons set status = 'LOCKED', pay_order_no = ${payOrderNo}, locked_until = ${lockedUntil}, updated_at = ${now}
    where id = ${id} and user_id = ${userId} and expires_at > ${now}
      and (status = 'AVAILABLE' or (status = 'LOCKED' and pay_order_no = ${payOrderNo}))
    returning id`.execute(db);
  return rows.length === 1;
}

/** LOCKED -> USED for the payment that holds it (the success transaction). */
export async function consumeCoupon(db: Executor, id: string, payOrderNo: string, now: Date): Promise<boolean> {
  const { rows } = await sql`
    update payment_coupons set status = 'USED', locked_until = null, updated_at = ${now}
    where id = ${id} and status = 'LOCKED' and pay_order_no = ${payOrderNo}
    returning id`.execute(db);
  return rows.length === 1;
}

/** LOCKED -> AVAILABLE for the payment that holds it (a failure, a step back, a timeout). */
export async function releaseCoupon(db: Executor, id: string, payOrderNo: string, now: Date): Promise<boolean> {
  const { rows } = await sql`
    update payment_coupons set status = 'AVAILABLE', pay_order_no = null, locked_until = null, updated_at = ${now}
    where id = ${id} and status = 'LOCKED' and pay_order_no = ${payOrderNo}
    returning id`.execute(db);
  return rows.length === 1;
}

/**
 * Locks past their timeout whose payment holds no channel call and did not
 * succeed are released (a payment CONFIRMING or UNKNOWN_OUTCOME keeps its
 * coupon: it may still succeed, and then the coupon is consumed).
 */
export async function releaseTimedOutLocks(db: Executor, now: Date, limit: number): Promise<number> {
  const { rows } = await sql`
    update payment_coupons c set status = 'AVAILABLE', pay_order_no = null, locked_until = null, updated_at = ${now}
    where c.id in (
      select c2.id from payment_coupons c2
      where c2.status = 'LOCKED' and c2.locked_until <= ${now}
        and not exists (
          select 1 from payment_orders o
          where o.pay_order_no = c2.pay_order_no and (o.status = 'SUCCESS' or o.step in ('CONFIRMING', 'UNKNOWN_OUTCOME')))
      order by c2.locked_until limit ${limit}
      for update skip locked)
    and c.status = 'LOCKED'
    returning c.id`.execute(db);
  return rows.length;
}

// ---- channels and circuits ----------------------------------------------------------------------

const channelColumns = sql`
  code, kind, provider, methods, banks, currencies, min_amount_minor as "minAmountMinor", max_amount_minor as "maxAmountMinor",
  priority, weight, enabled, version`;

export async function listChannels(db: Executor): Promise<Channel[]> {
  const { rows } = await sql<Channel>`select ${channelColumns} from payment_channels order by priority, code`.execute(db);
  return rows;
}

/** The version-guarded edit: undefined when the version is not the stored one (or no such channel). */
export async function updateChannel(
  db: Executor,
  code: string,
  version: number,
  next: Omit<Channel, 'code' | 'kind' | 'provider' | 'version'>,
  now: Date,
): Promise<Channel | undefined> {
  const { rows } = await sql<Channel>`
    update payment_channels set methods = ${JSON.stringify(next.methods)}::jsonb,
      banks = ${next.banks === null ? null : JSON.stringify(next.banks)}::jsonb,
      currencies = ${JSON.stringify(next.currencies)}::jsonb, min_amount_minor = ${next.minAmountMinor}::int8,
      max_amount_minor = ${next.maxAmountMinor}::int8, priority = ${next.priority}, weight = ${next.weight}, enabled = ${next.enabled},
      version = version + 1, updated_at = ${now}
    where code = ${code} and version = ${version}
    returning ${channelColumns}`.execute(db);
  return rows[0];
}

const circuitColumns = sql`
  channel_code as "channelCode", state, failures, window_started_at as "windowStartedAt", opened_at as "openedAt",
  retry_at as "retryAt", trial_until as "trialUntil"`;

export async function listCircuits(db: Executor): Promise<Circuit[]> {
  const { rows } = await sql<Circuit>`select ${circuitColumns} from payment_circuits`.execute(db);
  return rows;
}

/**
 * The one trial of a channel whose cool-down is over: OPEN (retry time passed)
 * or HALF_OPEN with no live trial -> HALF_OPEN with this trial until `trialUntil`.
 * False: another process has the trial.
 */
export async function takeTrial(db: Executor, code: string, now: Date, trialUntil: Date): Promise<boolean> {
  const { rows } = await sql`
    update payment_circuits set state = 'HALF_OPEN', trial_until = ${trialUntil}
    where channel_code = ${code}
      and ((state = 'OPEN' and retry_at <= ${now}) or (state = 'HALF_OPEN' and (trial_until is null or trial_until <= ${now})))
    returning channel_code`.execute(db);
  return rows.length === 1;
}

/** A success closes the circuit (written only when there is something to reset: no hot-row writes on the happy path). */
export async function circuitSuccess(db: Executor, code: string): Promise<void> {
  await sql`
    update payment_circuits set state = 'CLOSED', failures = 0, window_started_at = null, opened_at = null, retry_at = null, trial_until = null
    where channel_code = ${code} and (state <> 'CLOSED' or failures <> 0)`.execute(db);
}

/**
 * One channel-side failure, counted atomically in one statement (every SET
 * sees the row as it was, re-read under the row lock): a new window starts
 * when the last one is over; the circuit opens when the count reaches the
 * threshold, or at once when a HALF_OPEN trial fails. An OPEN circuit keeps
 * its retry time.
 */
export async function circuitFailure(db: Executor, code: string, now: Date, c: { threshold: number; windowMs: number; coolDownMs: number }): Promise<void> {
  const windowStart = new Date(now.getTime() - c.windowMs);
  const retryAt = new Date(now.getTime() + c.coolDownMs);
  const fresh = sql`(window_started_at is null or window_started_at <= ${windowStart})`;
  const count = sql`(case when ${fresh} then 1 else failures + 1 end)`;
  const trips = sql`(state = 'HALF_OPEN' or (state = 'CLOSED' and ${count} >= ${c.threshold}))`;
  await sql`
    update payment_circuits set
      failures = ${count},
      window_started_at = case when ${fresh} then ${now}::timestamptz else window_started_at end,
      opened_at = case when ${trips} then ${now}::timestamptz else opened_at end,
      retry_at = case when ${trips} then ${retryAt}::timestamptz else retry_at end,
      trial_until = case when ${trips} then null else trial_until end,
      state = case when ${trips} then 'OPEN' else state end
    where channel_code = ${code}`.execute(db);
}

// ---- routing decisions --------------------------------------------------------------------------

export async function insertDecision(db: Executor, d: RoutingDecision): Promise<void> {
  await sql`
    insert into payment_routing_decisions (id, pay_order_no, method, step, candidates, route, chosen, rule, created_at)
    values (${d.id}, ${d.payOrderNo}, ${d.method}, ${d.step}, ${JSON.stringify(d.candidates)}::jsonb, ${JSON.stringify(d.order)}::jsonb,
      ${d.chosen}, ${d.rule}, ${d.createdAt})`.execute(db);
}

/** After the tries: which channel took it, and by which rule (FALLBACK when not the first of the order). */
export async function settleDecision(db: Executor, id: string, chosen: string | null, rule: string): Promise<void> {
  await sql`update payment_routing_decisions set chosen = ${chosen}, rule = ${rule} where id = ${id}`.execute(db);
}

export async function listDecisions(db: Executor, payOrderNo: string | undefined, limit: number, startingAfter?: string): Promise<RoutingDecision[]> {
  const { rows } = await sql<RoutingDecision>`
    select id, pay_order_no as "payOrderNo", method, step, candidates, route as "order", chosen, rule, created_at as "createdAt"
    from payment_routing_decisions
    where (${payOrderNo ?? null}::text is null or pay_order_no = ${payOrderNo ?? null})
      and (${startingAfter ?? null}::text is null or id < ${startingAfter ?? null})
    order by id desc limit ${limit}`.execute(db);
  return rows;
}
