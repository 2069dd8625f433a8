import { sql } from 'kysely';
import type { Executor } from './merchants.repository.ts';
import type { TransferIn, TransferInStatus } from './merchants.funding.ts';

/** SQL only: incoming bank transfers. */

const columns = sql`
  transfer_no as "transferNo", status, merchant_id as "merchantId", payee_account_no as "payeeAccountNo", account_id as "accountId",
  amount_minor as "amountMinor", currency, payer_name as "payerName", bank_timestamp as "bankTimestamp",
  ledger_transfer_id as "ledgerTransferId", created_at as "createdAt", posted_at as "postedAt"`;

/** False when the transfer number was recorded before (a duplicate notification). */
export async function insertTransferIn(db: Executor, t: TransferIn, reqData: string): Promise<boolean> {
  const { rows } = await sql`
    insert into merchant_transfers_in (transfer_no, status, merchant_id, payee_account_no, account_id, amount_minor, currency,
      payer_name, bank_timestamp, ledger_transfer_id, req_data, created_at)
    values (${t.transferNo}, ${t.status}, ${t.merchantId}, ${t.payeeAccountNo}, ${t.accountId}, ${t.amountMinor}, ${t.currency},
      ${t.payerName}, ${t.bankTimestamp}, ${t.ledgerTransferId}, ${reqData}, ${t.createdAt})
    on conflict (transfer_no) do nothing
    returning transfer_no`.execute(db);
  return rows.length === 1;
}

export async function findTransferIn(db: Executor, transferNo: string): Promise<TransferIn | undefined> {
  const { rows } = await sql<TransferIn>`select ${columns} from merchant_transfers_in where transfer_no = ${transferNo}`.execute(db);
  return rows[0];
}

export async function markPosted(db: Executor, transferNo: string, now: Date): Promise<void> {
  await sql`update merchant_transfers_in set posted_at = ${now} where transfer_no = ${transferNo} and posted_at is null`.execute(db);
}

/** Newest first; `startingAfter` is the transfer number of the previous page's last row. */
export async function listTransfersIn(
  db: Executor,
  filter: { status?: TransferInStatus | undefined; merchantId?: string | undefined; startingAfter?: string | undefined },
  limit: number,
): Promise<TransferIn[]> {
  const { rows } = await sql<TransferIn>`
    select ${columns} from merchant_transfers_in t
    where (${filter.status ?? null}::text is null or status = ${filter.status ?? null})
      and (${filter.merchantId ?? null}::text is null or merchant_id = ${filter.merchantId ?? null})
      and (${filter.startingAfter ?? null}::text is null or (created_at, transfer_no) < (
        select created_at, transfer_no from merchant_transfers_in where transfer_no = ${filter.startingAfter ?? null}))
    order by created_at desc, transfer_no desc
    limit ${limit}`.execute(db);
  return rows;
}
