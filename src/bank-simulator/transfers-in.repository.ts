import { sql } from 'kysely';
import type { BankDb, BankTx } from './repository.ts';

/** SQL only: incoming transfers to the platform's account. */

export interface TransferInRow {
  platform_no: string;
  transfer_no: string;
  payee_account_no: string;
  amount_minor: bigint;
  currency: string;
  payer_name: string;
  notify_url: string;
  req_data: string;
  created_at: Date;
}

export async function insertTransfer(tx: BankTx, row: Omit<TransferInRow, 'created_at'>): Promise<TransferInRow> {
  const { rows } = await sql<TransferInRow>`
    insert into bank_transfers_in (platform_no, transfer_no, payee_account_no, amount_minor, currency, payer_name, notify_url, req_data)
    values (${row.platform_no}, ${row.transfer_no}, ${row.payee_account_no}, ${row.amount_minor}, ${row.currency},
      ${row.payer_name}, ${row.notify_url}, ${row.req_data})
    returning *`.execute(tx);
  return rows[0]!;
}

export async function listTransfers(db: BankDb, transferNo: string | undefined, limit: number): Promise<TransferInRow[]> {
  const { rows } = await sql<TransferInRow>`
    select * from bank_transfers_in
    where (${transferNo ?? null}::text is null or transfer_no = ${transferNo ?? null})
    order by created_at desc, transfer_no desc limit ${limit}`.execute(db);
  return rows;
}
