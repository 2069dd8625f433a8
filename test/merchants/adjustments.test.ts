/**
 * Admin adjustments of a merchant's settlement account and the Idempotency-Key
 * that makes retrying them safe, over real HTTP on both stores: money moves
 * exactly once however the request is retried.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { RunningCoffer } from '../../src/main.ts';
import { signMerchantRequest } from '../../src/modules/merchants/index.ts';
import { testStoreKinds } from '../support/stores.ts';
import { AdminClient, assertBooksBalance } from '../ledger-http/support.ts';
import { Admin, type AdjustmentView, ADMIN_TOKEN, assertProblem, type BalanceView, createBooks, startServer, type TestBooks, unique } from './support.ts';

const storeKinds = await testStoreKinds();

for (const { kind, skip } of storeKinds) {
  describe(`merchant adjustments and Idempotency-Key over HTTP (${kind} store)`, { skip }, () => {
    let books: TestBooks;
    let coffer: RunningCoffer;
    let admin: Admin;
    let ledger: AdminClient;

    before(async () => {
      books = await createBooks(kind);
      coffer = await startServer(books);
      admin = new Admin(coffer.url);
      ledger = new AdminClient(coffer.url, ADMIN_TOKEN);
    });

    after(async () => {
      await coffer?.close();
      await books?.dispose();
    });

    async function balances(merchantId: string): Promise<BalanceView[]> {
      return (await admin.ok<{ settlementAccounts: BalanceView[] }>('GET', `/admin/merchants/${merchantId}`)).settlementAccounts;
    }

    function adjust(merchantId: string, body: Record<string, unknown>, key?: string) {
      return admin.request<AdjustmentView>('POST', `/admin/merchants/${merchantId}/adjustments`, body, key === undefined ? {} : { 'idempotency-key': key });
    }

    test('an adjustment credits the settlement account from platform funding, recorded with who and why', async () => {
      const { merchantId } = await admin.createMerchant();
      const created = await adjust(merchantId, { amount: '1000.00', currency: 'CNY', reason: 'Initial float, ticket OPS-12' });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const adjustment = created.body;
      assert.match(adjustment.adjustmentId, /^adj_/);
      assert.equal(adjustment.status, 'POSTED');
      assert.equal(adjustment.amount, '1000.00');
      assert.equal(adjustment.transferId, `adjustment:${adjustment.adjustmentId}`);
      assert.deepEqual(adjustment.createdBy, { kind: 'admin-token', id: 'bootstrap-admin' });

      const [account] = await balances(merchantId);
      assert.equal(account!.currency, 'CNY');
      assert.equal(account!.balance, '1000.00');
      assert.equal(account!.available, '1000.00');
      assert.equal(account!.accountId, adjustment.accountId);

      const transfer = await ledger.getTransfer(adjustment.transferId);
      assert.equal(transfer.status, 200);
      assert.equal(transfer.body.amount, '1000.00');
      assert.equal(transfer.body.code, 'adjustment');
      assert.equal(transfer.body.creditAccountId, account!.accountId);
      const funding = await ledger.account(transfer.body.debitAccountId);
      assert.equal(funding.type, 'PLATFORM_FUNDING');
      assert.equal(funding.ownerKind, 'PLATFORM');

      const settlement = await ledger.account(account!.accountId);
      assert.equal(settlement.ownerKind, 'MERCHANT');
      assert.equal(settlement.ownerId, merchantId);
      assert.equal(settlement.type, 'MERCHANT_SETTLEMENT');

      const [entry] = (await admin.audit(`?subjectId=${merchantId}&action=merchant.adjustment`)).data;
      assert.equal(entry!.after!.reason, 'Initial float, ticket OPS-12');
      assert.equal(entry!.after!.amount, '1000.00');
      assert.equal(entry!.before, null);

      const listed = await admin.ok<{ data: AdjustmentView[] }>('GET', `/admin/merchants/${merchantId}/adjustments`);
      assert.deepEqual(listed.data.map((a) => a.adjustmentId), [adjustment.adjustmentId]);
      await assertBooksBalance(ledger);
    });

    test('retried with the same Idempotency-Key: the first answer again, and the money moved once', async () => {
      const { merchantId } = await admin.createMerchant();
      const key = unique('adj-key');
      const body = { amount: '250.10', currency: 'CNY', reason: 'Top-up by wire 8841' };
      const first = await adjust(merchantId, body, key);
      assert.equal(first.status, 201);
      assert.equal(first.headers.get('idempotent-replayed'), null);
      for (let i = 0; i < 3; i++) {
        const again = await adjust(merchantId, body, key);
        assert.equal(again.status, 201);
        assert.deepEqual(again.body, first.body, 'the same body, byte for byte as JSON');
        assert.equal(again.headers.get('idempotent-replayed'), 'true');
      }
      const [account] = await balances(merchantId);
      assert.equal(account!.balance, '250.10');
      const listed = await admin.ok<{ data: AdjustmentView[] }>('GET', `/admin/merchants/${merchantId}/adjustments`);
      assert.equal(listed.data.length, 1);
      await assertBooksBalance(ledger);
    });

    test('the same key with another body is 422 IDEMPOTENCY_KEY_REUSED and moves nothing', async () => {
      const { merchantId } = await admin.createMerchant();
      const key = unique('adj-key');
      assert.equal((await adjust(merchantId, { amount: '10.00', currency: 'CNY', reason: 'first' }, key)).status, 201);
      assertProblem(await adjust(merchantId, { amount: '11.00', currency: 'CNY', reason: 'first' }, key), 422, 'IDEMPOTENCY_KEY_REUSED');
      assertProblem(await adjust(merchantId, { amount: '10.00', currency: 'CNY', reason: 'second' }, key), 422, 'IDEMPOTENCY_KEY_REUSED');
      const { merchantId: otherMerchant } = await admin.createMerchant();
      assertProblem(await adjust(otherMerchant, { amount: '10.00', currency: 'CNY', reason: 'first' }, key), 422, 'IDEMPOTENCY_KEY_REUSED', );
      const [account] = await balances(merchantId);
      assert.equal(account!.balance, '10.00');
      assert.deepEqual(await balances(otherMerchant), []);
    });

    test('concurrent requests with one key: one adjustment; the others get 409 IDEMPOTENCY_KEY_IN_USE or the replay', async () => {
      const { merchantId } = await admin.createMerchant();
      const key = unique('adj-key');
      const body = { amount: '99.99', currency: 'CNY', reason: 'double click' };
      const answers = await Promise.all(Array.from({ length: 8 }, () => adjust(merchantId, body, key)));
      const created = answers.filter((a) => a.status === 201);
      const inUse = answers.filter((a) => a.status === 409);
      assert.equal(created.length + inUse.length, answers.length, JSON.stringify(answers.map((a) => a.status)));
      assert.ok(created.length >= 1);
      for (const answer of created) assert.deepEqual(answer.body, created[0]!.body, 'every 201 is the one adjustment');
      for (const answer of inUse) {
        assertProblem(answer, 409, 'IDEMPOTENCY_KEY_IN_USE');
        assert.equal(answer.headers.get('retry-after'), '1');
      }
      // After the race, a retry gets the stored answer.
      const retry = await adjust(merchantId, body, key);
      assert.equal(retry.status, 201);
      assert.deepEqual(retry.body, created[0]!.body);
      const [account] = await balances(merchantId);
      assert.equal(account!.balance, '99.99');
      await assertBooksBalance(ledger);
    });

    test('without a key each POST is a new adjustment; keys are scoped to the admin credential', async () => {
      const { merchantId } = await admin.createMerchant();
      const body = { amount: '1.00', currency: 'USD', reason: 'goodwill' };
      assert.equal((await adjust(merchantId, body)).status, 201);
      assert.equal((await adjust(merchantId, body)).status, 201);
      const [account] = await balances(merchantId);
      assert.equal(account!.currency, 'USD');
      assert.equal(account!.balance, '2.00');
    });

    test('refusals are answers too: a stored 4xx is replayed, and nothing moves', async () => {
      const key = unique('adj-key');
      const refused = await adjust('mch_unknown', { amount: '5.00', currency: 'CNY', reason: 'x' }, key);
      assertProblem(refused, 404, 'MERCHANT_NOT_FOUND');
      const again = await adjust('mch_unknown', { amount: '5.00', currency: 'CNY', reason: 'x' }, key);
      assert.equal(again.status, 404);
      assert.equal(again.headers.get('idempotent-replayed'), 'true');
      assert.deepEqual(again.body, refused.body);
    });

    test('two server processes on one database: one key, one adjustment; one signature, one request', { skip: kind !== 'postgres' && 'one process per embedded store' }, async () => {
      const secretsKey = randomBytes(32).toString('base64');
      const [one, two] = await Promise.all([startServer(books, { MERCHANT_SECRETS_KEY: secretsKey }), startServer(books, { MERCHANT_SECRETS_KEY: secretsKey })]);
      try {
        const adminOne = new Admin(one.url);
        const adminTwo = new Admin(two.url);
        const { merchantId } = await adminOne.createMerchant();
        const key = unique('adj-key');
        const body = { amount: '12.34', currency: 'CNY', reason: 'two processes' };
        const answers = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            (i % 2 ? adminOne : adminTwo).request<AdjustmentView>('POST', `/admin/merchants/${merchantId}/adjustments`, body, { 'idempotency-key': key }),
          ),
        );
        const created = answers.filter((a) => a.status === 201);
        assert.equal(created.length + answers.filter((a) => a.status === 409).length, answers.length);
        assert.ok(created.length >= 1);
        for (const answer of created) assert.equal(answer.body.adjustmentId, created[0]!.body.adjustmentId);
        const [account] = (await adminTwo.ok<{ settlementAccounts: BalanceView[] }>('GET', `/admin/merchants/${merchantId}`)).settlementAccounts;
        assert.equal(account!.balance, '12.34');

        // A key made on one process verifies on the other; a signature used on one is a replay on the other.
        await adminOne.activate(merchantId);
        const apiKey = await adminOne.createKey(merchantId);
        const signed = signMerchantRequest({ keyId: apiKey.keyId, secret: apiKey.secret, method: 'GET', path: '/v1/merchant' });
        const both = await Promise.all([one, two, one, two].map((server) => fetch(`${server.url}/v1/merchant`, { headers: signed })));
        assert.deepEqual(both.map((r) => r.status).sort(), [200, 401, 401, 401]);
      } finally {
        await Promise.all([one.close(), two.close()]);
      }
    });

    test('bad adjustments are refused: zero, negative, excess decimals, blank reason, unknown currency, bad key', async () => {
      const { merchantId } = await admin.createMerchant();
      assertProblem(await adjust(merchantId, { amount: '0.00', currency: 'CNY', reason: 'r' }), 400, 'INVALID_AMOUNT');
      assertProblem(await adjust(merchantId, { amount: '-5.00', currency: 'CNY', reason: 'r' }), 400, 'INVALID_AMOUNT');
      assertProblem(await adjust(merchantId, { amount: '5.001', currency: 'CNY', reason: 'r' }), 400, 'INVALID_AMOUNT');
      assertProblem(await adjust(merchantId, { amount: '5', currency: 'JPY', reason: '   ' }), 400, 'VALIDATION_FAILED');
      assertProblem(await adjust(merchantId, { amount: '5.00', currency: 'ABC', reason: 'r' }), 400, 'UNSUPPORTED_CURRENCY');
      assertProblem(await adjust(merchantId, { amount: 5, currency: 'CNY', reason: 'r' }), 400, 'VALIDATION_FAILED');
      assertProblem(await adjust(merchantId, { amount: '5.00', currency: 'CNY', reason: 'r' }, 'x'.repeat(256)), 400, 'VALIDATION_FAILED');
      assert.deepEqual(await balances(merchantId), []);
    });
  });
}
