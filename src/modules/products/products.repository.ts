import { type Kysely, sql } from 'kysely';
import type { Product, ProductStatus, Subscription, SubscriptionStatus } from './products.types.ts';

/** SQL only; the same statements run on PGlite and a PostgreSQL server. */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Executor = Kysely<any>;

const productColumns = sql`
  id, code, name, currency, rate_ppm as "ratePpm", term_days as "termDays", min_amount_minor as "minAmountMinor",
  step_amount_minor as "stepAmountMinor", total_amount_minor as "totalAmountMinor", raised_minor as "raisedMinor",
  reserved_minor as "reservedMinor", day_count as "dayCount", acceptor_bank as "acceptorBank", sale_start as "saleStart",
  sale_end as "saleEnd", on_shelf as "onShelf", status, version, created_at as "createdAt", updated_at as "updatedAt"`;

const subscriptionColumns = sql`
  id, user_id as "userId", product_id as "productId", product_code as "productCode", product_name as "productName",
  amount_minor as "amountMinor", currency, rate_ppm as "ratePpm", term_days as "termDays", day_count as "dayCount",
  interest_minor as "interestMinor", to_char(value_date, 'YYYY-MM-DD') as "valueDate",
  to_char(maturity_date, 'YYYY-MM-DD') as "maturityDate", status, pay_with as "payWith", pay_order_no as "payOrderNo",
  wallet_account_id as "walletAccountId", holding_account_id as "holdingAccountId", expires_at as "expiresAt",
  error_code as "errorCode", created_at as "createdAt", paid_at as "paidAt", settled_at as "settledAt", updated_at as "updatedAt"`;

// ---- products --------------------------------------------------------------------------------

/** False when the code is taken. */
export async function insertProduct(db: Executor, p: Product): Promise<boolean> {
  const { rows } = await sql<{ id: string }>`
    insert into products (id, code, name, currency, rate_ppm, term_days, min_amount_minor, step_amount_minor, total_amount_minor,
      day_count, acceptor_bank, sale_start, sale_end, on_shelf, status, version, created_at, updated_at)
    values (${p.id}, ${p.code}, ${p.name}, ${p.currency}, ${p.ratePpm}, ${p.termDays}, ${p.minAmountMinor}::int8,
      ${p.stepAmountMinor}::int8, ${p.totalAmountMinor}::int8, ${p.dayCount}, ${p.acceptorBank}, ${p.saleStart}::timestamptz,
      ${p.saleEnd}::timestamptz, ${p.onShelf}, ${p.status}, ${p.version}, ${p.createdAt}::timestamptz, ${p.updatedAt}::timestamptz)
    on conflict (code) do nothing
    returning id`.execute(db);
  return rows.length === 1;
}

export async function findProduct(db: Executor, idOrCode: string): Promise<Product | undefined> {
  const { rows } = await sql<Product>`select ${productColumns} from products where id = ${idOrCode} or code = ${idOrCode}`.execute(db);
  return rows.find((p) => p.id === idOrCode) ?? rows[0];
}

/** Oldest first (ids sort by creation time); `onShelfOnly` for the public list. */
export async function listProducts(db: Executor, filter: { onShelfOnly: boolean; offset: number; limit: number }): Promise<{ rows: Product[]; total: number }> {
  const where = filter.onShelfOnly ? sql`where on_shelf` : sql``;
  const { rows } = await sql<Product>`select ${productColumns} from products ${where} order by id limit ${filter.limit} offset ${filter.offset}`.execute(db);
  const count = await sql<{ total: bigint | string }>`select count(*) as total from products ${where}`.execute(db);
  return { rows, total: Number(count.rows[0]!.total) };
}

export type ProductChanges = Pick<
  Product,
  'name' | 'currency' | 'ratePpm' | 'termDays' | 'minAmountMinor' | 'stepAmountMinor' | 'totalAmountMinor' | 'dayCount' | 'acceptorBank' | 'saleStart' | 'saleEnd' | 'status'
>;

/**
 * Edits a product that nobody has bought into yet, at the version the editor
 * read; undefined when the version or the status moved meanwhile.
 */
export async function updateProduct(db: Executor, id: string, version: number, c: ProductChanges, now: Date): Promise<Product | undefined> {
  const { rows } = await sql<Product>`
    update products set name = ${c.name}, currency = ${c.currency}, rate_ppm = ${c.ratePpm}, term_days = ${c.termDays},
      min_amount_minor = ${c.minAmountMinor}::int8, step_amount_minor = ${c.stepAmountMinor}::int8,
      total_amount_minor = ${c.totalAmountMinor}::int8, day_count = ${c.dayCount}, acceptor_bank = ${c.acceptorBank},
      sale_start = ${c.saleStart}::timestamptz, sale_end = ${c.saleEnd}::timestamptz, status = ${c.status},
      version = version + 1, updated_at = ${now}::timestamptz
    where id = ${id} and version = ${version} and raised_minor = 0 and reserved_minor = 0 and status <> 'ENDED'
    returning ${productColumns}`.execute(db);
  return rows[0];
}

export async function setShelf(db: Executor, id: string, onShelf: boolean, now: Date): Promise<Product | undefined> {
  const { rows } = await sql<Product>`
    update products set on_shelf = ${onShelf}, version = version + 1, updated_at = ${now}::timestamptz
    where id = ${id} returning ${productColumns}`.execute(db);
  return rows[0];
}

/**
 * Reserves `amountMinor` of the raise in ONE guarded statement: concurrent
 * buyers queue on the row and each re-checks the cap against the latest row
 * (PostgreSQL re-evaluates the WHERE after a concurrent update), so the total is
 * never oversold. Also moves the status the sale has reached (ON_SALE, or
 * SOLD_OUT when this fills it). Undefined: not on sale, or not that much left.
 */
export async function reserve(db: Executor, productId: string, amountMinor: bigint, now: Date): Promise<Product | undefined> {
  const { rows } = await sql<Product>`
    update products set
      reserved_minor = reserved_minor + ${amountMinor}::int8,
      status = case when raised_minor + reserved_minor + ${amountMinor}::int8 = total_amount_minor then 'SOLD_OUT' else 'ON_SALE' end,
      updated_at = ${now}::timestamptz
    where id = ${productId} and on_shelf and status in ('PRESALE', 'ON_SALE')
      and (sale_start is null or sale_start <= ${now}::timestamptz)
      and (sale_end is null or sale_end > ${now}::timestamptz)
      and raised_minor + reserved_minor + ${amountMinor}::int8 <= total_amount_minor
    returning ${productColumns}`.execute(db);
  return rows[0];
}

/** An unpaid order gave its units back: a full product is on sale again (until its time ends it). */
export async function release(db: Executor, productId: string, amountMinor: bigint, now: Date): Promise<void> {
  const { numAffectedRows } = await sql`
    update products set reserved_minor = reserved_minor - ${amountMinor}::int8,
      status = case when status = 'SOLD_OUT' then 'ON_SALE' else status end, updated_at = ${now}::timestamptz
    where id = ${productId} and reserved_minor >= ${amountMinor}::int8`.execute(db);
  if (numAffectedRows !== 1n) throw new Error(`product ${productId} has less than ${amountMinor} reserved`);
}

/** A paid order's reservation becomes raised money (the sum, and so the status, does not change). */
export async function confirmReserved(db: Executor, productId: string, amountMinor: bigint, now: Date): Promise<void> {
  const { numAffectedRows } = await sql`
    update products set reserved_minor = reserved_minor - ${amountMinor}::int8, raised_minor = raised_minor + ${amountMinor}::int8,
      updated_at = ${now}::timestamptz
    where id = ${productId} and reserved_minor >= ${amountMinor}::int8`.execute(db);
  if (numAffectedRows !== 1n) throw new Error(`product ${productId} has less than ${amountMinor} reserved`);
}

/** Stores the status the clock has moved products to (guarded by the status read). Answers how many moved. */
export async function advanceProductStatuses(db: Executor, now: Date): Promise<number> {
  const ended = await sql`
    update products set status = 'ENDED', updated_at = ${now}::timestamptz
    where status in ('PRESALE', 'ON_SALE', 'SOLD_OUT') and sale_end <= ${now}::timestamptz`.execute(db);
  const started = await sql`
    update products set status = case when raised_minor + reserved_minor >= total_amount_minor then 'SOLD_OUT' else 'ON_SALE' end,
      updated_at = ${now}::timestamptz
    where status = 'PRESALE' and (sale_start is null or sale_start <= ${now}::timestamptz)
      and (sale_end is null or sale_end > ${now}::timestamptz)`.execute(db);
  return Number((ended.numAffectedRows ?? 0n) + (started.numAffectedRows ?? 0n));
}

// ---- subscriptions ---------------------------------------------------------------------------

/** Answers false, inserting nothing, when the user has an order under `clientKey` already. */
export async function insertSubscription(db: Executor, s: Subscription, clientKey: string | null): Promise<boolean> {
  const { rows } = await sql<{ id: string }>`
    insert into product_subscriptions (id, user_id, product_id, product_code, product_name, amount_minor, currency, rate_ppm,
      term_days, day_count, interest_minor, value_date, maturity_date, status, pay_with, pay_order_no, wallet_account_id,
      holding_account_id, expires_at, created_at, updated_at, client_key)
    values (${s.id}, ${s.userId}, ${s.productId}, ${s.productCode}, ${s.productName}, ${s.amountMinor}::int8, ${s.currency},
      ${s.ratePpm}, ${s.termDays}, ${s.dayCount}, ${s.interestMinor}::int8, ${s.valueDate}::date, ${s.maturityDate}::date,
      ${s.status}, ${s.payWith}, ${s.payOrderNo}, ${s.walletAccountId}, ${s.holdingAccountId}, ${s.expiresAt}::timestamptz,
      ${s.createdAt}::timestamptz, ${s.updatedAt}::timestamptz, ${clientKey})
    on conflict (user_id, client_key) where client_key is not null do nothing
    returning id`.execute(db);
  return rows.length === 1;
}

export async function findSubscriptionByClientKey(db: Executor, userId: string, clientKey: string): Promise<Subscription | undefined> {
  const { rows } = await sql<Subscription>`
    select ${subscriptionColumns} from product_subscriptions where user_id = ${userId} and client_key = ${clientKey}`.execute(db);
  return rows[0];
}

export async function findSubscription(db: Executor, id: string): Promise<Subscription | undefined> {
  const { rows } = await sql<Subscription>`select ${subscriptionColumns} from product_subscriptions where id = ${id}`.execute(db);
  return rows[0];
}

/** Newest first; `startingAfter` is the last id of the previous page. */
export async function listSubscriptions(db: Executor, userId: string, startingAfter: string | undefined, limit: number): Promise<Subscription[]> {
  const { rows } = await sql<Subscription>`
    select ${subscriptionColumns} from product_subscriptions
    where user_id = ${userId} and (${startingAfter ?? null}::text is null or id < ${startingAfter ?? null})
    order by id desc limit ${limit}`.execute(db);
  return rows;
}

export interface SubscriptionMove {
  paidAt?: Date;
  settledAt?: Date;
  valueDate?: string;
  maturityDate?: string;
  errorCode?: string;
}

/** The guarded transition: undefined when the order was not in one of `from` (a lost race). */
export async function moveSubscription(
  db: Executor,
  id: string,
  from: readonly SubscriptionStatus[],
  to: SubscriptionStatus,
  change: SubscriptionMove,
  now: Date,
): Promise<Subscription | undefined> {
  const { rows } = await sql<Subscription>`
    update product_subscriptions set status = ${to}, updated_at = ${now}::timestamptz, claimed_until = null,
      paid_at = coalesce(${change.paidAt ?? null}::timestamptz, paid_at),
      settled_at = coalesce(${change.settledAt ?? null}::timestamptz, settled_at),
      value_date = coalesce(${change.valueDate ?? null}::date, value_date),
      maturity_date = coalesce(${change.maturityDate ?? null}::date, maturity_date),
      error_code = coalesce(${change.errorCode ?? null}::text, error_code)
    where id = ${id} and status = any(${[...from]}::text[])
    returning ${subscriptionColumns}`.execute(db);
  return rows[0];
}

/** A wallet order whose transfer was refused: it never happened (the caller releases its reservation). */
export async function deleteUnpaid(db: Executor, id: string): Promise<boolean> {
  const { numAffectedRows } = await sql`delete from product_subscriptions where id = ${id} and status = 'AWAITING_PAYMENT'`.execute(db);
  return numAffectedRows === 1n;
}

/**
 * Claims up to `limit` rows for `leaseUntil` (FOR UPDATE SKIP LOCKED, and a
 * lease so a claim outlives its statement): several processes never work on
 * one row at once; a crashed worker's rows come back when the lease runs out.
 */
async function claim(db: Executor, due: ReturnType<typeof sql>, now: Date, leaseUntil: Date, limit: number): Promise<Subscription[]> {
  const { rows } = await sql<Subscription>`
    update product_subscriptions set claimed_until = ${leaseUntil}::timestamptz
    where id in (
      select id from product_subscriptions
      where ${due} and (claimed_until is null or claimed_until <= ${now}::timestamptz)
      order by id limit ${limit}
      for update skip locked)
    returning ${subscriptionColumns}`.execute(db);
  return rows;
}

/** Unpaid orders past their expiry (card) or their recovery time (a wallet payment cut short). */
export function claimDueUnpaid(db: Executor, now: Date, leaseUntil: Date, limit: number): Promise<Subscription[]> {
  return claim(db, sql`status = 'AWAITING_PAYMENT' and expires_at <= ${now}::timestamptz`, now, leaseUntil, limit);
}

/** Holdings due to be paid back: maturity date reached, not SETTLED yet. */
export function claimDueMaturities(db: Executor, today: string, now: Date, leaseUntil: Date, limit: number): Promise<Subscription[]> {
  return claim(db, sql`status in ('PAID', 'VALUE', 'MATURED') and maturity_date <= ${today}::date`, now, leaseUntil, limit);
}

/** Stores the statuses the calendar has reached (guarded by the status read): PAID -> VALUE -> MATURED. */
export async function advanceHoldingStatuses(db: Executor, today: string, now: Date): Promise<void> {
  await sql`
    update product_subscriptions set status = 'MATURED', updated_at = ${now}::timestamptz
    where status in ('PAID', 'VALUE') and maturity_date <= ${today}::date`.execute(db);
  await sql`
    update product_subscriptions set status = 'VALUE', updated_at = ${now}::timestamptz
    where status = 'PAID' and value_date <= ${today}::date`.execute(db);
}

export type { ProductStatus };
