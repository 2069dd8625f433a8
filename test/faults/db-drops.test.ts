/**
 * Connections to PostgreSQL cut mid-transaction: two Coffer processes reach
 * the server through a proxy that, at seeded moments during a payout load,
 * resets every open connection at once (statements in flight, transactions
 * half done, commits whose answer never arrives) and sometimes refuses new
 * connections for a moment. A few milliseconds of latency on every packet
 * keep statements in flight when the cut comes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { privatePostgresSkip } from '../support/private-postgres.ts';
import { BENEFICIARIES, DbFaultRig, runSeed, seededRandom, waitFor } from './db-rig.ts';

const skip = privatePostgresSkip('database connection drops');
const ROUNDS = 3;
const CUTS_PER_ROUND = 4;

describe('database connections cut mid-transaction under load', { skip }, () => {
  const rig = new DbFaultRig({
    label: 'drops',
    processes: 2,
    proxy: true,
  });
  const seed = runSeed('db-drops');
  const random = seededRandom(seed);

  before(() => rig.start());
  after(() => rig.close());

  for (let round = 1; round <= ROUNDS; round++) {
    test(`round ${round}: no half-applied transaction, no double processing, every acknowledged payout present once and final`, async () => {
      const proxy = rig.proxy!;
      proxy.setLatency(1 + Math.floor(random() * 8));
      const load = rig.load(`D${round}`, 4, random);
      const cuts: string[] = [];
      try {
        for (let cut = 0; cut < CUTS_PER_ROUND; cut++) {
          const acked = rig.acks.length;
          await waitFor('payouts acknowledged between cuts', async () => rig.acks.length >= acked + 2, 60_000);
          await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 800)));
          const refuseMs = random() < 0.5 ? Math.floor(random() * 1500) : 0;
          if (refuseMs) proxy.refuseNew(true);
          cuts.push(`${proxy.dropAll()} cut${refuseMs ? `, refused ${refuseMs} ms` : ''}`);
          await new Promise((resolve) => setTimeout(resolve, refuseMs));
          proxy.refuseNew(false);
        }
      } finally {
        proxy.refuseNew(false);
      }
      const sent = await load.stop();
      console.log(
        `[db-drops] round ${round}: cuts [${cuts.join('; ')}], ${sent} payouts sent, ${rig.acks.length} acknowledged in all,` +
          ` answers ${JSON.stringify(Object.fromEntries(rig.answers))}, ${rig.ordersSent()} orders at the bank so far, ${proxy.accepted} connections opened`,
      );
      assert.ok(cuts.every((c) => !c.startsWith('0 ')), 'every cut found connections open');
      proxy.setLatency(0);
      await rig.assertEverythingSettled(60_000);
    });
  }

  test('a payout saved whose answer to Coffer was lost (the commit happened, the connection died before it said so): present once, its money held and settled once', async () => {
    const proxy = rig.proxy!;
    const lost = 3;
    proxy.loseAnswerTo('insert into payouts', lost);
    const ackedBefore = rig.acks.length;
    await Promise.all(Array.from({ length: 6 }, (_, i) => rig.sendPayout(`LOST-${i}`, BENEFICIARIES[i % BENEFICIARIES.length]!, Date.now() + 60_000)));
    assert.equal(proxy.answersLeftToLose, 0, `${lost} answers lost`);
    assert.equal(rig.acks.length, ackedBefore + 6, 'every payout acknowledged in the end');
    await rig.assertEverythingSettled(60_000);
  });
});
