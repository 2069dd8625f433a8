/**
 * Savings products end to end (SPEC 7) over real HTTP, on the embedded store and
 * on a PostgreSQL server: the catalogue, quotes, wallet subscriptions and every
 * refusal, status moves by time and by amount, holdings, contracts, and the
 * ledger's invariants after each test.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { DepositoryServer } from '../depository/support.ts';
import { newId } from '../../src/platform/ids.ts';
import * as repo from '../../src/modules/products/products.repository.ts';
import { testStoreKinds } from '../support/stores.ts';
import {
  addCny,
  adminProduct,
  advanceDays,
  assertProblem,
  businessDay,
  businessNow,
  createProduct,
  DAY_MS,
  fundedUser,
  holding,
  type HoldingView,
  productCode,
  type ProductView,
  startProductsServer,
  stopProductsServer,
  subscribe,
  waitForHolding,
  walletBalance,
} from './support.ts';

for (const { kind, skip } of await testStoreKinds()) {
  describe(`savings products over HTTP (${kind})`, { skip }, () => {
    let server: DepositoryServer;

    before(async () => {
      server = await startProductsServer(kind);
    });
    after(async () => {
      if (server) await stopProductsServer(server);
    });
    afterEach(async () => {
      if (server) await server.api.invariantsHold();
    });

    test('a new product is off the shelf until an admin shelves it; the public list pages on-shelf products only', async () => {
      const { api } = server;
      const code = productCode();
      const created = await api.admin('POST', '/admin/products', {
        code,
        name: 'Shelf test',
        currency: 'CNY',
        annualRate: '4.1',
        termDays: 30,
        minAmount: '1000.00',
        stepAmount: '500.00',
        totalAmount: '50000.00',
        dayCount: 'ACT/360',
      });
      assert.equal(created.status, 201, created.text);
      assert.match(created.body.id, /^prd_/);
      assert.deepEqual([created.body.code, created.body.status], [code, 'ON_SALE']);
      assert.equal((await api.request('GET', `/products/${code}`)).status, 404, 'off the shelf: not in the public catalogue');
      assert.equal((await api.admin('GET', `/admin/products/${code}`)).status, 200, 'the admin sees it');

      const dup = await api.admin('POST', '/admin/products', { ...created.body, code, name: 'x', currency: 'CNY', annualRate: '1', termDays: 1, minAmount: '1.00', stepAmount: '1.00', totalAmount: '1.00', dayCount: 'ACT/365', id: undefined, status: undefined });
      assert.ok(dup.status === 409 || dup.status === 400, dup.text);

      await api.admin('POST', `/admin/products/${created.body.id}/shelf`, { onShelf: true });
      const byCode = await api.request<ProductView>('GET', `/products/${code}`);
      assert.equal(byCode.status, 200, byCode.text);
      assert.deepEqual(
        [byCode.body.id, byCode.body.annualRate, byCode.body.minAmount, byCode.body.raisedAmount, byCode.body.progress, byCode.body.interestStartRule, byCode.body.onShelf],
        [created.body.id, '4.10', '1000.00', '0.00', '0.00', 'T+1', true],
      );
      assert.equal((await api.request<ProductView>('GET', `/products/${created.body.id}`)).body.code, code, 'by id too');

      const page = await api.request<{ data: ProductView[]; page: number; size: number; total: number }>('GET', '/products?page=1&size=100');
      assert.equal(page.status, 200);
      assert.ok(page.body.data.some((p) => p.code === code));
      assert.ok(page.body.data.every((p) => p.onShelf), 'on-shelf only');
      assert.equal(page.body.total, page.body.data.length);
      const small = await api.request<{ data: ProductView[]; page: number; size: number; total: number }>('GET', '/products?page=2&size=1');
      assert.deepEqual([small.body.page, small.body.size, small.body.data.length <= 1], [2, 1, true]);

      await api.admin('POST', `/admin/products/${created.body.id}/shelf`, { onShelf: false });
      assert.equal((await api.request('GET', `/products/${code}`)).status, 404);
    });

    test('quote: interest = amount x rate x days / year on minor units, half-up once; value date T+1, maturity = value date + term', async () => {
      const { api } = server;
      const act365 = await createProduct(api, { annualRate: '3.65', termDays: 90, dayCount: 'ACT/365', minAmount: '100.00', stepAmount: '0.01' });
      const quote = await api.request('GET', `/products/${act365.code}/quote?amount=10000.00`);
      assert.equal(quote.status, 200, quote.text);
      const tomorrow = await businessDay(api, 1);
      assert.deepEqual(quote.body, {
        amount: '10000.00',
        currency: 'CNY',
        interest: '90.00',
        valueDate: tomorrow,
        maturityDate: new Date(Date.parse(tomorrow) + 90 * DAY_MS).toISOString().slice(0, 10),
        maturityAmount: '10090.00',
      });
      const act360 = await createProduct(api, { annualRate: '3.65', termDays: 90, dayCount: 'ACT/360', minAmount: '100.00', stepAmount: '0.01' });
      assert.equal((await api.request('GET', `/products/${act360.id}/quote?amount=10000.00`)).body.interest, '91.25', 'the day count is the product’s');
      // 180.00 at 1 % for 1 day ACT/360 is 0.005 exactly: half-up gives 0.01 (a floor would give 0.00).
      const halfUp = await createProduct(api, { annualRate: '1', termDays: 1, dayCount: 'ACT/360', minAmount: '1.00', stepAmount: '0.01' });
      assert.equal((await api.request('GET', `/products/${halfUp.id}/quote?amount=180.00`)).body.interest, '0.01');
      assert.equal((await api.request('GET', `/products/${halfUp.id}/quote?amount=179.99`)).body.interest, '0.00');
      assertProblem(await api.request('GET', `/products/${act365.id}/quote?amount=10.00`), 422, 'AMOUNT_BELOW_MINIMUM');
      assertProblem(await api.request('GET', `/products/${act365.id}/quote?amount=1e3`), 400, 'INVALID_AMOUNT');
    });

    test('a wallet subscription is PAID at once: the wallet pays, the product raises, the holding shows the terms', async () => {
      const { api } = server;
      const user = await fundedUser(api, '5000.00');
      const product = await createProduct(api, { totalAmount: '3000.00' });
      const bought = await subscribe(api, user, product.id, '1200.00');
      assert.equal(bought.status, 201, bought.text);
      const h = bought.body;
      assert.match(h.id, /^sub_/);
      assert.deepEqual([h.status, h.payWith, h.amount, h.interest, h.maturityAmount, h.earnedToDate], ['PAID', 'WALLET', '1200.00', '10.80', '1210.80', '0.00']);
      assert.equal(h.valueDate, await businessDay(api, 1));
      assert.equal(await walletBalance(api, user), '3800.00');
      const after = await adminProduct(api, product.id);
      assert.deepEqual([after.raisedAmount, after.reservedAmount, after.remainingAmount, after.progress, after.status], ['1200.00', '0.00', '1800.00', '40.00', 'ON_SALE']);
      const transfer = await api.admin('GET', `/admin/ledger/transfers/${h.id}:subscription`);
      assert.deepEqual([transfer.status, transfer.body.code, transfer.body.amount], [200, 'subscription', '1200.00']);

      const list = await api.my<{ data: HoldingView[]; hasMore: boolean }>(user, 'GET', '/my/subscriptions');
      assert.deepEqual(list.body.data.map((x) => x.id), [h.id]);
      const stranger = await fundedUser(api, '1.00');
      assertProblem(await api.my(stranger, 'GET', `/my/subscriptions/${h.id}`), 404, 'SUBSCRIPTION_NOT_FOUND');
    });

    test('refusals change nothing: below the minimum, off the step, off the shelf, presale, ended, sold out, too little money', async () => {
      const { api } = server;
      const user = await fundedUser(api, '1000.00');
      const product = await createProduct(api, { minAmount: '100.00', stepAmount: '50.00', totalAmount: '600.00' });
      assertProblem(await subscribe(api, user, product.id, '99.99'), 422, 'AMOUNT_BELOW_MINIMUM');
      const offStep = assertProblem(await subscribe(api, user, product.id, '120.00'), 422, 'AMOUNT_NOT_A_STEP_MULTIPLE');
      assert.deepEqual([offStep.minAmount, offStep.stepAmount], ['100.00', '50.00']);
      assert.equal((await subscribe(api, user, product.id, '150.00')).status, 201, '100 + 1 step is fine');
      assertProblem(await subscribe(api, user, product.id, '500.00'), 409, 'PRODUCT_QUOTA_EXCEEDED');
      assertProblem(await subscribe(api, user, product.id, 'abc'), 400, 'INVALID_AMOUNT');

      const poorUser = await fundedUser(api, '200.00');
      assertProblem(await subscribe(api, poorUser, product.id, '300.00'), 409, 'INSUFFICIENT_FUNDS');
      assert.equal(await walletBalance(api, poorUser), '200.00');
      assert.deepEqual((await api.my(poorUser, 'GET', '/my/subscriptions')).body.data, [], 'a refused order leaves no holding');
      assert.equal((await adminProduct(api, product.id)).reservedAmount, '0.00', 'and no reservation');

      const last = await subscribe(api, user, product.id, '450.00');
      assert.equal(last.status, 201, last.text);
      assert.equal((await adminProduct(api, product.id)).status, 'SOLD_OUT', 'full: SOLD_OUT by amount');
      assertProblem(await subscribe(api, user, product.id, '100.00'), 409, 'PRODUCT_SOLD_OUT');

      const offShelf = await createProduct(api, {}, { shelve: false });
      assertProblem(await subscribe(api, user, offShelf.id, '100.00'), 409, 'PRODUCT_OFF_SHELF');
      const now = Date.now();
      const presale = await createProduct(api, { saleStart: new Date(now + 30 * DAY_MS).toISOString() });
      assert.equal(presale.status, 'PRESALE');
      assertProblem(await subscribe(api, user, presale.id, '100.00'), 409, 'PRODUCT_NOT_ON_SALE');
      const ended = await createProduct(api, { saleStart: new Date(now - 30 * DAY_MS).toISOString(), saleEnd: new Date(now - DAY_MS).toISOString() });
      assert.equal(ended.status, 'ENDED');
      assertProblem(await subscribe(api, user, ended.id, '100.00'), 409, 'PRODUCT_ENDED');
      assertProblem(await subscribe(api, user, 'prd_nope', '100.00'), 404, 'PRODUCT_NOT_FOUND');
      assert.equal(await walletBalance(api, user), '400.00', 'only the two accepted orders were paid');
    });

    test('an Idempotency-Key makes a retried purchase answer the first answer and pay once', async () => {
      const { api } = server;
      const user = await fundedUser(api, '1000.00');
      const product = await createProduct(api);
      const body = { productId: product.id, amount: '300.00', payWith: 'WALLET' };
      const headers = { 'idempotency-key': `buy-${product.id}` };
      const first = await api.request<HoldingView>('POST', '/my/subscriptions', { token: user.token, body, headers });
      const again = await api.request<HoldingView>('POST', '/my/subscriptions', { token: user.token, body, headers });
      assert.deepEqual([first.status, again.status, again.body.id], [201, 201, first.body.id]);
      assert.equal(again.headers.get('idempotent-replayed'), 'true');
      assert.equal(await walletBalance(api, user), '700.00');
    });

    test('a retry with the Idempotency-Key of a purchase whose process died mid-way finishes that order: one holding, paid once', async () => {
      const { api, coffer } = server;
      const user = await fundedUser(api, '1000.00');
      const product = await createProduct(api);
      const earlier = (await subscribe(api, user, product.id, '100.00')).body;
      // What the killed request left under its key: the order, reserved, AWAITING_PAYMENT, and no stored answer
      // (the key's claim ran out, so the retry runs the route again).
      const now = await businessNow(api);
      const key = `died-${product.id}`;
      const order = {
        ...(await repo.findSubscription(coffer.store.db, earlier.id))!,
        id: newId('sub'),
        amountMinor: 30_000n,
        status: 'AWAITING_PAYMENT' as const,
        expiresAt: new Date(now.getTime() + 60_000),
        paidAt: null,
      };
      assert.ok(await repo.reserve(coffer.store.db, product.id, order.amountMinor, now));
      assert.ok(await repo.insertSubscription(coffer.store.db, order, key));
      assert.equal(await repo.insertSubscription(coffer.store.db, { ...order, id: newId('sub') }, key), false, 'one order per key');
      const body = { productId: product.id, amount: '300.00', payWith: 'WALLET' };
      const retried = await api.request<HoldingView>('POST', '/my/subscriptions', { token: user.token, body, headers: { 'idempotency-key': key } });
      assert.equal(retried.status, 201, retried.text);
      assert.deepEqual([retried.body.id, retried.body.status], [order.id, 'PAID']);
      assert.equal(await walletBalance(api, user), '600.00', '100.00 and this 300.00, each once');
      const after = await adminProduct(api, product.id);
      assert.deepEqual([after.raisedAmount, after.reservedAmount], ['400.00', '0.00']);
      // One the recovery job cancelled meanwhile (its payment refused): the retry gets that refusal, not a holding.
      const refusedKey = `${key}-refused`;
      assert.ok(await repo.insertSubscription(coffer.store.db, { ...order, id: newId('sub'), status: 'CANCELLED', errorCode: 'INSUFFICIENT_FUNDS' }, refusedKey));
      const refused = await api.request('POST', '/my/subscriptions', { token: user.token, body, headers: { 'idempotency-key': refusedKey } });
      assertProblem(refused, 409, 'INSUFFICIENT_FUNDS');
      assert.equal(await walletBalance(api, user), '600.00');
    });

    test('a wallet order a crash left AWAITING_PAYMENT (reserved, not paid) is finished by the unpaid job, or cancelled if the money is gone', async () => {
      const { api, coffer } = server;
      const user = await fundedUser(api, '1000.00');
      const product = await createProduct(api, { totalAmount: '2000.00' });
      const paid = (await subscribe(api, user, product.id, '100.00')).body;
      // What POST /my/subscriptions commits before it moves the money, and nothing after: the crash state.
      const now = await businessNow(api);
      const crashed = async (amount: bigint) => {
        const order = {
          ...(await repo.findSubscription(coffer.store.db, paid.id))!,
          id: newId('sub'),
          amountMinor: amount,
          status: 'AWAITING_PAYMENT' as const,
          expiresAt: new Date(now.getTime() + 60_000),
          paidAt: null,
        };
        assert.ok(await repo.reserve(coffer.store.db, product.id, amount, now));
        await repo.insertSubscription(coffer.store.db, order, null);
        return order.id;
      };
      const finished = await crashed(40_000n);
      const unpayable = await crashed(100_000n); // more than the wallet ever held
      assert.equal((await adminProduct(api, product.id)).reservedAmount, '1400.00');
      assert.equal((await holding(api, user, finished)).status, 'AWAITING_PAYMENT');
      await advanceDays(api, 1);
      await waitForHolding(api, user, finished, 'PAID');
      const cancelled = await waitForHolding(api, user, unpayable, 'CANCELLED');
      assert.equal(cancelled.errorCode, 'INSUFFICIENT_FUNDS');
      assert.equal(await walletBalance(api, user), '500.00', '100.00 + the finished 400.00; the 1000.00 one could not be paid');
      const after = await adminProduct(api, product.id);
      assert.deepEqual([after.raisedAmount, after.reservedAmount], ['500.00', '0.00']);
    });

    test('admin edits: version-guarded, only before anyone bought; the shelf flag is the admin’s', async () => {
      const { api } = server;
      const product = await createProduct(api);
      const edit = { ...baseEdit, version: product.version };
      const edited = await api.admin('PUT', `/admin/products/${product.id}`, edit);
      assert.equal(edited.status, 200, edited.text);
      assert.deepEqual([edited.body.annualRate, edited.body.termDays, edited.body.version], ['5.00', 180, product.version + 1]);
      assertProblem(await api.admin('PUT', `/admin/products/${product.id}`, edit), 409, 'PRODUCT_VERSION_CONFLICT');
      const user = await fundedUser(api, '1000.00');
      assert.equal((await subscribe(api, user, product.id, '100.00')).status, 201);
      assertProblem(await api.admin('PUT', `/admin/products/${product.id}`, { ...edit, version: edited.body.version }), 409, 'PRODUCT_NOT_EDITABLE');
      assertProblem(await api.request('GET', '/admin/products'), 401, 'UNAUTHORIZED');
      assertProblem(await api.request('POST', `/admin/products/${product.id}/shelf`, { body: { onShelf: false } }), 401, 'UNAUTHORIZED');
    });

    test('status moves by time: PRESALE until saleStart, ON_SALE, then ENDED at saleEnd (test clock)', async () => {
      const { api } = server;
      const now = (await api.request<{ now: string }>('GET', '/sandbox/clock')).body.now;
      const start = Date.parse(now) + 2 * DAY_MS;
      const product = await createProduct(api, { saleStart: new Date(start).toISOString(), saleEnd: new Date(start + 3 * DAY_MS).toISOString() });
      assert.equal(product.status, 'PRESALE');
      const user = await fundedUser(api, '1000.00');
      await advanceDays(api, 2);
      assert.equal((await api.request<ProductView>('GET', `/products/${product.id}`)).body.status, 'ON_SALE');
      assert.equal((await subscribe(api, user, product.id, '100.00')).status, 201);
      await advanceDays(api, 3);
      assert.equal((await api.request<ProductView>('GET', `/products/${product.id}`)).body.status, 'ENDED');
      assertProblem(await subscribe(api, user, product.id, '100.00'), 409, 'PRODUCT_ENDED');
    });

    test('contract page and PDF for the owner only', async () => {
      const { api } = server;
      const user = await fundedUser(api, '1000.00');
      const product = await createProduct(api, { name: 'Contract <b>test</b> & co' });
      const h = (await subscribe(api, user, product.id, '300.00')).body;
      const page = await api.my<string>(user, 'GET', `/my/subscriptions/${h.id}/contract`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
      assert.ok(page.text.includes(h.id) && page.text.includes('300.00 CNY') && page.text.includes(h.maturityDate), 'the terms are on the page');
      assert.ok(page.text.includes('Contract &lt;b>test&lt;/b> &amp; co') || page.text.includes('Contract &lt;b&gt;test&lt;/b&gt; &amp; co'), 'escaped');
      const pdf = await fetch(`${api.base}/my/subscriptions/${h.id}/contract.pdf`, { headers: { authorization: `Bearer ${user.token}` } });
      assert.equal(pdf.status, 200);
      assert.equal(pdf.headers.get('content-type'), 'application/pdf');
      const bytes = Buffer.from(await pdf.arrayBuffer());
      assert.equal(bytes.subarray(0, 5).toString('latin1'), '%PDF-');
      assert.ok(bytes.subarray(-8).toString('latin1').includes('%%EOF'));
      const stranger = await fundedUser(api, '1.00');
      assert.equal((await api.my(stranger, 'GET', `/my/subscriptions/${h.id}/contract.pdf`)).status, 404);
      assert.equal((await api.request('GET', `/my/subscriptions/${h.id}/contract`)).status, 401);
    });

    test('a holding earns from the value date, matures on the test clock and pays principal + interest into the wallet to the cent', async () => {
      const { api } = server;
      const user = await fundedUser(api, '10000.00');
      const product = await createProduct(api, { annualRate: '3.65', termDays: 10, dayCount: 'ACT/365', minAmount: '100.00', stepAmount: '0.01' });
      const h = (await subscribe(api, user, product.id, '7300.00')).body; // 7300 x 3.65 % x 10 / 365 = 7.30
      assert.deepEqual([h.interest, h.status], ['7.30', 'PAID']);
      await advanceDays(api, 1);
      const valued = await holding(api, user, h.id);
      assert.deepEqual([valued.status, valued.earnedToDate], ['VALUE', '0.00'], 'earning from the value date');
      await advanceDays(api, 3);
      assert.equal((await holding(api, user, h.id)).earnedToDate, '2.19', '3 of 10 days: 7300 x 0.0365 x 3 / 365, floored');
      assert.equal(await walletBalance(api, user), '2700.00');
      await advanceDays(api, 7);
      const settled = await waitForHolding(api, user, h.id, 'SETTLED');
      assert.deepEqual([settled.earnedToDate, settled.interest], ['7.30', '7.30']);
      assert.equal(await walletBalance(api, user), addCny('2700.00', '7300.00', '7.30'));
      const interest = await api.admin('GET', `/admin/ledger/transfers/${h.id}:interest`);
      assert.deepEqual([interest.body.code, interest.body.amount, interest.body.linkedId], ['interest', '7.30', `${h.id}:maturity`]);
    });
  });
}

const baseEdit = {
  name: 'Edited',
  currency: 'CNY',
  annualRate: '5',
  termDays: 180,
  minAmount: '100.00',
  stepAmount: '100.00',
  totalAmount: '100000.00',
  dayCount: 'ACT/365',
};
