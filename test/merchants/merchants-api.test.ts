/**
 * Merchant onboarding, API keys and signed requests over real HTTP against a
 * real Coffer server, on the embedded store and on a PostgreSQL server: what
 * an operator sees in the admin API and what a merchant's server sees when it
 * signs its requests (SPEC 5).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningCoffer } from '../../src/main.ts';
import { signMerchantRequest } from '../../src/modules/merchants/index.ts';
import { testStoreKinds } from '../support/stores.ts';
import {
  Admin,
  assertProblem,
  type BalanceView,
  createBooks,
  MerchantClient,
  type MerchantView,
  nowS,
  startServer,
  type TestBooks,
} from './support.ts';

const storeKinds = await testStoreKinds();

for (const { kind, skip } of storeKinds) {
  describe(`merchants over HTTP (${kind} store)`, { skip }, () => {
    let books: TestBooks;
    let coffer: RunningCoffer;
    let admin: Admin;

    before(async () => {
      books = await createBooks(kind);
      coffer = await startServer(books);
      admin = new Admin(coffer.url);
    });

    after(async () => {
      await coffer?.close();
      await books?.dispose();
    });

    test('onboarding: create (PENDING_REVIEW), read, list, activate, with fee rules and an audit trail', async () => {
      const created = await admin.createMerchant({
        name: 'Acme Payroll Ltd',
        products: ['PAYOUT_SINGLE'],
        fees: [{ product: 'PAYOUT_SINGLE', currency: 'CNY', fixed: '1.00', rateBp: 30, min: '2.00', max: '25.00' }],
      });
      assert.match(created.merchantId, /^mch_/);
      assert.equal(created.status, 'PENDING_REVIEW');
      assert.deepEqual(created.products, ['PAYOUT_SINGLE']);
      assert.deepEqual(created.fees, [{ product: 'PAYOUT_SINGLE', currency: 'CNY', fixed: '1.00', rateBp: 30, min: '2.00', max: '25.00' }]);

      const read = await admin.ok<MerchantView & { settlementAccounts: BalanceView[] }>('GET', `/admin/merchants/${created.merchantId}`);
      assert.equal(read.name, 'Acme Payroll Ltd');
      assert.deepEqual(read.settlementAccounts, []);

      const pending = await admin.ok<{ data: MerchantView[] }>('GET', '/admin/merchants?status=PENDING_REVIEW&limit=200');
      assert.ok(pending.data.some((m) => m.merchantId === created.merchantId));

      const active = await admin.activate(created.merchantId);
      assert.equal(active.status, 'ACTIVE');

      const trail = await admin.audit(`?subjectId=${created.merchantId}`);
      const actions = trail.data.map((entry) => entry.action);
      assert.deepEqual(actions, ['merchant.activate', 'merchant.create'], 'newest first');
      const [activation, creation] = trail.data;
      assert.deepEqual(activation!.principal, { kind: 'admin-token', id: 'bootstrap-admin' });
      assert.equal(activation!.before!.status, 'PENDING_REVIEW');
      assert.equal(activation!.after!.status, 'ACTIVE');
      assert.equal(creation!.before, null);
      assert.equal(creation!.after!.name, 'Acme Payroll Ltd');
      assert.ok(activation!.requestId, 'the entry names the request that made the change');
    });

    test('paging the merchant list visits each merchant once', async () => {
      for (let i = 0; i < 3; i++) await admin.createMerchant({ name: `Paged ${i}` });
      const seen: string[] = [];
      let startingAfter = '';
      for (;;) {
        const page = await admin.ok<{ data: MerchantView[]; hasMore: boolean }>('GET', `/admin/merchants?limit=2${startingAfter}`);
        seen.push(...page.data.map((m) => m.merchantId));
        if (!page.hasMore) break;
        startingAfter = `&startingAfter=${page.data.at(-1)!.merchantId}`;
      }
      assert.equal(new Set(seen).size, seen.length);
      assert.ok(seen.length >= 3);
    });

    test('bad onboarding input is refused with the field named', async () => {
      assertProblem(await admin.request('POST', '/admin/merchants', { name: 'X', products: ['REFUND'] }), 400, 'VALIDATION_FAILED');
      const minOverMax = await admin.request('POST', '/admin/merchants', {
        name: 'X',
        products: ['PAYOUT_SINGLE'],
        fees: [{ product: 'PAYOUT_SINGLE', currency: 'CNY', min: '5.00', max: '1.00' }],
      });
      assertProblem(minOverMax, 400, 'VALIDATION_FAILED');
      const badAmount = await admin.request('POST', '/admin/merchants', {
        name: 'X',
        products: ['PAYOUT_SINGLE'],
        fees: [{ product: 'PAYOUT_SINGLE', currency: 'CNY', fixed: '1.005' }],
      });
      assertProblem(badAmount, 400, 'INVALID_AMOUNT');
      assertProblem(await admin.request('POST', '/admin/merchants', { name: 'X', products: [], fees: [{ product: 'PAYOUT_SINGLE', currency: 'XXX' }] }), 400, 'UNSUPPORTED_CURRENCY');
      assertProblem(await admin.as(null).request('POST', '/admin/merchants', { name: 'X', products: [] }), 401, 'UNAUTHORIZED');
      assertProblem(await admin.request('GET', '/admin/merchants/mch_nope'), 404, 'MERCHANT_NOT_FOUND');
    });

    test('status guards: only PENDING_REVIEW -> ACTIVE <-> SUSPENDED; the same status again is a no-op', async () => {
      const { merchantId } = await admin.createMerchant();
      const refused = assertProblem(await admin.request('POST', `/admin/merchants/${merchantId}/suspend`), 409, 'MERCHANT_STATUS_CONFLICT');
      assert.equal(refused.status, 409);
      await admin.activate(merchantId);
      assert.equal((await admin.activate(merchantId)).status, 'ACTIVE', 'activating an active merchant changes nothing');
      assert.equal((await admin.ok<MerchantView>('POST', `/admin/merchants/${merchantId}/suspend`, undefined, 200)).status, 'SUSPENDED');
      assert.equal((await admin.activate(merchantId)).status, 'ACTIVE', 'a suspended merchant can be reactivated');
      const trail = await admin.audit(`?subjectId=${merchantId}`);
      assert.deepEqual(
        trail.data.map((e) => e.action),
        ['merchant.activate', 'merchant.suspend', 'merchant.activate', 'merchant.create'],
        'the no-op and the refusal left no entry',
      );
    });

    test('ten concurrent suspensions: all answer SUSPENDED, exactly one change is made and audited', async () => {
      const { merchantId } = await admin.createMerchant();
      await admin.activate(merchantId);
      const answers = await Promise.all(Array.from({ length: 10 }, () => admin.request<MerchantView>('POST', `/admin/merchants/${merchantId}/suspend`)));
      for (const answer of answers) {
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        assert.equal(answer.body.status, 'SUSPENDED');
      }
      const trail = await admin.audit(`?subjectId=${merchantId}&action=merchant.suspend`);
      assert.equal(trail.data.length, 1);
    });

    test('terms: products and fee rules can be replaced, audited with before and after', async () => {
      const { merchantId } = await admin.createMerchant({ products: ['PAYOUT_SINGLE'] });
      const updated = await admin.ok<MerchantView>('PUT', `/admin/merchants/${merchantId}/terms`, {
        products: ['PAYOUT_SINGLE', 'PAYOUT_BATCH'],
        fees: [{ product: 'PAYOUT_BATCH', currency: 'USD', rateBp: 10 }],
      });
      assert.deepEqual(updated.products, ['PAYOUT_SINGLE', 'PAYOUT_BATCH']);
      assert.deepEqual(updated.fees, [{ product: 'PAYOUT_BATCH', currency: 'USD', fixed: '0.00', rateBp: 10, min: null, max: null }]);
      const [entry] = (await admin.audit(`?subjectId=${merchantId}&action=merchant.update_terms`)).data;
      assert.deepEqual(entry!.before!.products, ['PAYOUT_SINGLE']);
      assert.deepEqual(entry!.after!.products, ['PAYOUT_SINGLE', 'PAYOUT_BATCH']);
    });

    test('the new routes are in the OpenAPI description with how to authenticate, and their codes in the catalogue', async () => {
      const spec = (await (await fetch(`${coffer.url}/openapi.json`)).json()) as {
        paths: Record<string, Record<string, { security?: Record<string, string[]>[] }>>;
        components: { securitySchemes: Record<string, unknown> };
      };
      assert.deepEqual(spec.paths['/v1/merchant']!.get!.security, [{ merchantKey: [], merchantTimestamp: [], merchantSignature: [] }]);
      assert.deepEqual(spec.paths['/admin/merchants/{id}/adjustments']!.post!.security, [{ adminToken: [] }]);
      assert.ok(spec.paths['/operators/login']!.post);
      assert.ok(spec.paths['/admin/audit-log']!.get);
      for (const scheme of ['merchantKey', 'merchantTimestamp', 'merchantSignature', 'operatorSession']) assert.ok(spec.components.securitySchemes[scheme], scheme);
      const catalogue = (await (await fetch(`${coffer.url}/errors`)).json()) as { code: string; status: number }[];
      const byCode = new Map(catalogue.map((entry) => [entry.code, entry.status]));
      for (const [code, status] of [
        ['MERCHANT_AUTH_REQUIRED', 401], ['API_KEY_UNKNOWN', 401], ['API_KEY_REVOKED', 401], ['TIMESTAMP_OUT_OF_WINDOW', 401],
        ['REPLAYED_REQUEST', 401], ['MERCHANT_SUSPENDED', 401], ['INVALID_SIGNATURE', 401], ['IDEMPOTENCY_KEY_REUSED', 422],
        ['IDEMPOTENCY_KEY_IN_USE', 409], ['MERCHANT_NOT_ACTIVE', 403], ['PRODUCT_NOT_ENABLED', 403],
      ] as const) {
        assert.equal(byCode.get(code), status, code);
      }
    });

    describe('API keys and signed requests', () => {
      test('a signed GET /v1/merchant says who the merchant is; several keys work at once', async () => {
        const { merchant, key, client } = await admin.activeMerchant({
          fees: [{ product: 'PAYOUT_SINGLE', currency: 'CNY', fixed: '0.50' }],
        });
        assert.match(key.keyId, /^mk_/);
        assert.match(key.secret, /^csk_/);
        assert.equal(key.role, 'maker');
        const checker = await admin.createKey(merchant.merchantId, 'checker');
        const bare = await fetch(`${coffer.url}/admin/merchants/${merchant.merchantId}/api-keys`, { method: 'POST', headers: { authorization: `Bearer ${admin.token}` } });
        assert.equal(bare.status, 201, 'the body is optional');
        assert.equal(((await bare.json()) as { role: string }).role, 'maker');
        assert.equal(checker.role, 'checker');

        const me = await client.request<{ merchantId: string; status: string; key: { keyId: string; role: string }; balances: BalanceView[]; fees: unknown[] }>('GET', '/v1/merchant');
        assert.equal(me.status, 200, JSON.stringify(me.body));
        assert.equal(me.body.merchantId, merchant.merchantId);
        assert.equal(me.body.status, 'ACTIVE');
        assert.deepEqual(me.body.key, { keyId: key.keyId, role: 'maker' });
        assert.equal(me.body.fees.length, 1);
        assert.equal(me.headers.get('cache-control'), 'private, no-store');

        const other = new MerchantClient(coffer.url, checker.keyId, checker.secret);
        const meAgain = await other.request<{ key: { role: string } }>('GET', '/v1/merchant');
        assert.equal(meAgain.status, 200);
        assert.equal(meAgain.body.key.role, 'checker');

        const keys = await admin.ok<{ data: Record<string, unknown>[] }>('GET', `/admin/merchants/${merchant.merchantId}/api-keys`);
        assert.equal(keys.data.length, 3);
        for (const listed of keys.data) assert.equal(listed.secret, undefined, 'a secret is shown once, at creation');
        const audited = await admin.audit(`?subjectId=${key.keyId}`);
        assert.equal(audited.data[0]!.action, 'api_key.create');
        assert.equal(JSON.stringify(audited.data[0]).includes(key.secret), false, 'the audit log never holds a secret');
      });

      test('end to end: onboarded, funded by an adjustment, the merchant sees its balance through a signed request', async () => {
        const { merchant, client } = await admin.activeMerchant();
        const before = await client.request<{ balances: BalanceView[] }>('GET', '/v1/merchant');
        assert.deepEqual(before.body.balances, []);
        await admin.ok('POST', `/admin/merchants/${merchant.merchantId}/adjustments`, { amount: '5000.00', currency: 'CNY', reason: 'float' });
        await admin.ok('POST', `/admin/merchants/${merchant.merchantId}/adjustments`, { amount: '300', currency: 'JPY', reason: 'float' });
        const after = await client.request<{ balances: BalanceView[] }>('GET', '/v1/merchant');
        assert.equal(after.status, 200);
        const byCurrency = Object.fromEntries(after.body.balances.map((b) => [b.currency, b]));
        assert.equal(byCurrency.CNY!.balance, '5000.00');
        assert.equal(byCurrency.CNY!.available, '5000.00');
        assert.equal(byCurrency.CNY!.pendingDebits, '0.00');
        assert.equal(byCurrency.JPY!.balance, '300');
        assert.match(byCurrency.CNY!.accountNo, /^\d{18}$/);
      });

      test('the query string is part of what is signed', async () => {
        const { client } = await admin.activeMerchant();
        assert.equal((await client.request('GET', '/v1/merchant?expand=balances')).status, 200);
        const tampered = await client.request('GET', '/v1/merchant?expand=balances', { signPath: '/v1/merchant' });
        assertProblem(tampered, 401, 'INVALID_SIGNATURE');
      });

      test('wrong signature, wrong secret, missing headers and unknown key: 401 with their codes', async () => {
        const { key, client } = await admin.activeMerchant();
        const wrongSecret = await client.request('GET', '/v1/merchant', { secret: 'csk_not-the-secret' });
        const problem = assertProblem(wrongSecret, 401, 'INVALID_SIGNATURE');
        assert.equal(JSON.stringify(problem).includes(key.secret), false);
        assert.match(wrongSecret.headers.get('www-authenticate') ?? '', /CofferSignature/);

        const garbled = await client.request('GET', '/v1/merchant', { headers: { 'x-coffer-signature': 'zz' } });
        assertProblem(garbled, 401, 'INVALID_SIGNATURE');

        const bare = await fetch(`${coffer.url}/v1/merchant`);
        assert.equal(bare.status, 401);
        assert.equal(((await bare.json()) as { code: string }).code, 'MERCHANT_AUTH_REQUIRED');

        const badTimestamp = await client.request('GET', '/v1/merchant', { headers: { 'x-coffer-timestamp': '2026-11-22T08:00:00Z' } });
        assertProblem(badTimestamp, 401, 'MERCHANT_AUTH_REQUIRED');

        const stranger = new MerchantClient(coffer.url, 'mk_00000000000000000000000000', key.secret);
        assertProblem(await stranger.request('GET', '/v1/merchant'), 401, 'API_KEY_UNKNOWN');
      });

      test('timestamps more than 5 minutes old or ahead are refused; inside the window they pass', async () => {
        const { client } = await admin.activeMerchant();
        // 310, not 301: the server reads its clock a moment later, and a second may tick over in between.
        assertProblem(await client.request('GET', '/v1/merchant', { timestamp: nowS() - 310 }), 401, 'TIMESTAMP_OUT_OF_WINDOW');
        assertProblem(await client.request('GET', '/v1/merchant', { timestamp: nowS() + 310 }), 401, 'TIMESTAMP_OUT_OF_WINDOW');
        assert.equal((await client.request('GET', '/v1/merchant', { timestamp: nowS() - 240 })).status, 200);
        assert.equal((await client.request('GET', '/v1/merchant', { timestamp: nowS() + 240 })).status, 200);
      });

      test('a replayed (key, timestamp, signature) is refused, even sent concurrently', async () => {
        const { client } = await admin.activeMerchant();
        assert.equal((await client.request('GET', '/v1/merchant')).status, 200);
        assertProblem(await client.request('GET', '/v1/merchant', { replayHeaders: client.lastAuth }), 401, 'REPLAYED_REQUEST');

        // Signed once, sent five times at once: the database's unique key lets exactly one through.
        const signed = signMerchantRequest({ keyId: client.keyId, secret: client.secret, method: 'GET', path: '/v1/merchant', timestamp: nowS() - 3 });
        const burst = await Promise.all(Array.from({ length: 5 }, () => client.request('GET', '/v1/merchant', { replayHeaders: signed })));
        assert.equal(burst.filter((a) => a.status === 200).length, 1, 'one of five identical requests gets through');
        for (const answer of burst.filter((a) => a.status !== 200)) assertProblem(answer, 401, 'REPLAYED_REQUEST');
      });

      test('a revoked key is refused at once; the merchant\'s other key still works', async () => {
        const { merchant, key, client } = await admin.activeMerchant();
        const spare = await admin.createKey(merchant.merchantId);
        const revoked = await admin.ok<{ keyId: string; revokedAt: string | null }>('DELETE', `/admin/merchants/${merchant.merchantId}/api-keys/${key.keyId}`);
        assert.equal(revoked.keyId, key.keyId);
        assert.ok(revoked.revokedAt);
        assertProblem(await client.request('GET', '/v1/merchant'), 401, 'API_KEY_REVOKED');
        const again = await admin.ok<{ revokedAt: string }>('DELETE', `/admin/merchants/${merchant.merchantId}/api-keys/${key.keyId}`);
        assert.equal(again.revokedAt, revoked.revokedAt, 'revoking twice changes nothing');
        const other = new MerchantClient(coffer.url, spare.keyId, spare.secret);
        assert.equal((await other.request('GET', '/v1/merchant')).status, 200);
        assertProblem(await admin.request('DELETE', `/admin/merchants/${merchant.merchantId}/api-keys/mk_nope`), 404, 'API_KEY_NOT_FOUND');
        const [entry] = (await admin.audit(`?subjectId=${key.keyId}&action=api_key.revoke`)).data;
        assert.equal(entry!.before!.revokedAt, null);
        assert.equal(entry!.after!.revokedAt, revoked.revokedAt);
      });

      test('a suspended merchant is refused; reactivated, it is let in again', async () => {
        const { merchant, client } = await admin.activeMerchant();
        await admin.ok('POST', `/admin/merchants/${merchant.merchantId}/suspend`, undefined, 200);
        assertProblem(await client.request('GET', '/v1/merchant'), 401, 'MERCHANT_SUSPENDED');
        await admin.activate(merchant.merchantId);
        assert.equal((await client.request('GET', '/v1/merchant')).status, 200);
      });

      test('a merchant still in review may sign in (to integrate) and sees its status', async () => {
        const merchant = await admin.createMerchant();
        const key = await admin.createKey(merchant.merchantId);
        const me = await new MerchantClient(coffer.url, key.keyId, key.secret).request<{ status: string }>('GET', '/v1/merchant');
        assert.equal(me.status, 200);
        assert.equal(me.body.status, 'PENDING_REVIEW');
      });
    });
  });
}
