import { type Kysely, sql } from 'kysely';
import type { DepositoryTransaction, TransactionRecordStatus } from './depository.types.ts';

/** SQL only; the same statements run on PGlite and a PostgreSQL server. */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Executor = Kysely<any>;

const columns = sql`
  request_no as "requestNo", service_name as "serviceName", user_no as "userNo", amount_minor as "amountMinor",
  fee_minor as "feeMinor", currency, card_number_masked as "cardNumberMasked", status, synced,
  request_data as "requestData", result_data as "resultData", error_code as "errorCode",
  query_attempts as "queryAttempts", expires_at as "expiresAt", created_at as "createdAt", updated_at as "updatedAt", settled_at as "settledAt"`;

export type NewTransaction = Pick<
  DepositoryTransaction,
  'requestNo' | 'serviceName' | 'userNo' | 'amountMinor' | 'feeMinor' | 'currency' | 'cardNumberMasked' | 'requestData'
> & { nextQueryAt: Date; expiresAt: Date; now: Date };

export async function insertTransaction(db: Executor, row: NewTransaction): Promise<void> {
  await sql`
    insert into depository_transactions (request_no, service_name, user_no, amount_minor, fee_minor, currency,
      card_number_masked, status, synced, request_data, next_query_at, expires_at, created_at, updated_at)
    values (${row.requestNo}, ${row.serviceName}, ${row.userNo}, ${row.amountMinor}, ${row.feeMinor}, ${row.currency},
      ${row.cardNumberMasked}, 'PENDING', false, ${row.requestData}, ${row.nextQueryAt}, ${row.expiresAt}, ${row.now}, ${row.now})`.execute(db);
}

export async function findTransaction(db: Executor, requestNo: string): Promise<DepositoryTransaction | undefined> {
  const { rows } = await sql<DepositoryTransaction>`
    select ${columns} from depository_transactions where request_no = ${requestNo}`.execute(db);
  return rows[0];
}

export async function findTransactions(db: Executor, requestNos: string[]): Promise<DepositoryTransaction[]> {
  if (requestNos.length === 0) return [];
  const { rows } = await sql<DepositoryTransaction>`
    select ${columns} from depository_transactions where request_no = any(${requestNos}::text[])`.execute(db);
  return rows;
}

/** The user's newest request of a service made at or after `since`, still PENDING and not expired at `now`. */
export async function findNewestOpenRequest(
  db: Executor,
  query: { serviceName: string; userNo: string; since: Date; now: Date },
): Promise<DepositoryTransaction | undefined> {
  const { rows } = await sql<DepositoryTransaction>`
    select ${columns} from depository_transactions
    where user_no = ${query.userNo} and created_at >= ${query.since} and service_name = ${query.serviceName}
      and status = 'PENDING' and expires_at > ${query.now}
    order by created_at desc limit 1`.execute(db);
  return rows[0];
}

export interface Settlement {
  requestNo: string;
  status: Extract<TransactionRecordStatus, 'SUCCEEDED' | 'FAILED'>;
  resultData: string;
  errorCode: string | null;
}

/**
 * The guarded transition, for many records in one statement: each moves
 * PENDING -> its result only if it is still PENDING. Records missing from the
 * answer were settled by another writer first (a lost race, not a success).
 */
export async function settlePending(db: Executor, settlements: Settlement[], now: Date): Promise<DepositoryTransaction[]> {
  if (settlements.length === 0) return [];
  const { rows } = await sql<DepositoryTransaction>`
    update depository_transactions
    set status = v.to_status, synced = true, result_data = v.to_result_data, error_code = v.to_error_code,
        settled_at = ${now}, updated_at = ${now}
    from (
      select unnest(${settlements.map((s) => s.requestNo)}::text[]) as to_request_no,
             unnest(${settlements.map((s) => s.status)}::text[]) as to_status,
             unnest(${settlements.map((s) => s.resultData)}::text[]) as to_result_data,
             unnest(${settlements.map((s) => s.errorCode)}::text[]) as to_error_code
    ) v
    where request_no = v.to_request_no and status = 'PENDING'
    returning ${columns}`.execute(db);
  return rows;
}

/**
 * Claims up to `limit` PENDING records whose query time has come, pushing each
 * one's next query time out (growing with its attempts) in the same statement.
 * SKIP LOCKED keeps concurrent processes off each other's rows; the pushed-out
 * time keeps them off them afterwards.
 */
export async function claimDueQueries(
  db: Executor,
  input: { now: Date; limit: number; baseDelayMs: number; maxDelayMs: number; expiryGraceMs: number },
): Promise<DepositoryTransaction[]> {
  const { rows } = await sql<DepositoryTransaction>`
    update depository_transactions t
    set next_query_at = least(
          ${input.now}::timestamptz
            + least(${input.maxDelayMs}::float8, ${input.baseDelayMs}::float8 * power(2, least(t.query_attempts, 20)))
              * interval '1 millisecond',
          -- never sleep past the moment the request can be closed as expired
          case when t.expires_at + ${input.expiryGraceMs}::float8 * interval '1 millisecond' > ${input.now}::timestamptz
            then t.expires_at + ${input.expiryGraceMs}::float8 * interval '1 millisecond' + interval '1 second'
            else 'infinity'::timestamptz end),
        query_attempts = t.query_attempts + 1
    where t.request_no in (
      select request_no from depository_transactions
      where status = 'PENDING' and next_query_at <= ${input.now}
      order by next_query_at
      limit ${input.limit}
      for update skip locked)
    and t.status = 'PENDING'
    returning ${columns}`.execute(db);
  return rows;
}

/** Recharges and withdrawals that became final in [from, to) (by settled_at), for the settlement check. */
export async function finalMoneyTransactionsBetween(db: Executor, from: Date, to: Date): Promise<DepositoryTransaction[]> {
  const { rows } = await sql<DepositoryTransaction>`
    select ${columns} from depository_transactions
    where service_name in ('RECHARGE', 'WITHDRAW') and status <> 'PENDING' and settled_at >= ${from} and settled_at < ${to}
    order by request_no`.execute(db);
  return rows;
}
