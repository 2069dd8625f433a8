/**
 * PostgreSQL restarted under load: two Coffer processes and the real bank
 * simulator while merchants send payouts; the server is crashed (immediate
 * stop: every server process killed, recovery at the next start) or shut down,
 * stays down for a few seconds and comes back. The Coffer processes are not
 * restarted: their pools reconnect.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { privatePostgresSkip } from '../support/private-postgres.ts';
import { DbFaultRig, runSeed, seededRandom, waitFor } from './db-rig.ts';

const skip = privatePostgresSkip('database restart');

describe('PostgreSQL restarted under load', { skip }, () => {
  const rig = new DbFaultRig({ label: 'restart', processes: 2, proxy: false });
  const seed = runSeed('db-restart');
  const random = seededRandom(seed);

  before(() => rig.start());
  after(() => rig.close());

  for (const [round, mode] of [
    [1, 'immediate'],
    [2, 'fast'],
  ] as const) {
    test(`round ${round}, ${mode} stop: every acknowledged payout present once and final, /readyz 503 while down and 200 after, the processes recover on their own`, async () => {
      const pids = rig.processes.map((p) => p.pid);
      const load = rig.load(`R${round}`, 4, random);
      const ackedBefore = rig.acks.length;
      await waitFor('payouts acknowledged before the stop', async () => rig.acks.length >= ackedBefore + 8, 60_000);
      const readiness = rig.watchReadiness();
      await waitFor('both processes seen ready', async () => (await readinessNow(rig)).every((s) => s === 200), 10_000);

      const downMs = 2000 + Math.floor(random() * 2000);
      await rig.server.stop(mode);
      const ackedWhileDown = rig.acks.length;
      try {
        await waitFor('both processes not ready', async () => (await readinessNow(rig)).every((s) => s === 503), 15_000);
        await new Promise((resolve) => setTimeout(resolve, downMs));
      } finally {
        await rig.server.start();
      }

      await waitFor('payouts acknowledged after the restart', async () => rig.acks.length >= ackedWhileDown + 8, 60_000);
      const sent = await load.stop();
      const seen = await readiness.stop();
      console.log(
        `[db-restart] round ${round} (${mode}, down ${downMs} ms): ${sent} payouts sent, ${rig.acks.length - ackedBefore} acknowledged,` +
          ` answers ${JSON.stringify(Object.fromEntries(rig.answers))}, readiness ${JSON.stringify(Object.fromEntries(seen))}, ${rig.ordersSent()} orders at the bank so far`,
      );

      for (const [name, statuses] of seen) {
        assert.equal(statuses[0], 200, `${name} ready before the stop`);
        assert.ok(statuses.includes(503), `${name} said 503 while the database was down`);
        assert.equal(statuses.at(-1), 200, `${name} ready again after the restart`);
      }
      assert.deepEqual(
        rig.processes.map((p) => [p.pid, p.alive()]),
        pids.map((pid) => [pid, true]),
        'the same processes, still running',
      );
      await rig.assertEverythingSettled(60_000);
    });
  }
});

async function readinessNow(rig: DbFaultRig): Promise<number[]> {
  return Promise.all(
    rig.processes.map((p) =>
      fetch(`${p.url}/readyz`, { signal: AbortSignal.timeout(5000) }).then(
        (r) => r.status,
        () => 0,
      ),
    ),
  );
}
