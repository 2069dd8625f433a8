import { type Kysely, sql } from 'kysely';
import type { ClosedFile, Line } from './reconciliation.types.ts';

/** SQL only. Every statement runs the same on PGlite and a PostgreSQL server. */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Executor = Kysely<any>;

export async function lineExists(db: Executor, payoutId: string, status: string): Promise<boolean> {
  const { rows } = await sql`select 1 from reconciliation_lines where payout_id = ${payoutId} and status = ${status}`.execute(db);
  return rows.length > 0;
}

/**
 * Makes the (merchant, day) row if it is missing and locks it for the rest of
 * the transaction: booking a line and closing the day both take this lock, so
 * a line is either in the file that closes the day or in a later day.
 * Answers whether the day is closed.
 */
export async function lockDay(db: Executor, merchantId: string, day: string, now: Date): Promise<{ closed: boolean }> {
  await sql`
    insert into reconciliation_days (merchant_id, day, created_at) values (${merchantId}, ${day}, ${now})
    on conflict (merchant_id, day) do nothing`.execute(db);
  const { rows } = await sql<{ closed: boolean }>`
    select closed_at is not null as closed from reconciliation_days
    where merchant_id = ${merchantId} and day = ${day} for update`.execute(db);
  return rows[0]!;
}

/** False when the line was there already (a redelivery that raced this one). */
export async function insertLine(db: Executor, line: Line, now: Date): Promise<boolean> {
  const { rows } = await sql`
    insert into reconciliation_lines (payout_id, status, merchant_id, day, booked_at, status_at, late, merchant_order_no,
      beneficiary_account, currency, amount_minor, fee_minor, net_minor, created_at)
    values (${line.payoutId}, ${line.status}, ${line.merchantId}, ${line.day}, ${line.bookedAt}, ${line.statusAt}, ${line.late},
      ${line.merchantOrderNo}, ${line.beneficiaryAccount}, ${line.currency}, ${line.amountMinor}, ${line.feeMinor}, ${line.netMinor}, ${now})
    on conflict (payout_id, status) do nothing
    returning payout_id`.execute(db);
  return rows.length === 1;
}

export async function linesOf(db: Executor, merchantId: string, day: string): Promise<Line[]> {
  // int8 columns arrive as bigint on both stores (src/platform/db/store.ts).
  const { rows } = await sql<Line>`
    select payout_id as "payoutId", status, merchant_id as "merchantId", day, booked_at as "bookedAt", status_at as "statusAt",
      late, merchant_order_no as "merchantOrderNo", beneficiary_account as "beneficiaryAccount", currency,
      amount_minor as "amountMinor", fee_minor as "feeMinor", net_minor as "netMinor"
    from reconciliation_lines where merchant_id = ${merchantId} and day = ${day}`.execute(db);
  return rows;
}

export async function findClosedFile(db: Executor, merchantId: string, day: string): Promise<ClosedFile | undefined> {
  const { rows } = await sql<ClosedFile>`
    select csv, sha256, closed_at as "closedAt", line_count as "lineCount" from reconciliation_days
    where merchant_id = ${merchantId} and day = ${day} and closed_at is not null`.execute(db);
  return rows[0];
}

export async function storeClosedFile(db: Executor, merchantId: string, day: string, file: ClosedFile): Promise<void> {
  await sql`
    update reconciliation_days set closed_at = ${file.closedAt}, csv = ${file.csv}, sha256 = ${file.sha256}, line_count = ${file.lineCount}
    where merchant_id = ${merchantId} and day = ${day} and closed_at is null`.execute(db);
}

/** Days not yet closed whose closing time has come (`day < firstOpenDay`), oldest first. */
export async function dueDays(db: Executor, firstOpenDay: string, limit: number): Promise<{ merchantId: string; day: string }[]> {
  const { rows } = await sql<{ merchantId: string; day: string }>`
    select merchant_id as "merchantId", day from reconciliation_days
    where closed_at is null and day < ${firstOpenDay}
    order by day, merchant_id limit ${limit}`.execute(db);
  return rows;
}

/** The merchant's days, newest first, with their line counts. */
export async function listDays(db: Executor, merchantId: string, limit: number): Promise<{ day: string; closed: boolean; lines: number }[]> {
  const { rows } = await sql<{ day: string; closed: boolean; lines: number }>`
    select d.day, d.closed_at is not null as closed,
      coalesce(d.line_count, (select count(*) from reconciliation_lines l where l.merchant_id = d.merchant_id and l.day = d.day))::int4 as lines
    from reconciliation_days d
    where d.merchant_id = ${merchantId}
    order by d.day desc limit ${limit}`.execute(db);
  return rows;
}
