/**
 * Booking and closing race (both stores, the server one with a pool of
 * connections): lines booked by a process whose clock still sees the day open
 * while another process closes it. Every line must end up exactly once, either
 * in the stored file of the closed day or (late) in the next day — never in the
 * closed day's rows but missing from its file. No randomness: the same rounds
 * every run. (Without the day row lock, the server store fails this at once.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ReconciliationService } from '../../src/modules/reconciliation/index.ts';
import { TestClock } from '../support/clock.ts';
import { openTestStore, testStoreKinds } from '../support/stores.ts';

const DAY = '2026-12-03';
const NEXT = '2026-12-04';
const LINES = 60;

function event(merchantId: string, i: number) {
  return {
    merchantId,
    status: 'SUCCEEDED' as const,
    payout: {
      id: `po_${merchantId}_${i}`,
      merchantOrderNo: `race-${i}`,
      amount: '10.00',
      fee: '1.00',
      currency: 'CNY',
      beneficiary: { accountNo: '6222000011112222' },
      updated: `${DAY}T23:59:59.${String(i).padStart(3, '0')}Z`,
    },
  };
}

function payoutIds(csv: string): string[] {
  return csv.split('\r\n').slice(1).filter((l) => l && !l.startsWith('SUMMARY')).map((l) => l.split(',')[2]!);
}

for (const { kind, skip } of await testStoreKinds()) {
  describe(`reconciliation: booking races closing (${kind})`, { skip }, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    before(async () => {
      store = await openTestStore(kind, 10);
    });
    after(async () => {
      await store?.dispose();
    });

    test('every line lands exactly once: in the closed file, or late in the next day', async () => {
      // The booker's clock is a moment before the close; the closer's a moment after it (two processes whose clocks differ).
      const booker = new ReconciliationService({ db: store.db, clock: new TestClock(`${NEXT}T00:59:59.999Z`), options: { closeAfterS: 3600 } });
      const closer = new ReconciliationService({ db: store.db, clock: new TestClock(`${NEXT}T01:00:00.000Z`), options: { closeAfterS: 3600 } });
      let late = 0;
      // Rounds (one merchant each) close after a different number of bookings have started; the rest run alongside the close.
      for (const [round, closeAfter] of [5, 15, 25, 35, 45, 55].entries()) {
        const merchantId = `mch_race${round}`;
        // Six workers book one line after another; the close starts once `closeAfter` lines are booked, the workers go on.
        let next = 0;
        let done = 0;
        let closing: Promise<{ csv: string }> | undefined;
        const outcomes: string[] = [];
        const worker = async () => {
          while (next < LINES) {
            outcomes.push(await booker.book(event(merchantId, next++)));
            if (++done === closeAfter) closing = closer.file(merchantId, DAY);
          }
        };
        await Promise.all(Array.from({ length: 6 }, worker));
        const first = await closing!;
        const closed = await closer.file(merchantId, DAY);
        assert.equal(closed.closed, true);
        assert.equal(first.csv, closed.csv, 'the closed file stays as stored');
        const inClosed = payoutIds(closed.csv);
        const inNext = payoutIds((await closer.file(merchantId, NEXT)).csv);
        const expected = Array.from({ length: LINES }, (_, i) => event(merchantId, i).payout.id);
        assert.deepEqual([...inClosed, ...inNext].sort(), expected.sort(), `round ${round}: each line once`);
        assert.equal(outcomes.filter((o) => o === 'late').length, inNext.length);
        late += inNext.length;
      }
      assert.ok(late > 0, 'bookings went on after closes: the race was run');
    });
  });
}
