/**
 * The server killed between two steps of each flow: for every crash point in
 * src/platform/faults.ts, one deterministic run. The Coffer process is started
 * with COFFER_CRASH_AT=<point>:1, the flow that passes the point is driven
 * through the HTTP API (the client retrying as a careful one does), the
 * process dies there with SIGKILL, is started again on the same database, and
 * the flow must then complete exactly once: every acknowledged operation final,
 * its money moved once, nothing left held or pending, the ledger intact.
 *
 * PostgreSQL server, one Coffer process (the embedded store's kill -9 and
 * restart is proven by the crash suite). A scenario that does not reach its
 * crash point fails: the list and the code must not drift apart.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CRASH_POINTS, type CrashPointName } from '../../src/platform/faults.ts';
import { createServerDatabase, postgresUnavailable } from '../support/stores.ts';
import { assertClean, BENEFICIARIES, FaultRig, recoverAndCheck, Rng, seedFromEnv, Workload } from './harness.ts';

const reason = await postgresUnavailable();
if (reason && process.env.CI) throw new Error(`${reason}; CI must run the PostgreSQL suites`);

const seed = seedFromEnv();
const PAID = BENEFICIARIES[0];

/** The flow that passes each point (the last one moves the business clock: it runs last). */
const SCENARIOS: Record<CrashPointName, (w: Workload, rig: FaultRig) => Promise<unknown>> = {
  'depository.notification-received': (w) => w.recharge(w.users[0]!, true),
  'depository.after-settle-commit': (w) => w.recharge(w.users[0]!, true),
  'wallets.after-ledger-before-record': (w) => w.recharge(w.users[0]!, true),
  'wallets.withdraw-after-hold': (w) => w.withdraw(w.users[1]!),
  'wallets.card-recharge-before-sms': (w) => w.cardRecharge(w.users[0]!),
  'payouts.after-hold': (w) => w.payout(w.merchants[0]!, PAID),
  'payouts.after-accept-commit': (w) => w.payout(w.merchants[0]!, PAID),
  'payouts.before-order': (w) => w.payout(w.merchants[0]!, PAID),
  'payouts.after-order-answer': (w) => w.payout(w.merchants[0]!, PAID),
  'payouts.after-ledger-before-final': (w) => w.payout(w.merchants[0]!, PAID),
  'payouts.after-final-commit': (w) => w.payout(w.merchants[0]!, BENEFICIARIES[2]),
  'payout-batches.after-row-accept': (w) => w.batch(w.merchants[0]!),
  'payments.after-confirm-claim': (w) => w.cardSubscribe(w.users[0]!),
  'payments.after-channel-answer': (w) => w.cardSubscribe(w.users[0]!),
  'payments.after-ledger-before-final': (w) => w.cardSubscribe(w.users[0]!),
  'products.after-wallet-debit': (w) => w.subscribe(w.users[0]!),
  'outbox.after-deliver-before-ack': (w) => w.recharge(w.users[0]!, true),
  'webhooks.after-post-before-record': (w) => w.payout(w.merchants[0]!, PAID),
  'products.maturity-after-ledger': async (w, rig) => {
    await w.subscribe(w.users[0]!);
    await rig.admin.request('POST', '/sandbox/clock/advance', { days: 95 });
  },
};

/**
 * Each point costs two Coffer starts, so `npm test` runs SHORT_FORM_POINTS of
 * them, picked by the seed (printed: FAULT_SEED replays the pick), a different
 * few each run. FAULT_POINTS=all runs every one (on one rig: a point's failure
 * carries into the points after it); FAULT_POINTS=a.b,c.d those.
 */
const SHORT_FORM_POINTS = 5;

function chosenPoints(): CrashPointName[] {
  const all = Object.keys(SCENARIOS) as CrashPointName[];
  const wanted = process.env.FAULT_POINTS;
  if (wanted === 'all') return all;
  if (wanted) return all.filter((point) => wanted.split(',').includes(point));
  const rng = new Rng(seed);
  const picked = new Set<CrashPointName>();
  while (picked.size < SHORT_FORM_POINTS) picked.add(rng.pick(all));
  console.log(`[faults] crash points this run (FAULT_SEED=${seed}; FAULT_POINTS=all for every one): ${[...picked].join(', ')}`);
  return all.filter((point) => picked.has(point));
}

describe('the server killed between two steps of each flow (PostgreSQL)', { skip: reason ? `SKIPPED: ${reason}` : false }, () => {
  let rig: FaultRig;
  let workload: Workload;
  let database: Awaited<ReturnType<typeof createServerDatabase>>;

  before(async () => {
    database = await createServerDatabase();
    rig = new FaultRig({ store: 'postgres', processes: 1, databaseUrl: database.url });
    await rig.start();
    workload = new Workload(rig, new Rng(seed));
    await workload.prepare(2);
    // Money to withdraw and to subscribe with.
    for (const user of workload.users) await workload.recharge(user, true);
    assertClean(seed, { round: 0, ...(await recoverAndCheck(rig, workload, 60_000)) });
  });

  after(async () => {
    await rig?.stop();
    await database?.drop();
  });

  test('every crash point has a scenario here', () => {
    assert.deepEqual(Object.keys(SCENARIOS).sort(), [...CRASH_POINTS].sort());
  });

  for (const point of chosenPoints()) {
    test(`killed at ${point}: after a restart the flow completes exactly once`, async () => {
      const coffer = await rig.restartCoffer(0, `${point}:1`);
      const acked = workload.acked.length;
      const flow = SCENARIOS[point](workload, rig);
      // The kill comes in the request, or in a job or relay soon after it was acknowledged.
      const deadline = Date.now() + 60_000;
      while (coffer.alive() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok(!coffer.alive(), `the process never reached ${point}`);
      assert.match(coffer.output(), new RegExp(`COFFER_CRASH_POINT ${point.replace('.', '\\.')} 1`));
      await rig.restartDead();
      await flow;
      assert.ok(workload.acked.length > acked, `the flow was acknowledged in the end: refused ${JSON.stringify(workload.refused.slice(-3))}`);
      assertClean(seed, { round: 0, ...(await recoverAndCheck(rig, workload, 90_000)) });
    });
  }
});
