import { type Kysely, sql } from 'kysely';
import type { OrderSettlement, OrderStatus, OrderType, TransactionOrder } from './orders.types.ts';

/** SQL only. */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Executor = Kysely<any>;

const columns = sql`
  id, user_id as "userId", currency, amount_minor as "amountMinor", type, serial_no as "serialNo", status,
  error_code as "errorCode", account_id as "accountId", transfer_ids as "transferIds",
  transacted_at as "transactedAt", created_at as "createdAt", updated_at as "updatedAt"`;

type Row = Omit<TransactionOrder, 'amountMinor' | 'transferIds'> & { amountMinor: string | bigint; transferIds: string[] | string };

function toOrder(row: Row): TransactionOrder {
  return {
    ...row,
    amountMinor: BigInt(row.amountMinor),
    transferIds: typeof row.transferIds === 'string' ? (JSON.parse(row.transferIds) as string[]) : row.transferIds,
  };
}

/** False when the (type, serial number) has its order already (a retried request), or the user has an order under `clientKey`. */
export async function insertOrder(db: Executor, o: TransactionOrder, clientKey: string | null): Promise<boolean> {
  const { rows } = await sql`
    insert into transaction_orders (id, user_id, currency, amount_minor, type, serial_no, status, error_code, account_id, transfer_ids, transacted_at, created_at, updated_at, client_key)
    values (${o.id}, ${o.userId}, ${o.currency}, ${o.amountMinor}::int8, ${o.type}, ${o.serialNo}, ${o.status}, ${o.errorCode}, ${o.accountId},
            ${JSON.stringify(o.transferIds)}::jsonb, ${o.transactedAt}, ${o.createdAt}, ${o.updatedAt}, ${clientKey})
    on conflict do nothing
    returning id`.execute(db);
  return rows.length === 1;
}

export async function findByClientKey(db: Executor, userId: string, clientKey: string): Promise<TransactionOrder | undefined> {
  const { rows } = await sql<Row>`select ${columns} from transaction_orders where user_id = ${userId} and client_key = ${clientKey}`.execute(db);
  return rows[0] ? toOrder(rows[0]) : undefined;
}

export async function findOrder(db: Executor, id: string): Promise<TransactionOrder | undefined> {
  const { rows } = await sql<Row>`select ${columns} from transaction_orders where id = ${id}`.execute(db);
  return rows[0] ? toOrder(rows[0]) : undefined;
}

export async function findBySerial(db: Executor, type: OrderType, serialNo: string): Promise<TransactionOrder | undefined> {
  const { rows } = await sql<Row>`select ${columns} from transaction_orders where type = ${type} and serial_no = ${serialNo}`.execute(db);
  return rows[0] ? toOrder(rows[0]) : undefined;
}

/** PENDING -> final, guarded: answers the serial numbers that moved (a replay moves none). */
export async function settleOrders(db: Executor, settlements: OrderSettlement[], now: Date): Promise<Set<string>> {
  if (settlements.length === 0) return new Set();
  const { rows } = await sql<{ key: string }>`
    update transaction_orders set status = v.to_status, error_code = v.to_error_code, transacted_at = ${now}, updated_at = ${now}
    from (
      select unnest(${settlements.map((s) => s.type)}::text[]) as to_type,
             unnest(${settlements.map((s) => s.serialNo)}::text[]) as to_serial_no,
             unnest(${settlements.map((s) => s.status)}::text[]) as to_status,
             unnest(${settlements.map((s) => s.errorCode ?? null)}::text[]) as to_error_code
    ) v
    where type = v.to_type and serial_no = v.to_serial_no and status = 'PENDING'
    returning type || ':' || serial_no as key`.execute(db);
  return new Set(rows.map((row) => row.key));
}

/** A request refused at once leaves nothing behind: its order goes while still PENDING. */
export async function deletePending(db: Executor, type: OrderType, serialNo: string): Promise<boolean> {
  const { rows } = await sql`delete from transaction_orders where type = ${type} and serial_no = ${serialNo} and status = 'PENDING' returning id`.execute(db);
  return rows.length === 1;
}

export interface OrderFilter {
  userId: string;
  status?: OrderStatus | undefined;
  type?: OrderType | undefined;
  currency?: string | undefined;
  startingAfter?: string | undefined;
  limit: number;
}

/** Newest first; `startingAfter` is the id of the last order of the previous page. */
export async function listOrders(db: Executor, f: OrderFilter): Promise<TransactionOrder[]> {
  const { rows } = await sql<Row>`
    select ${columns} from transaction_orders
    where user_id = ${f.userId}
      ${f.status ? sql`and status = ${f.status}` : sql``}
      ${f.type ? sql`and type = ${f.type}` : sql``}
      ${f.currency ? sql`and currency = ${f.currency}` : sql``}
      ${f.startingAfter ? sql`and id < ${f.startingAfter}` : sql``}
    order by id desc limit ${f.limit}`.execute(db);
  return rows.map(toOrder);
}
