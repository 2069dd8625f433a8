/**
 * The payouts service on both stores, with a real ledger and risk module and
 * the bank played by the test through the service's `fetch` (by default every
 * connection is refused, so payouts stay ACCEPTED until a test applies a
 * result itself): two acceptances of one merchantOrderNo that both pass the
 * early check (the unique constraint decides, the loser releases its hold and
 * decision); contradicting results at once (the amount hold decides); repeated
 * and out-of-order results (one payout.final per final status); an order whose
 * answer is lost (queried; NOT_FOUND re-sends the same order to the same bank,
 * but not once the query claim’s lease has run out);
 * a refused order and a 5xx.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { DomainError } from '../../src/platform/errors.ts';
import { loadConfig } from '../../src/platform/config.ts';
import { createLogger } from '../../src/platform/log.ts';
import { money, type CurrencyCode } from '../../src/platform/money/index.ts';
import { balancesOf, LedgerService, type Account } from '../../src/modules/ledger/index.ts';
import { RiskService } from '../../src/modules/risk/index.ts';
import { ledgerIds, PayoutsService, type PayoutsDeps, canTransition, payoutStatuses, payoutTransitions } from '../../src/modules/payouts/index.ts';
import { platformKeys, seedBankKeys, tempDir } from '../bank-simulator/support.ts';
import { ensureKeyPair, signText, type KeyPair } from '../../src/protocol/depository.ts';
import path from 'node:path';
import { TestClock } from '../support/clock.ts';
import { openTestStore, testStoreKinds } from '../support/stores.ts';

const CNY = 'CNY' as CurrencyCode;

describe('payout state machine table', () => {
  test('only the SPEC 5 moves are allowed, and final statuses have no way out but SUCCEEDED -> REVERSED', () => {
    const allowed = payoutStatuses.flatMap((from) => payoutStatuses.filter((to) => canTransition(from, to)).map((to) => `${from}->${to}`));
    assert.deepEqual(allowed.sort(), ['ACCEPTED->FAILED', 'ACCEPTED->PROCESSING', 'PROCESSING->FAILED', 'PROCESSING->SUCCEEDED', 'SUCCEEDED->REVERSED']);
    assert.deepEqual(payoutTransitions.FAILED, []);
    assert.deepEqual(payoutTransitions.REVERSED, []);
  });
});

for (const { kind, skip } of await testStoreKinds()) {
  describe(`payouts service: races and channel answers (${kind})`, { skip }, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    let ledger: LedgerService;
    let risk: RiskService;
    let payouts: PayoutsService;
    let deps: PayoutsDeps;
    const refused = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    let settlement: Account;
    let gate: ((merchantId: string) => Promise<void>) | undefined;
    let stillHeld = 0n;
    const clock = new TestClock();
    const dir = tempDir('payout-races');
    let bankKeys: KeyPair;
    /** The bank, played by the test: every server-to-server call Coffer makes, by URL. */
    let bank: ((url: string, body: { reqData: string; serviceName?: string }, signal?: AbortSignal) => Promise<Response>) | undefined;
    const calls: string[] = [];

    before(async () => {
      store = await openTestStore(kind);
      ledger = new LedgerService({ db: store.db, clock, writer: { mode: 'single', maxBatchSize: 10, concurrency: 1 } });
      risk = new RiskService({ db: store.db, clock });
      const keys = platformKeys(dir);
      seedBankKeys(dir);
      bankKeys = ensureKeyPair(path.join(dir, 'bank', 'keys'), 'bank');
      const config = loadConfig({
        LOG_LEVEL: 'silent',
        KEYS_DIR: path.dirname(keys.publicKeyPath),
        BANK_URL: 'http://bank.invalid:9',
        BANK_PUBLIC_KEY_PATH: bankKeys.publicKeyPath,
      });
      settlement = await ledger.openAccount({ ownerKind: 'MERCHANT', ownerId: 'mch_race', type: 'MERCHANT_SETTLEMENT', currency: CNY });
      await ledger.transfer({
        id: 'race-funding',
        debitAccountId: await ledger.platformAccountId('PLATFORM_FUNDING', CNY),
        creditAccountId: settlement.id,
        amountMinor: 100_000n,
        currency: CNY,
        code: 'adjustment',
      });
      deps = {
        db: store.db,
        clock,
        logger: createLogger(config),
        ledger,
        risk,
        config,
        merchants: {
          assertCanUse: async (merchantId: string) => {
            await gate?.(merchantId);
            return {} as never;
          },
          feeFor: async () => money(150n, CNY),
          settlementAccount: async () => settlement,
        },
        sweepPageSize: 2,
        fetch: async (url, init) => {
          calls.push(String(url));
          if (!bank) throw refused;
          return bank(String(url), JSON.parse(String(init?.body)) as { reqData: string }, init?.signal ?? undefined);
        },
      };
      payouts = new PayoutsService(deps);
    });

    after(async () => {
      await payouts?.stop();
      await store?.dispose();
    });

    /** The payout.final events of one payout, oldest first: the statuses they announce. */
    async function finalEvents(payoutId: string): Promise<string[]> {
      const { rows } = await sql<{ payload: { payout: { status: string } } | string }>`
        select payload from outbox_messages where topic = 'payout.final' and key = ${payoutId} order by id`.execute(store.db);
      return rows.map((r) => (typeof r.payload === 'string' ? (JSON.parse(r.payload) as { payout: { status: string } }) : r.payload).payout.status);
    }

    async function pendingDebits(): Promise<bigint> {
      return balancesOf(await ledger.getAccount(settlement.id)).pendingDebits;
    }

    const body = (merchantOrderNo: string, amount: string) => ({
      merchantOrderNo,
      amount,
      currency: 'CNY',
      beneficiary: { name: 'Han Meimei', accountNo: '6222000011117777', bankCode: 'ABC' },
    });

    test('two acceptances past the early duplicate check: the constraint picks one, the other releases its hold and decision', async () => {
      // Both requests wait here until both have arrived, so both pass the early check.
      let arrived = 0;
      let release!: () => void;
      const together = new Promise<void>((resolve) => (release = resolve));
      gate = async () => {
        arrived += 1;
        if (arrived === 2) release();
        await together;
      };
      const before = await pendingDebits();
      const results = await Promise.allSettled([payouts.accept('mch_race', body('RACE-1', '10.00')), payouts.accept('mch_race', body('RACE-1', '20.00'))]);
      gate = undefined;
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected');
      assert.equal(won.length, 1);
      assert.equal(lost.length, 1);
      const winner = won[0]!.value;
      const error = lost[0]!.reason as DomainError;
      assert.ok(error instanceof DomainError, String(error));
      assert.equal(error.code, 'DUPLICATE_MERCHANT_ORDER_NO');
      assert.equal(error.extra?.payoutId, winner.id);
      assert.equal((await pendingDebits()) - before, winner.amountMinor + winner.feeMinor, 'only the winner holds money');
      stillHeld = await pendingDebits();
      const decisions = await risk.listDecisions({ subjectId: 'mch_race', subjectKind: 'MERCHANT' });
      const loserDecision = decisions.data.find((d) => d.reference !== winner.id);
      assert.ok(loserDecision?.releasedAt, 'the loser’s decision is released');
      assert.equal(
        (await ledger.openPendingTransfers({ code: 'payout', createdBefore: new Date(clock.now().getTime() + 60_000) })).filter((t) => t.reference !== winner.id && t.reference?.startsWith('po_'))
          .length,
        0,
        'no hold of the loser is left open',
      );
    });

    test('acceptances of one moment share one transaction for their records; a duplicate among them alone gets 409', async () => {
      // A group-committing ledger (as in production), so the holds of the moment are answered together too.
      const groupLedger = new LedgerService({ db: store.db, clock, writer: { mode: 'group', maxBatchSize: 100, concurrency: 1 } });
      for (const type of ['PAYOUT_CLEARING', 'FEE_INCOME'] as const) await groupLedger.platformAccountId(type, CNY); // known, as in a warm process
      const grouped = new PayoutsService({ ...deps, ledger: groupLedger });
      const orders = ['GROUP-1', 'GROUP-2', 'GROUP-3', 'GROUP-4', 'GROUP-5', 'GROUP-2'];
      const results = await Promise.allSettled(orders.map((orderNo) => grouped.accept('mch_race', body(orderNo, '1.00'))));
      await grouped.stop();
      assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
      const accepted = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const error = (results[5] as PromiseRejectedResult).reason as DomainError;
      assert.equal(error.code, 'DUPLICATE_MERCHANT_ORDER_NO');
      assert.equal(error.extra?.payoutId, accepted[1]!.id, 'the 409 names the payout that has the order number');
      const { rows } = await sql<{ n: number; transactions: number }>`
        select count(*)::int as n, count(distinct xmin::text)::int as transactions from payouts where merchant_order_no like 'GROUP-%'`.execute(store.db);
      assert.deepEqual(rows[0], { n: 5, transactions: 1 }, 'five records, written by one transaction');
      const events = await sql<{ n: number }>`
        select count(*)::int as n from outbox_messages where topic = 'payout.accepted' and key = any(${accepted.map((p) => p.id)}::text[])`.execute(store.db);
      assert.equal(events.rows[0]!.n, 5, 'each saved payout has its event');
      for (const payout of accepted) assert.equal((await payouts.get('mch_race', payout.id)).status, 'ACCEPTED');
      // Out of the way of the tests below: the bank fails them, their holds are voided.
      for (const payout of accepted) {
        assert.equal(await payouts.applyResult({ payoutId: payout.id, status: 'FAILED', errorCode: 'TEST', timestamp: clock.now().toISOString() }, 'notification'), 'settled');
      }
      assert.equal(await pendingDebits(), stillHeld, 'only the first test’s winner still holds');
    });

    test('SUCCEEDED and FAILED applied at once: one wins, and the money agrees with the status', async () => {
      for (let round = 0; round < 4; round += 1) {
        const p = await payouts.accept('mch_race', body(`CONTRA-${round}`, '5.00'));
        const result = { payoutId: p.id, amount: '5.00', currency: 'CNY', timestamp: new Date().toISOString() };
        const outcomes = await Promise.all(
          round % 2 === 0
            ? [payouts.applyResult({ ...result, status: 'SUCCEEDED' }, 'notification'), payouts.applyResult({ ...result, status: 'FAILED', errorCode: 'X' }, 'query')]
            : [payouts.applyResult({ ...result, status: 'FAILED', errorCode: 'X' }, 'query'), payouts.applyResult({ ...result, status: 'SUCCEEDED' }, 'notification')],
        );
        assert.deepEqual(outcomes.filter((o) => o === 'settled').length, 1, `round ${round}: ${outcomes.join(', ')}`);
        const final = await payouts.get('mch_race', p.id);
        const states = await Promise.all(['amount', 'fee'].map(async (part) => (await ledger.getTransfer(ledgerIds.hold(p.id, part as 'amount'))).state));
        if (final.status === 'SUCCEEDED') assert.deepEqual(states, ['POSTED', 'POSTED'], `round ${round}`);
        else assert.deepEqual([final.status, ...states], ['FAILED', 'VOIDED', 'VOIDED'], `round ${round}`);
        assert.deepEqual(await finalEvents(p.id), [final.status], 'one payout.final event, for the status that stands');
      }
      assert.equal(await pendingDebits(), stillHeld, 'only the first test’s winner still holds');
    });

    test('results repeated and out of order publish one payout.final per final status, in order, and return the money once', async () => {
      const p = await payouts.accept('mch_race', body('ORDERLY-1', '7.00'));
      const available = balancesOf(await ledger.getAccount(settlement.id)).available;
      const base = { payoutId: p.id, amount: '7.00', currency: 'CNY', timestamp: new Date().toISOString() };
      const reversed = { ...base, status: 'REVERSED' as const, errorCode: 'RETURNED_BY_BENEFICIARY_BANK' };
      const succeeded = { ...base, status: 'SUCCEEDED' as const };
      const outcomes = [];
      for (const result of [reversed, succeeded, reversed, succeeded, reversed]) outcomes.push(await payouts.applyResult(result, 'notification'));
      assert.deepEqual(outcomes, ['settled', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);
      assert.equal(await payouts.applyResult({ ...base, status: 'FAILED', errorCode: 'LATE' }, 'query'), 'contradicted');
      assert.equal((await payouts.get('mch_race', p.id)).status, 'REVERSED');
      assert.deepEqual(await finalEvents(p.id), ['SUCCEEDED', 'REVERSED']);
      const after = balancesOf(await ledger.getAccount(settlement.id)).available;
      assert.equal(after - available, 700n + 150n, 'amount and fee returned once');
    });

    function signed(result: Record<string, unknown>): Response {
      const reqData = JSON.stringify({ timestamp: new Date().toISOString(), ...result });
      return new Response(JSON.stringify({ reqData, signature: signText(reqData, bankKeys.privateKey) }), { status: 200, headers: { 'content-type': 'application/json' } });
    }

    test('an order with no answer is queried; NOT_FOUND sends the same order to the same bank again; the answer settles it', async () => {
      const orders: string[] = [];
      let queries = 0;
      bank = async (url, body) => {
        const data = JSON.parse(body.reqData) as { payoutId: string; amount?: string };
        if (url.endsWith('/payouts')) {
          // Orders of payouts left ACCEPTED by the tests above (they come due as the clock moves) are not this test's.
          if (data.amount !== '3.00') throw refused;
          orders.push(body.reqData);
          if (orders.length === 1) throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } }); // lost on the way
          return signed({ payoutId: data.payoutId, status: 'PROCESSING', amount: '3.00', currency: 'CNY', channelRef: 'BNK-1' });
        }
        queries += 1;
        if (queries === 1) return signed({ payoutId: data.payoutId, status: 'NOT_FOUND' });
        return signed({ payoutId: data.payoutId, status: 'SUCCEEDED', amount: '3.00', currency: 'CNY', channelRef: 'BNK-1' });
      };
      calls.length = 0;
      const p = await payouts.accept('mch_race', body('LOST-1', '3.00'));
      await payouts.idle();
      assert.equal((await payouts.get('mch_race', p.id)).status, 'PROCESSING', 'no answer: outcome unknown');
      assert.equal(await payouts.dispatchDue(), 0, 'a PROCESSING payout is never dispatched again');

      clock.advance(60_000);
      assert.equal(await payouts.queryDue(), 0, 'NOT_FOUND: sent again, nothing settled yet');
      assert.equal(orders.length, 2);
      assert.equal(JSON.parse(orders[1]!).payoutId, p.id, 'the same payout id: the bank’s idempotency key');
      assert.equal((await payouts.get('mch_race', p.id)).status, 'PROCESSING');

      clock.advance(120_000);
      assert.equal(await payouts.queryDue(), 1);
      const done = await payouts.get('mch_race', p.id);
      assert.deepEqual([done.status, done.channelRef], ['SUCCEEDED', 'BNK-1']);
      assert.ok(calls.every((url) => url.startsWith('http://bank.invalid:9/')), 'only ever the one channel');
      assert.deepEqual(await finalEvents(p.id), ['SUCCEEDED']);
      bank = undefined;
    });

    test('NOT_FOUND found after the query claim’s lease ran out sends nothing (another process may have the payout by then); the next claim sends it once', async () => {
      // A second process whose query lease (200 ms on the first claim) is shorter than a slow answer.
      const payouts200 = { ...deps.config.payouts, queryAfterMs: 200, orderTimeoutMs: 100 };
      const other = new PayoutsService({ ...deps, config: { ...deps.config, payouts: payouts200 } });
      const ours = new Set<string>();
      const orders: string[] = [];
      let slowAnswers = 1;
      bank = async (url, body) => {
        const data = JSON.parse(body.reqData) as { payoutId: string; amount?: string };
        if (url.endsWith('/payouts')) {
          // Orders of payouts left ACCEPTED by the tests above are not this test's.
          if (data.amount !== '5.00' && data.amount !== '6.00') throw refused;
          orders.push(data.payoutId);
          throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } }); // lost on the way: outcome unknown
        }
        if (!ours.has(data.payoutId)) throw refused;
        if (slowAnswers-- > 0) await new Promise((resolve) => setTimeout(resolve, 300));
        return signed({ payoutId: data.payoutId, status: 'NOT_FOUND' });
      };
      const accepted = [await payouts.accept('mch_race', body('SLOW-1', '5.00')), await payouts.accept('mch_race', body('SLOW-2', '6.00'))];
      for (const p of accepted) ours.add(p.id);
      await payouts.idle();
      assert.deepEqual(orders.sort(), accepted.map((p) => p.id).sort(), 'each ordered once, the answers lost');
      orders.length = 0;

      clock.advance(60_000);
      await other.queryDue();
      assert.deepEqual(orders, [], 'the first answer came after both leases ran out: neither is sent again by this claim');

      clock.advance(60_000);
      await other.queryDue();
      assert.deepEqual(orders.sort(), accepted.map((p) => p.id).sort(), 'the next claim (a longer lease) sends each once');
      for (const p of accepted) assert.equal((await payouts.get('mch_race', p.id)).status, 'PROCESSING');
      await other.stop();
      bank = undefined;
    });

    test('an order the bank refuses as invalid fails the payout: hold voided, decision released; a 5xx is an unknown outcome', async () => {
      bank = async (url) => {
        assert.ok(url.endsWith('/payouts'));
        return new Response(JSON.stringify({ code: 'VALIDATION_FAILED', detail: 'bad bank code' }), { status: 400 });
      };
      const refused = await payouts.accept('mch_race', body('REFUSED-1', '4.00'));
      await payouts.idle();
      const failed = await payouts.get('mch_race', refused.id);
      assert.deepEqual([failed.status, failed.errorCode], ['FAILED', 'CHANNEL_REJECTED']);
      assert.equal((await ledger.getTransfer(ledgerIds.hold(refused.id, 'amount'))).state, 'VOIDED');
      assert.ok((await risk.getDecision(refused.riskDecisionId)).releasedAt);

      bank = async () => new Response('upstream broke', { status: 502 });
      const unknown = await payouts.accept('mch_race', body('BROKEN-1', '4.00'));
      await payouts.idle();
      assert.equal((await payouts.get('mch_race', unknown.id)).status, 'PROCESSING');
      assert.equal((await ledger.getTransfer(ledgerIds.hold(unknown.id, 'amount'))).state, 'PENDING', 'the money stays held until the bank says');
      bank = undefined;
    });

    test('the orphan sweeper pages past live payouts’ old holds to reach an orphan', async () => {
      const live = [];
      for (let i = 0; i < 3; i += 1) live.push(await payouts.accept('mch_race', body(`LIVE-${i}`, '2.00'))); // refused: stay ACCEPTED, held
      await payouts.idle();
      clock.advance(1_000);
      const orphanId = 'po_orphanafterlive';
      await ledger.linkedTransfers([
        {
          id: ledgerIds.hold(orphanId, 'amount'),
          debitAccountId: settlement.id,
          creditAccountId: await ledger.platformAccountId('PAYOUT_CLEARING', CNY),
          amountMinor: 200n,
          currency: CNY,
          code: 'payout',
          reference: orphanId,
          pending: {},
        },
      ]);
      clock.advance(601_000);
      let runs = 0;
      while ((await ledger.getTransfer(ledgerIds.hold(orphanId, 'amount'))).state === 'PENDING') {
        runs += 1;
        assert.ok(runs <= 10, 'the sweeper reaches the orphan');
        await payouts.releaseOrphanHolds();
      }
      assert.ok(runs > 1, `more live holds than one page stand before the orphan (${runs} runs)`);
      for (const p of live) assert.equal((await ledger.getTransfer(ledgerIds.hold(p.id, 'amount'))).state, 'PENDING', 'live holds are kept');
    });

    test('shutdown cuts a hanging order short: the payout is PROCESSING (outcome unknown), to be queried later', async () => {
      let ordered!: () => void;
      const orderArrived = new Promise<void>((resolve) => (ordered = resolve));
      bank = async (_url, body, signal) => {
        if ((JSON.parse(body.reqData) as { amount: string }).amount !== '1.23') throw refused; // another test's payout
        return new Promise<Response>((_resolve, reject) => {
          ordered();
          signal?.addEventListener('abort', () => reject(signal.reason as Error));
        });
      };
      const p = await payouts.accept('mch_race', body('HANGING-1', '1.23'));
      await orderArrived;
      const started = Date.now();
      await payouts.stop(); // the last test: the service takes no more work afterwards
      assert.ok(Date.now() - started < 2_000, 'not waiting out the 10 s order time-out');
      assert.equal((await payouts.get('mch_race', p.id)).status, 'PROCESSING');
      assert.equal((await ledger.getTransfer(ledgerIds.hold(p.id, 'amount'))).state, 'PENDING');
      bank = undefined;
    });
  });
}
