import { type Kysely, sql } from 'kysely';
import type { CurrencyCode } from '../../platform/money/index.ts';
import {
  type BatchActor,
  type BatchId,
  type BatchRow,
  type BatchStatus,
  type PayoutBatch,
  type RowStatus,
  type RowTally,
  rowSourcesOf,
  rowStatuses,
} from './payout-batches.types.ts';

/** SQL only; the same statements run on PGlite and a PostgreSQL server. */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Executor = Kysely<any>;

type BatchRecord = Omit<PayoutBatch, 'rows' | 'createdBy' | 'decidedBy'> & {
  createdByKind: BatchActor['kind'];
  createdById: string;
  decidedByKind: BatchActor['kind'] | null;
  decidedById: string | null;
};

const batchColumns = sql`
  id, merchant_id as "merchantId", status, currency, row_count as "rowCount", total_minor as "totalMinor",
  created_by_kind as "createdByKind", created_by_id as "createdById", decided_by_kind as "decidedByKind",
  decided_by_id as "decidedById", decided_at as "decidedAt", reject_reason as "rejectReason",
  processed_at as "processedAt", created_at as "createdAt", updated_at as "updatedAt"`;

const rowColumns = sql`
  batch_id as "batchId", line, merchant_id as "merchantId", merchant_order_no as "merchantOrderNo",
  amount_minor as "amountMinor", currency, beneficiary_name as "beneficiaryName",
  beneficiary_account_no as "beneficiaryAccountNo", beneficiary_bank_code as "beneficiaryBankCode", remark, status,
  payout_id as "payoutId", fee_minor as "feeMinor", error_code as "errorCode", error_message as "errorMessage",
  attempts, first_attempt_at as "firstAttemptAt"`;

export type BatchHead = Omit<PayoutBatch, 'rows'>;

function head(r: BatchRecord): BatchHead {
  const { createdByKind, createdById, decidedByKind, decidedById, ...rest } = r;
  return {
    ...rest,
    createdBy: { kind: createdByKind, id: createdById },
    decidedBy: decidedByKind && decidedById ? { kind: decidedByKind, id: decidedById } : null,
  };
}

/** Answers false, inserting nothing, when the merchant has a batch under `clientKey` already. */
export async function insertBatch(
  db: Executor,
  b: { id: BatchId; merchantId: string; createdBy: BatchActor; now: Date; clientKey: string | null },
): Promise<boolean> {
  // Count, total and currency are filled in once the whole file has been read (same transaction).
  const { rows } = await sql<{ id: string }>`
    insert into payout_batches (id, merchant_id, status, currency, row_count, total_minor, created_by_kind, created_by_id, created_at, updated_at, client_key)
    values (${b.id}, ${b.merchantId}, 'AWAITING_APPROVAL', '', 0, 0, ${b.createdBy.kind}, ${b.createdBy.id}, ${b.now}, ${b.now}, ${b.clientKey})
    on conflict (merchant_id, client_key) where client_key is not null do nothing
    returning id`.execute(db);
  return rows.length === 1;
}

export async function batchIdByClientKey(db: Executor, merchantId: string, clientKey: string): Promise<BatchId | undefined> {
  const { rows } = await sql<{ id: BatchId }>`select id from payout_batches where merchant_id = ${merchantId} and client_key = ${clientKey}`.execute(db);
  return rows[0]?.id;
}

export async function completeUpload(db: Executor, id: BatchId, currency: CurrencyCode, rowCount: number, totalMinor: bigint): Promise<void> {
  await sql`update payout_batches set currency = ${currency}, row_count = ${rowCount}, total_minor = ${totalMinor} where id = ${id}`.execute(db);
}

/** A validated file row, before it is saved. */
export type NewRow = Pick<
  BatchRow,
  'line' | 'merchantOrderNo' | 'amountMinor' | 'currency' | 'beneficiaryName' | 'beneficiaryAccountNo' | 'beneficiaryBankCode' | 'remark'
>;

/**
 * Inserts a chunk of rows in one statement. A row whose merchantOrderNo a live
 * row holds already (this batch's or another's) is skipped by the unique
 * index: the lines that went in are returned.
 */
export async function insertRows(db: Executor, batchId: BatchId, merchantId: string, rows: readonly NewRow[], now: Date): Promise<Set<number>> {
  if (rows.length === 0) return new Set();
  const col = <K extends keyof NewRow>(k: K) => rows.map((r) => (r[k] === null ? null : String(r[k])));
  const { rows: inserted } = await sql<{ line: number }>`
    insert into payout_batch_rows (batch_id, merchant_id, status, updated_at, line, merchant_order_no, amount_minor, currency,
      beneficiary_name, beneficiary_account_no, beneficiary_bank_code, remark)
    select ${batchId}, ${merchantId}, 'PENDING', ${now}, r.line::int4, r.order_no, r.amount::int8, r.currency, r.name, r.account_no, r.bank_code, r.remark
    from unnest(${col('line')}::text[], ${col('merchantOrderNo')}::text[], ${col('amountMinor')}::text[], ${col('currency')}::text[],
      ${col('beneficiaryName')}::text[], ${col('beneficiaryAccountNo')}::text[], ${col('beneficiaryBankCode')}::text[], ${col('remark')}::text[])
      as r(line, order_no, amount, currency, name, account_no, bank_code, remark)
    on conflict (merchant_id, merchant_order_no) where holds_order_no do nothing
    returning line`.execute(db);
  return new Set(inserted.map((r) => Number(r.line)));
}

/** Who holds these order numbers among live rows: merchantOrderNo -> (batch, line). */
export async function orderNoHolders(db: Executor, merchantId: string, orderNos: readonly string[]): Promise<Map<string, { batchId: string; line: number }>> {
  if (orderNos.length === 0) return new Map();
  const { rows } = await sql<{ merchantOrderNo: string; batchId: string; line: number }>`
    select merchant_order_no as "merchantOrderNo", batch_id as "batchId", line from payout_batch_rows
    where merchant_id = ${merchantId} and holds_order_no and merchant_order_no = any(${[...orderNos]}::text[])`.execute(db);
  return new Map(rows.map((r) => [r.merchantOrderNo, { batchId: r.batchId, line: r.line }]));
}

export async function findBatch(db: Executor, merchantId: string, id: string, lock = false): Promise<BatchHead | undefined> {
  const { rows } = await sql<BatchRecord>`
    select ${batchColumns} from payout_batches where id = ${id} and merchant_id = ${merchantId} ${lock ? sql`for update` : sql``}`.execute(db);
  return rows[0] && head(rows[0]);
}

/** Locks the batch row: every move of a batch or of its rows' finality takes this lock first (one order, no deadlocks). */
export async function lockBatch(db: Executor, id: string): Promise<BatchHead | undefined> {
  const { rows } = await sql<BatchRecord>`select ${batchColumns} from payout_batches where id = ${id} for update`.execute(db);
  return rows[0] && head(rows[0]);
}

/** Newest first; `startingAfter` is the last id of the previous page (ids sort by creation time). */
export async function listBatches(
  db: Executor,
  merchantId: string,
  filter: { status?: BatchStatus | undefined; startingAfter?: string | undefined },
  limit: number,
): Promise<BatchHead[]> {
  const { rows } = await sql<BatchRecord>`
    select ${batchColumns} from payout_batches
    where merchant_id = ${merchantId}
      and (${filter.status ?? null}::text is null or status = ${filter.status ?? null})
      and (${filter.startingAfter ?? null}::text is null or id < ${filter.startingAfter ?? null})
    order by id desc
    limit ${limit}`.execute(db);
  return rows.map(head);
}

export function emptyTallies(): Record<RowStatus, RowTally> {
  return Object.fromEntries(rowStatuses.map((s) => [s, { count: 0, amountMinor: 0n, feeMinor: 0n }])) as Record<RowStatus, RowTally>;
}

/** Rows per status, amounts and fees summed, for each of `batchIds`. */
export async function tallies(db: Executor, batchIds: readonly string[]): Promise<Map<string, Record<RowStatus, RowTally>>> {
  const result = new Map(batchIds.map((id) => [id, emptyTallies()]));
  if (batchIds.length === 0) return result;
  const { rows } = await sql<{ batchId: string; status: RowStatus; count: bigint | number; amountMinor: bigint; feeMinor: bigint }>`
    select batch_id as "batchId", status, count(*) as count, sum(amount_minor) as "amountMinor", coalesce(sum(fee_minor), 0)::int8 as "feeMinor"
    from payout_batch_rows where batch_id = any(${[...batchIds]}::text[])
    group by batch_id, status`.execute(db);
  for (const r of rows) {
    result.get(r.batchId)![r.status] = { count: Number(r.count), amountMinor: BigInt(r.amountMinor), feeMinor: BigInt(r.feeMinor) };
  }
  return result;
}

/** The guarded batch move: zero rows means someone else moved it first. */
export async function moveBatch(
  db: Executor,
  id: string,
  from: BatchStatus,
  to: BatchStatus,
  now: Date,
  change: { decidedBy?: BatchActor; rejectReason?: string | null; processedAt?: Date } = {},
): Promise<boolean> {
  const { rows } = await sql`
    update payout_batches set status = ${to}, updated_at = ${now},
      decided_by_kind = coalesce(${change.decidedBy?.kind ?? null}, decided_by_kind),
      decided_by_id = coalesce(${change.decidedBy?.id ?? null}, decided_by_id),
      decided_at = case when ${change.decidedBy?.id ?? null}::text is null then decided_at else ${now} end,
      reject_reason = coalesce(${change.rejectReason ?? null}, reject_reason),
      processed_at = coalesce(${change.processedAt ?? null}, processed_at)
    where id = ${id} and status = ${from}
    returning id`.execute(db);
  return rows.length === 1;
}

/** A rejected batch: every row CANCELLED, and its order numbers free again. */
export async function cancelRows(db: Executor, batchId: string, now: Date): Promise<void> {
  await sql`
    update payout_batch_rows set status = 'CANCELLED', holds_order_no = false, updated_at = ${now}
    where batch_id = ${batchId} and status = 'PENDING'`.execute(db);
}

/** What is still open in a batch: rows not handed over, rows whose payout is not final. */
export async function openRows(db: Executor, batchId: string): Promise<{ pending: boolean; accepted: boolean }> {
  const { rows } = await sql<{ pending: boolean; accepted: boolean }>`
    select exists (select 1 from payout_batch_rows where batch_id = ${batchId} and status = 'PENDING') as pending,
           exists (select 1 from payout_batch_rows where batch_id = ${batchId} and status = 'ACCEPTED') as accepted`.execute(db);
  return rows[0]!;
}

/**
 * Claims PENDING rows of APPROVED batches for release: a lease (`lease_until`)
 * taken under FOR UPDATE SKIP LOCKED, so several processes never hand one row
 * over at once, and a process that dies leaves its rows to the next claim.
 * The lease is set and read on the database's clock, the one every process
 * shares: a process whose clock runs ahead cannot cut another's lease short.
 */
export async function claimRows(db: Executor, now: Date, limit: number, leaseMs: number): Promise<BatchRow[]> {
  const { rows } = await sql<BatchRow>`
    update payout_batch_rows r set lease_until = now() + ${leaseMs}::float8 * interval '1 millisecond', attempts = r.attempts + 1, first_attempt_at = coalesce(r.first_attempt_at, ${now})
    where (r.batch_id, r.line) in (
      select c.batch_id, c.line from payout_batch_rows c
      where c.batch_id in (select id from payout_batches where status = 'APPROVED')
        and c.status = 'PENDING' and (c.lease_until is null or c.lease_until <= now())
      order by c.batch_id, c.line
      limit ${limit}
      for update of c skip locked)
    returning ${rowColumns}`.execute(db);
  return rows;
}

export async function approvedBatchIds(db: Executor): Promise<string[]> {
  const { rows } = await sql<{ id: string }>`select id from payout_batches where status = 'APPROVED'`.execute(db);
  return rows.map((r) => r.id);
}

/**
 * The guarded row move (status = any of the statuses the table allows into
 * `to`); `payoutId` in `where` when the row is found by its payout. Answers the
 * moved row's batch, or undefined when nothing moved (a duplicate or a lost race).
 */
export async function moveRow(
  db: Executor,
  where: { batchId: string; line: number; payoutId?: undefined } | { payoutId: string },
  to: RowStatus,
  now: Date,
  change: { payoutId?: string; feeMinor?: bigint; errorCode?: string | null; errorMessage?: string | null } = {},
): Promise<string | undefined> {
  const match = where.payoutId !== undefined ? sql`payout_id = ${where.payoutId}` : sql`batch_id = ${where.batchId} and line = ${where.line}`;
  const { rows } = await sql<{ batchId: string }>`
    update payout_batch_rows set status = ${to}, updated_at = ${now}, lease_until = null,
      payout_id = coalesce(${change.payoutId ?? null}, payout_id),
      fee_minor = coalesce(${change.feeMinor ?? null}::int8, fee_minor),
      error_code = coalesce(${change.errorCode ?? null}, error_code),
      error_message = coalesce(${change.errorMessage ?? null}, error_message)
    where ${match} and status = any(${rowSourcesOf(to)}::text[])
    returning batch_id as "batchId"`.execute(db);
  return rows[0]?.batchId;
}

/**
 * A row the payouts module refused: FAILED, freeing its order number (the merchant may send it again), only while it is PENDING with no
 * payout. Another claim of the row (its lease ran out) may have saved the row's payout meanwhile; that
 * row stays with its payout. Answers the row's batch, or undefined when nothing moved.
 */
export async function refuseRow(
  db: Executor,
  key: { batchId: string; line: number },
  now: Date,
  error: { errorCode: string; errorMessage: string },
): Promise<string | undefined> {
  const { rows } = await sql<{ batchId: string }>`
    update payout_batch_rows set status = 'FAILED', updated_at = ${now}, lease_until = null, holds_order_no = false,
      error_code = ${error.errorCode}, error_message = ${error.errorMessage}
    where batch_id = ${key.batchId} and line = ${key.line} and status = 'PENDING' and payout_id is null
    returning batch_id as "batchId"`.execute(db);
  return rows[0]?.batchId;
}

/**
 * The row of a payout, in one snapshot: the row that has its id, or else a row with its order number
 * that is being released right now (PENDING and leased: it will save the payout id a moment later).
 * One statement, so a row saving the id between two reads cannot be missed by both.
 */
export async function rowOfPayout(
  db: Executor,
  payout: { merchantId: string; merchantOrderNo: string; id: string },
): Promise<{ batchId: string; line: number; releasing: boolean } | undefined> {
  const { rows } = await sql<{ batchId: string; line: number; releasing: boolean }>`
    select batch_id as "batchId", line, payout_id is distinct from ${payout.id} as releasing from payout_batch_rows
    where payout_id = ${payout.id}
       or (merchant_id = ${payout.merchantId} and merchant_order_no = ${payout.merchantOrderNo} and holds_order_no
           and status = 'PENDING' and lease_until > now())
    order by releasing
    limit 1`.execute(db);
  return rows[0];
}

/** One page of a batch's rows in line order (the results file is read page by page). */
export async function rowsAfter(db: Executor, batchId: string, afterLine: number, limit: number): Promise<BatchRow[]> {
  const { rows } = await sql<BatchRow>`
    select ${rowColumns} from payout_batch_rows where batch_id = ${batchId} and line > ${afterLine} order by line limit ${limit}`.execute(db);
  return rows;
}
