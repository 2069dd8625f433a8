/**
 * Batch payouts over real HTTP with real signing (the payouts suites' rig: a
 * real Coffer and the real bank simulator). A merchant here has PAYOUT_SINGLE
 * and PAYOUT_BATCH, a maker key (uploads) and a checker key (approves).
 */
import assert from 'node:assert/strict';
import { parse } from 'csv-parse/sync';
import { type Admin, MerchantClient, fundedMerchant, sleep } from '../payouts/support.ts';

export const HEADER = 'merchantOrderNo,amount,currency,name,accountNo,bankCode,remark';

/** PAYOUT_BATCH costs 0.50 + 0.1 % (so a 100.00 row's fee is 0.60). */
export const BATCH_FEE = { product: 'PAYOUT_BATCH', currency: 'CNY', fixed: '0.50', rateBp: 10, min: '0.50' };

export interface Tally {
  count: number;
  amount: string;
  fee: string;
}

export interface BatchView {
  id: string;
  status: string;
  currency: string;
  count: number;
  totalAmount: string;
  createdBy: { kind: string; id: string };
  approvedBy: { kind: string; id: string } | null;
  rejectedBy: { kind: string; id: string } | null;
  rejectReason: string | null;
  rows: Record<'PENDING' | 'ACCEPTED' | 'SUCCEEDED' | 'FAILED' | 'REVERSED' | 'CANCELLED', Tally>;
  processed: string | null;
  created: string;
  updated: string;
}

export interface BatchMerchant {
  merchantId: string;
  maker: MerchantClient;
  checker: MerchantClient;
}

/** An ACTIVE merchant with both payout products, funded with `funds`, with a maker and a checker key. */
export async function batchMerchant(admin: Admin, funds = '10000.00', products = ['PAYOUT_SINGLE', 'PAYOUT_BATCH']): Promise<BatchMerchant> {
  const { merchant, client } = await fundedMerchant(admin, funds, {
    products,
    fees: [{ product: 'PAYOUT_SINGLE', currency: 'CNY', fixed: '1.00', rateBp: 50, min: '1.50' }, BATCH_FEE],
  });
  const checker = await admin.createKey(merchant.merchantId, 'checker');
  return { merchantId: merchant.merchantId, maker: client, checker: new MerchantClient(client.base, checker.keyId, checker.secret) };
}

export function csvOf(rows: string[], header = HEADER, eol = '\n'): string {
  return [header, ...rows].join(eol) + eol;
}

export function upload(client: MerchantClient, csv: string, headers: Record<string, string> = {}) {
  return client.request<BatchView & { errors?: { line: number; reason: string; code: string }[] }>('POST', '/v1/payout-batches', {
    body: csv,
    contentType: 'text/csv',
    headers,
  });
}

export async function uploaded(client: MerchantClient, csv: string): Promise<BatchView> {
  const response = await upload(client, csv);
  assert.equal(response.status, 201, JSON.stringify(response.body));
  return response.body;
}

export function decide(client: MerchantClient, id: string, action: 'approve' | 'reject', body?: unknown) {
  return client.request<BatchView>('POST', `/v1/payout-batches/${id}/${action}`, body === undefined ? {} : { body: JSON.stringify(body) });
}

let polls = 0;

export async function getBatch(client: MerchantClient, id: string): Promise<BatchView> {
  // A distinct query per poll: the client signs an identical request repeated within a second one second later
  // (replay protection), so tight polling of one URL would walk its timestamps out of the window.
  const response = await client.request<BatchView>('GET', `/v1/payout-batches/${id}?poll=${++polls}`);
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body;
}

/** Waits until `done(batch)`; fails with the batch as it stands after `timeoutMs`. */
export async function waitForBatch(client: MerchantClient, id: string, done: (b: BatchView) => boolean, timeoutMs = 30_000): Promise<BatchView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const batch = await getBatch(client, id);
    if (done(batch)) return batch;
    assert.ok(Date.now() < deadline, `batch ${id} did not get there: ${JSON.stringify(batch)}`);
    await sleep(50);
  }
}

export interface ResultLine {
  merchantOrderNo: string;
  amount: string;
  line: string;
  payoutId: string;
  status: string;
  fee: string;
  errorCode: string;
  errorMessage: string;
}

export async function results(client: MerchantClient, id: string): Promise<ResultLine[]> {
  const response = await client.request<string>('GET', `/v1/payout-batches/${id}/results`);
  assert.equal(response.status, 200, String(response.body));
  assert.match(response.headers.get('content-type') ?? '', /^text\/csv/);
  return parse(response.body, { columns: true }) as ResultLine[];
}
