/**
 * A slow database: every packet between two Coffer processes and PostgreSQL
 * waits (a proxy adds latency), so a statement takes longer than a lease is
 * meant to last — the payout dispatch lease, the outbox lease, the batch
 * rows' lease and the Idempotency-Key lease are all set shorter than a few
 * statements. Leases run out while their holder still works, other processes
 * take the work over; nothing may be done twice where it counts: the bank gets
 * one payout per id and never two orders of one payout at once, every batch
 * row is one payout, every acknowledged payout is present once and final, and
 * the books hold.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { balanceOf } from '../payouts/support.ts';
import { batchMerchant, csvOf, decide, uploaded } from '../payout-batches/support.ts';
import { privatePostgresSkip } from '../support/private-postgres.ts';
import { BENEFICIARIES, DbFaultRig, runSeed, seededRandom, waitFor } from './db-rig.ts';

const skip = privatePostgresSkip('slow database');
const PAYOUTS = 12;
const BATCH_ROWS = 10;

describe('a database slower than the leases', { skip }, () => {
  const rig = new DbFaultRig({
    label: 'slow',
    processes: 2,
    proxy: true,
    cofferEnv: {
      PAYOUT_ORDER_TIMEOUT_MS: '600', // dispatch lease: 2 x this
      OUTBOX_LEASE_MS: '800',
      PAYOUT_BATCH_LEASE_MS: '800',
      IDEMPOTENCY_LEASE_MS: '800',
      PAYOUT_BATCH_CONCURRENCY: '4',
      // The sweeper decides on age alone: it must not take a payout still being saved this slowly for an orphan.
      PAYOUT_ORPHAN_HOLD_AFTER_S: '120',
    },
  });
  const seed = runSeed('db-slow');
  const random = seededRandom(seed);

  before(() => rig.start());
  after(() => rig.close());

  test('statements slower than the leases: no payout paid twice, no order sent while another is out, every batch row one payout, everything completes', async () => {
    const batch = await batchMerchant(rig.admin, '10000.00');
    const csv = csvOf(Array.from({ length: BATCH_ROWS }, (_, i) => `SLOW-ROW-${i},1.00,CNY,Li Lei,6222000011112222,ICBC,`));
    const uploadedBatch = await uploaded(batch.maker, csv);

    const latencyMs = 120 + Math.floor(random() * 80);
    rig.proxy!.setLatency(latencyMs);
    const startedAt = Date.now();
    const approved = decide(batch.checker, uploadedBatch.id, 'approve');
    const sent = await Promise.all(
      Array.from({ length: PAYOUTS }, (_, i) => rig.sendPayout(`SLOW-${i}`, BENEFICIARIES[Math.floor(random() * BENEFICIARIES.length)]!, Date.now() + 120_000)),
    );
    assert.ok(sent.every(Boolean), 'every payout acknowledged');
    assert.equal((await approved).status, 200);

    await waitFor(
      'the batch PROCESSED',
      async () => (await rig.query<{ status: string }>('select status from payout_batches where id = $1', [uploadedBatch.id]))[0]?.status === 'PROCESSED',
      150_000,
    );
    await rig.assertEverythingSettled(150_000);
    const settledMs = Date.now() - startedAt;

    const rows = await rig.query<{ status: string; payout_id: string; attempts: number; error_code: string | null }>(
      'select status, payout_id, attempts, error_code from payout_batch_rows where batch_id = $1',
      [uploadedBatch.id],
    );
    assert.deepEqual([...new Set(rows.map((r) => r.status))], ['SUCCEEDED'], `every row paid: ${JSON.stringify(rows.filter((r) => r.status !== 'SUCCEEDED'))}`);
    const made = await rig.query<{ id: string }>('select id from payouts where merchant_id = $1', [batch.merchantId]);
    assert.equal(new Set(rows.map((r) => r.payout_id)).size, BATCH_ROWS, 'a payout per row');
    assert.equal(made.length, BATCH_ROWS, 'no row paid twice');
    await rig.assertPaidOnceAtTheBank(made.map((p) => p.id));
    assert.equal((await balanceOf(batch.maker)).pendingDebits, '0.00', 'no batch hold left');

    const overrun = await leasesOverrun(rig);
    console.log(
      `[db-slow] latency ${latencyMs} ms a packet: ${PAYOUTS} payouts and a ${BATCH_ROWS}-row batch settled ${settledMs} ms after the start;` +
        ` ${rig.ordersSent()} orders at the bank for ${PAYOUTS + BATCH_ROWS} payouts; ${rows.filter((r) => r.attempts > 1).length} batch rows claimed again;` +
        ` outbox messages claimed more than once ${overrun.outboxReclaimed}, payouts claimed for dispatch more than once ${overrun.dispatchReclaimed};` +
        ` answers ${JSON.stringify(Object.fromEntries(rig.answers))}`,
    );
  });
});

/** How often a lease ran out and the work was claimed again (for the log: it says the test did what it claims). */
async function leasesOverrun(rig: DbFaultRig): Promise<{ outboxReclaimed: number; dispatchReclaimed: number }> {
  const [row] = await rig.query<{ outbox: number; dispatch: number }>(
    `select (select count(*)::int4 from outbox_messages where attempts > 1) as outbox,
            (select count(*)::int4 from payouts where dispatch_attempts > 1) as dispatch`,
  );
  return { outboxReclaimed: row!.outbox, dispatchReclaimed: row!.dispatch };
}
