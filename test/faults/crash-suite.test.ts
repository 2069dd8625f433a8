/**
 * The seeded crash and fault suite (SPEC 9, issue 6): random operations across
 * the flows through the real HTTP APIs while Coffer processes and the bank
 * simulator are killed with SIGKILL (at random moments and at crash points)
 * and the bank's notifications are duplicated, failed, held and re-sent out of
 * order. After each round: recovery, then every acknowledged operation exactly
 * once and final, its money moved once, nothing stuck, the ledger intact.
 *
 * Short form (npm test): a few rounds per store. Long form: FAULT_DURATION_S=600
 * (npm run faults:long) runs rounds until the time is up and prints the totals.
 * FAULT_SEED=<n> replays a seed's script of operations and faults.
 */
import { after, before, describe, test } from 'node:test';
import { createServerDatabase, postgresUnavailable } from '../support/stores.ts';
import { assertClean, DEFAULT_ACTORS, describeReport, FaultRig, Rng, runRound, seedFromEnv, Workload, type RoundReport, type StoreUnderTest } from './harness.ts';

const reason = await postgresUnavailable();
if (reason && process.env.CI) throw new Error(`${reason}; CI must run the PostgreSQL suites`);

const seed = seedFromEnv();
const durationS = Number(process.env.FAULT_DURATION_S ?? 0);
/** FAULT_STORE=postgres|embedded runs one store only; the long form runs PostgreSQL unless told. */
const onlyStore = (process.env.FAULT_STORE ?? (durationS > 0 ? 'postgres' : undefined)) as StoreUnderTest | undefined;

const stores: { store: StoreUnderTest; processes: number; skip: string | false; rounds: number; faultMs: number }[] = [
  { store: 'postgres', processes: 2, skip: reason ? `SKIPPED: ${reason}` : false, rounds: 2, faultMs: 20_000 },
  { store: 'embedded', processes: 1, skip: false, rounds: 1, faultMs: 20_000 },
];

for (const { store, processes, skip, rounds, faultMs } of stores) {
  const long = durationS > 0;
  const skipped = skip || (onlyStore && store !== onlyStore ? `FAULT_STORE=${onlyStore}` : false);
  describe(`crash and fault suite on ${store === 'postgres' ? `PostgreSQL, ${processes} Coffer processes` : 'the embedded store, one process'}`, { skip: skipped }, () => {
    let rig: FaultRig;
    let workload: Workload;
    let database: Awaited<ReturnType<typeof createServerDatabase>> | undefined;

    before(async () => {
      if (store === 'postgres') database = await createServerDatabase();
      rig = new FaultRig({ store, processes, ...(database ? { databaseUrl: database.url } : {}) });
      await rig.start();
      workload = new Workload(rig, new Rng(seed));
      await workload.prepare();
    });

    after(async () => {
      await rig?.stop();
      await database?.drop();
    });

    test(`kills, crash points and notification faults, seed ${seed}: every acknowledged operation once and final, nothing stuck, the ledger intact`, async () => {
      const reports: RoundReport[] = [];
      const endsAt = Date.now() + durationS * 1000;
      for (let round = 1; long ? Date.now() < endsAt : round <= rounds; round++) {
        // The long form's rounds are longer: more faults overlap, fewer pauses for recovery.
        const report = await runRound(rig, workload, { seed, round, faultMs: long ? 60_000 : faultMs, workers: 4, actors: DEFAULT_ACTORS, faultEveryMs: 2000, recoveryMs: 120_000 });
        reports.push(report);
        console.log(`[faults] ${store} ${describeReport(seed, report)}`.slice(0, 1500));
        if (report.violations.length + report.lost.length + report.duplicated.length + Object.keys(report.stuck).length > 0) {
          console.log(rig.output());
          // The long form goes on (its totals count every violation); the short form stops at the first.
          if (!long) assertClean(seed, report);
        }
      }
      console.log(`[faults] ${store} totals: ${JSON.stringify(totals(reports, rig.crashPointsHit()))}`);
      for (const report of reports) assertClean(seed, report);
    });
  });
}

function totals(reports: RoundReport[], crashPointsHit: string[]) {
  const sum = (pick: (report: RoundReport) => Record<string, number>) => {
    const out: Record<string, number> = {};
    for (const report of reports) for (const [name, n] of Object.entries(pick(report))) out[name] = (out[name] ?? 0) + n;
    return out;
  };
  const faults = sum((report) => report.faults);
  return {
    seed,
    rounds: reports.length,
    acknowledged: reports.reduce((total, r) => total + r.acknowledged, 0),
    acknowledgedBy: sum((report) => report.acknowledgedBy),
    refused: reports.reduce((total, r) => total + r.refused, 0),
    faults,
    crashPointsHit: crashPointsHit.length,
    distinctCrashPointsHit: [...new Set(crashPointsHit)].sort(),
    invariantViolations: reports.reduce((total, r) => total + r.violations.length, 0),
    lost: reports.reduce((total, r) => total + r.lost.length, 0),
    duplicated: reports.reduce((total, r) => total + r.duplicated.length, 0),
  };
}
