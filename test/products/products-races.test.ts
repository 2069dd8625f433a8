/**
 * The savings products' concurrency and crash guarantees over real HTTP, on the
 * embedded store and on a PostgreSQL server (there also across two Coffer
 * processes): the raise cap is never oversold by simultaneous buyers, and the
 * maturity job pays each holding back exactly once however many runs race or
 * whatever a crash left behind. The jobs' own timers are off here; the test
 * runs the maturity job through the admin route, as many times as it likes.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunningCoffer } from '../../src/main.ts';
import { ADMIN_TOKEN, type DepositoryServer, startServer } from '../depository/support.ts';
import * as repo from '../../src/modules/products/products.repository.ts';
import { testStoreKinds } from '../support/stores.ts';
import {
  addCny,
  adminProduct,
  advanceDays,
  businessNow,
  createProduct,
  fundedUser,
  holding,
  type HoldingView,
  startProductsServer,
  stopProductsServer,
  subscribe,
  type TestUser,
  walletBalance,
} from './support.ts';

const JOBS_OFF = { PRODUCT_JOB_INTERVAL_MS: '3600000' };

for (const { kind, skip } of await testStoreKinds()) {
  describe(`savings products under concurrency and crashes (${kind})`, { skip }, () => {
    let server: DepositoryServer;
    /** On PostgreSQL: a second Coffer process on the same database. */
    let second: RunningCoffer | undefined;

    before(async () => {
      server = await startProductsServer(kind, JOBS_OFF);
      if (kind === 'postgres') second = await startServer(server.books, server.keys, server.bankService.url, { ...JOBS_OFF, CLOCK_REFRESH_MS: '20', USER_SESSION_TTL_S: String(366 * 86_400) });
    });
    after(async () => {
      await second?.close();
      if (server) await stopProductsServer(server);
    });
    afterEach(async () => {
      if (server) await server.api.invariantsHold();
    });

    /** Runs the maturity job through the admin route of this process (or the second one). */
    async function maturityRun(base = server.coffer.url): Promise<number> {
      const reply = await fetch(`${base}/admin/products/maturity-run`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      const text = await reply.text();
      assert.equal(reply.status, 200, text);
      return (JSON.parse(text) as { settled: number }).settled;
    }

    test('40 simultaneous buyers for the last 500.00: exactly the cap is sold, the rest are refused with a clear code', async () => {
      const { api } = server;
      const product = await createProduct(api, { totalAmount: '2000.00', minAmount: '100.00', stepAmount: '100.00' });
      const early = await fundedUser(api, '1500.00');
      assert.equal((await subscribe(api, early, product.id, '1500.00')).status, 201);
      const buyers = await Promise.all(Array.from({ length: 10 }, () => fundedUser(api, '1000.00')));
      const attempts = buyers.flatMap((user) => Array.from({ length: 4 }, () => user));
      const urls = second ? [server.coffer.url, second.url] : [server.coffer.url];
      const replies = await Promise.all(
        attempts.map((user, i) =>
          fetch(`${urls[i % urls.length]}/my/subscriptions`, {
            method: 'POST',
            headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ productId: product.id, amount: '100.00', payWith: 'WALLET' }),
          }).then(async (r) => ({ status: r.status, body: (await r.json()) as { code?: string } })),
        ),
      );
      const accepted = replies.filter((r) => r.status === 201);
      const refused = replies.filter((r) => r.status !== 201);
      assert.equal(accepted.length, 5, 'exactly the last 500.00 sold');
      for (const r of refused) {
        assert.equal(r.status, 409);
        assert.ok(r.body.code === 'PRODUCT_SOLD_OUT' || r.body.code === 'PRODUCT_QUOTA_EXCEEDED', `refused with ${r.body.code}`);
      }
      const final = await adminProduct(api, product.id);
      assert.deepEqual([final.raisedAmount, final.reservedAmount, final.remainingAmount, final.status], ['2000.00', '0.00', '0.00', 'SOLD_OUT']);
      const balances = await Promise.all(buyers.map((u) => walletBalance(api, u)));
      assert.equal(addCny(...balances), '9500.00', 'the buyers paid exactly 500.00 together');
    });

    test('maturity runs racing each other (and another process) pay every holding back exactly once', async () => {
      const { api } = server;
      const product = await createProduct(api, { termDays: 5, annualRate: '7.3', dayCount: 'ACT/365', minAmount: '100.00', stepAmount: '100.00' });
      const owners: { user: TestUser; h: HoldingView }[] = [];
      for (let i = 0; i < 6; i++) {
        const user = await fundedUser(api, '1000.00');
        owners.push({ user, h: (await subscribe(api, user, product.id, '1000.00')).body });
      }
      assert.equal(owners[0]!.h.interest, '1.00', '1000 x 7.3 % x 5 / 365');
      assert.equal(await maturityRun(), 0, 'nothing is due before the maturity date');
      await advanceDays(api, 6);
      await sleep(100); // the second process re-reads the stored clock every 20 ms
      const runs = await Promise.all(Array.from({ length: 4 }, (_, i) => maturityRun(second && i % 2 === 1 ? second.url : server.coffer.url)));
      assert.equal(runs.reduce((a, b) => a + b, 0), owners.length, `each holding settled by exactly one run (${runs.join(', ')})`);
      assert.equal(await maturityRun(), 0, 'a later run finds nothing left');
      for (const { user, h } of owners) {
        assert.equal((await holding(api, user, h.id)).status, 'SETTLED');
        assert.equal(await walletBalance(api, user), '1001.00', 'principal + interest once');
      }
    });

    test('a crash after the ledger post and before the status update: the next run replays the transfers and moves nothing twice', async () => {
      const { api } = server;
      const short = await createProduct(api, { termDays: 1, minAmount: '100.00', stepAmount: '100.00' });
      const long = await createProduct(api, { termDays: 30, annualRate: '3.65', dayCount: 'ACT/365', minAmount: '100.00', stepAmount: '50.00' });
      const user = await fundedUser(api, '5000.00');
      const first = (await subscribe(api, user, short.id, '1000.00')).body;
      const bought = await subscribe(api, user, long.id, '3650.00');
      assert.equal(bought.status, 201, bought.text);
      const crashed = bought.body;
      assert.equal(crashed.interest, '10.95', '3650 x 3.65 % x 30 / 365');
      await advanceDays(api, 3);
      assert.equal(await maturityRun(), 1);
      assert.equal((await holding(api, user, first.id)).status, 'SETTLED');

      // What the job writes, written before it could mark the holding: the crash state.
      const paid = (await api.admin<{ debitAccountId: string; creditAccountId: string }>('GET', `/admin/ledger/transfers/${crashed.id}:subscription`)).body;
      const interestExpense = (await api.admin<{ debitAccountId: string }>('GET', `/admin/ledger/transfers/${first.id}:interest`)).body.debitAccountId;
      const principal = { id: `${crashed.id}:maturity`, debitAccountId: paid.creditAccountId, creditAccountId: paid.debitAccountId, amount: '3650.00', currency: 'CNY', code: 'maturity', reference: crashed.id };
      const posted = await api.admin('POST', '/admin/ledger/linked-transfers', {
        transfers: [principal, { ...principal, id: `${crashed.id}:interest`, debitAccountId: interestExpense, amount: '10.95', code: 'interest' }],
      });
      assert.equal(posted.status, 201, posted.text);
      const afterCrash = await walletBalance(api, user);
      assert.equal(afterCrash, addCny('5000.00', '-1000.00', '-3650.00', '1000.00', first.interest, '3650.00', '10.95'));
      assert.notEqual((await holding(api, user, crashed.id)).status, 'SETTLED', 'the status update never happened');

      await advanceDays(api, 30);
      const racing = await Promise.all([maturityRun(), maturityRun()]);
      assert.equal(racing[0] + racing[1], 1, 'settled once');
      assert.equal((await holding(api, user, crashed.id)).status, 'SETTLED');
      assert.equal(await walletBalance(api, user), afterCrash, 'the replayed transfers moved nothing');
    });

    test('a worker that claimed due holdings and died holds them only until its lease runs out', async () => {
      const { api, coffer } = server;
      const product = await createProduct(api, { termDays: 2, minAmount: '100.00', stepAmount: '100.00' });
      const user = await fundedUser(api, '500.00');
      const h = (await subscribe(api, user, product.id, '500.00')).body;
      await advanceDays(api, 3);
      // The dead worker's claim, exactly as the job takes it (SKIP LOCKED + a lease), and then nothing.
      const now = await businessNow(api);
      const claimed = await repo.claimDueMaturities(coffer.store.db, now.toISOString().slice(0, 10), now, new Date(now.getTime() + 60_000), 100);
      assert.ok(claimed.some((c) => c.id === h.id));
      assert.equal(await maturityRun(), 0, 'claimed by someone else: left alone');
      assert.notEqual((await holding(api, user, h.id)).status, 'SETTLED');
      await advanceDays(api, 1);
      assert.equal(await maturityRun(), claimed.length, 'the lease ran out: the next run takes them');
      assert.equal((await holding(api, user, h.id)).status, 'SETTLED');
      assert.equal(await walletBalance(api, user), addCny('500.00', h.interest));
    });
  });
}
