/**
 * Races inside the payouts service, on both stores, with a real ledger and
 * risk module and the bank kept out of the way (every order's connection is
 * refused, so payouts stay ACCEPTED until a test applies a result itself):
 * two acceptances of one merchantOrderNo that both pass the early check (the
 * unique constraint decides, the loser releases its hold and decision), and
 * two contradicting bank results at once (the amount hold decides: the money
 * and the status agree, whichever wins).
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
import { ledgerIds, PayoutsService, canTransition, payoutStatuses, payoutTransitions } from '../../src/modules/payouts/index.ts';
import { platformKeys, tempDir } from '../bank-simulator/support.ts';
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
  describe(`payout races in the service (${kind})`, { skip }, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    let ledger: LedgerService;
    let risk: RiskService;
    let payouts: PayoutsService;
    let settlement: Account;
    let gate: ((merchantId: string) => Promise<void>) | undefined;
    let stillHeld = 0n;
    const clock = new TestClock();
    const dir = tempDir('payout-races');

    before(async () => {
      store = await openTestStore(kind);
      ledger = new LedgerService({ db: store.db, clock, writer: { mode: 'single', maxBatchSize: 10, concurrency: 1 } });
      risk = new RiskService({ db: store.db, clock });
      const keys = platformKeys(dir);
      const config = loadConfig({ LOG_LEVEL: 'silent', KEYS_DIR: keys.publicKeyPath.replace(/\/[^/]+$/, ''), BANK_URL: 'http://127.0.0.1:9' });
      settlement = await ledger.openAccount({ ownerKind: 'MERCHANT', ownerId: 'mch_race', type: 'MERCHANT_SETTLEMENT', currency: CNY });
      await ledger.transfer({
        id: 'race-funding',
        debitAccountId: await ledger.platformAccountId('PLATFORM_FUNDING', CNY),
        creditAccountId: settlement.id,
        amountMinor: 100_000n,
        currency: CNY,
        code: 'adjustment',
      });
      const refused = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
      payouts = new PayoutsService({
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
        fetch: async () => {
          throw refused;
        },
      });
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
  });
}
