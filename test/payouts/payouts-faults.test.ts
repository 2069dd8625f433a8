/**
 * Payout channel faults, on both stores, with the real bank simulator behind a
 * small proxy Coffer talks to: a bank that refuses connections (the order is
 * sent again later, the payout stays ACCEPTED), an order whose answer is lost
 * (outcome unknown: PROCESSING, settled by QUERY_PAYOUT, never paid twice), and
 * holds left by a crash between the hold and the record (released by the sweeper).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, afterEach, before, describe, test } from 'node:test';
import { freePort } from '../browser/support.ts';
import { testStoreKinds } from '../support/stores.ts';
import {
  assertInvariants,
  balanceOf,
  createBooks,
  decisionsOf,
  fundedMerchant,
  getPayout,
  payoutBody,
  postPayout,
  type Rig,
  sleep,
  startRig,
  transfer,
  unique,
  waitForStatus,
} from './support.ts';

/** Forwards to the bank; can drop the answer to the next orders (the bank still gets them). */
class BankProxy {
  dropOrderAnswers = 0;
  orders = 0;
  private server: http.Server | undefined;

  constructor(
    private readonly port: number,
    private readonly target: () => string,
  ) {}

  async start(): Promise<void> {
    if (this.server) return;
    this.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        void (async () => {
          const isOrder = req.url === '/payouts';
          if (isOrder) this.orders += 1;
          const answer = await fetch(`${this.target()}${req.url}`, { method: req.method!, headers: { 'content-type': 'application/json' }, body });
          const text = await answer.text();
          if (isOrder && this.dropOrderAnswers > 0) {
            this.dropOrderAnswers -= 1;
            req.socket.destroy(); // the bank took the order; its answer is lost on the way back
            return;
          }
          res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' }).end(text);
        })().catch(() => req.socket.destroy());
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }
}

for (const { kind, skip } of await testStoreKinds()) {
  describe(`payout channel faults (${kind})`, { skip }, () => {
    let rig: Rig;
    let proxy: BankProxy;
    let disposeBooks = async () => {};

    before(async () => {
      const books = await createBooks(kind);
      disposeBooks = () => books.dispose();
      const proxyPort = await freePort();
      rig = await startRig(books, { BANK_URL: `http://127.0.0.1:${proxyPort}`, PAYOUT_ORPHAN_HOLD_AFTER_S: '1' });
      proxy = new BankProxy(proxyPort, () => rig.bankUrl);
    });

    after(async () => {
      await proxy?.stop();
      await rig?.close();
      await disposeBooks();
    });

    afterEach(async () => {
      if (rig) await assertInvariants(rig.admin);
    });

    test('a bank that refuses connections: the payout stays ACCEPTED, is sent again, and is paid once', async () => {
      const { client } = await fundedMerchant(rig.admin);
      const p = (await postPayout(client, payoutBody(unique('ord')))).body;
      await sleep(700);
      assert.equal((await getPayout(client, p.id)).status, 'ACCEPTED', 'the order surely never arrived: not PROCESSING');
      await proxy.start();
      await waitForStatus(client, p.id, 'SUCCEEDED');
      assert.deepEqual(await balanceOf(client), { balance: '898.50', available: '898.50', pendingDebits: '0.00' });
    });

    test('a lost answer is an unknown outcome: PROCESSING, settled by the query, the bank pays once', async () => {
      await proxy.start(); // listening already, unless this test runs alone
      const { client } = await fundedMerchant(rig.admin);
      proxy.dropOrderAnswers = 1;
      const ordersBefore = proxy.orders;
      const p = (await postPayout(client, payoutBody(unique('ord'), '6222000011116666'))).body;
      await waitForStatus(client, p.id, 'SUCCEEDED');
      assert.equal(proxy.orders - ordersBefore, 1, 'queried, never ordered again');
      const atBank = (await fetch(`${rig.bankUrl}/sandbox/payouts?payoutId=${p.id}`).then((r) => r.json())) as { status: string }[];
      assert.deepEqual(atBank.map((b) => b.status), ['SUCCEEDED']);
      assert.deepEqual(await balanceOf(client), { balance: '898.50', available: '898.50', pendingDebits: '0.00' });
    });

    test('holds left by a crash between the hold and the record are released with their risk decision; live holds are not', async () => {
      const { merchant, client } = await fundedMerchant(rig.admin, '2000000.00');
      // A live payout that keeps its hold for a while: HIGH risk, waiting for a reviewer.
      const waiting = (await postPayout(client, payoutBody(unique('ord'), '6222000011112222', '1000000.00'))).body;
      assert.equal(waiting.reviewPending, true);

      // What acceptance does before a crash: the decision, then the linked holds, and no record.
      const orphanId = `po_crash${Date.now().toString(36)}`;
      const decision = await rig.admin.ok<{ decisionId: string }>('POST', '/l/risk/assessments', {
        flow: 'PAYOUT',
        subjectKind: 'MERCHANT',
        subjectId: merchant.merchantId,
        amount: '100.00',
        currency: 'CNY',
        reference: orphanId,
      });
      const me = await client.request<{ balances: { accountId: string; currency: string }[] }>('GET', '/v1/merchant');
      const settlement = me.body.balances.find((b) => b.currency === 'CNY')!.accountId;
      const liveAmountHold = await transfer(rig.admin, `payout:${waiting.id}:amount`);
      const liveFeeHold = await transfer(rig.admin, `payout:${waiting.id}:fee`);
      const hold = (part: 'amount' | 'fee', creditAccountId: string, amount: string) => ({
        id: `payout:${orphanId}:${part}`,
        debitAccountId: settlement,
        creditAccountId,
        amount,
        currency: 'CNY',
        code: part === 'amount' ? 'payout' : 'fee',
        reference: orphanId,
        metadata: { decisionId: decision.decisionId },
        pending: {},
      });
      await rig.admin.ok('POST', '/admin/ledger/linked-transfers', {
        transfers: [hold('amount', liveAmountHold.body.creditAccountId, '100.00'), hold('fee', liveFeeHold.body.creditAccountId, '1.50')],
      });
      assert.equal((await balanceOf(client)).pendingDebits, '1005102.50');

      const deadline = Date.now() + 15_000;
      while ((await transfer(rig.admin, `payout:${orphanId}:fee`)).body.state !== 'VOIDED') {
        assert.ok(Date.now() < deadline, 'the sweeper released the orphaned holds');
        await sleep(100);
      }
      assert.equal((await transfer(rig.admin, `payout:${orphanId}:amount`)).body.state, 'VOIDED');
      const released = (await decisionsOf(rig.admin, merchant.merchantId)).find((d) => d.reference === orphanId);
      assert.ok(released?.releasedAt, 'the orphan’s risk decision is released');
      assert.equal((await transfer(rig.admin, `payout:${waiting.id}:amount`)).body.state, 'PENDING', 'a saved payout keeps its hold');
      assert.equal((await balanceOf(client)).pendingDebits, '1005001.00');
      assert.equal((await getPayout(client, waiting.id)).status, 'ACCEPTED');
    });
  });
}
