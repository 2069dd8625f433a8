/**
 * Risk assessment benchmark: `npm run bench:risk [-- --quick]`.
 * RiskService.assess in-process (no HTTP) on the PostgreSQL server (TEST_DATABASE_URL,
 * a scratch database made and dropped) and the embedded store: assessments per
 * second and p50/p99 latency for (a) one merchant under the default payout rules
 * (no subject lock), (b) one merchant with a daily amount rule enabled (every
 * assessment of that merchant serialised), (c) 50 merchants with the daily rule.
 */
import { sql } from 'kysely';
import { RiskService } from '../src/modules/risk/index.ts';
import { SystemClock } from '../src/platform/clock.ts';
import type { StoreKind } from '../src/platform/db/store.ts';
import { openTestStore, postgresUnavailable } from '../test/support/stores.ts';

const quick = process.argv.includes('--quick');
const TOTAL = quick ? 1_000 : 5_000;
const CONCURRENCY = 32;

async function run(kind: StoreKind): Promise<void> {
  const store = await openTestStore(kind, CONCURRENCY);
  try {
    const risk = new RiskService({ db: store.db, clock: new SystemClock() });
    const scenario = async (name: string, merchants: number) => {
      const latencies: number[] = [];
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: kind === 'pglite' ? 1 : CONCURRENCY }, async () => {
          while (next < TOTAL) {
            const i = next++;
            const t = performance.now();
            await risk.assess({
              flow: 'PAYOUT',
              subjectKind: 'MERCHANT',
              subjectId: `mch_${name}_${i % merchants}`,
              amountMinor: 10_000n,
              currency: 'CNY',
              beneficiaryAccount: `62220200${String(i).padStart(8, '0')}`,
              reference: `po_${name}_${i}`,
            });
            latencies.push(performance.now() - t);
          }
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      latencies.sort((a, b) => a - b);
      const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!.toFixed(2);
      console.log(JSON.stringify({ store: kind, scenario: name, merchants, assessments: TOTAL, perSecond: Math.round(TOTAL / seconds), p50Ms: pct(0.5), p99Ms: pct(0.99) }));
    };
    await scenario('warm-up', 50);
    await scenario('default-rules', 1);
    await sql`update risk_rules set enabled = true where id = 'rrl_seed_payout_daily_amount'`.execute(store.db);
    await scenario('daily-rule-one-merchant', 1);
    await scenario('daily-rule-50-merchants', 50);
  } finally {
    await store.dispose();
  }
}

const reason = await postgresUnavailable();
if (reason) console.error(`# ${reason}: only the embedded store is measured`);
else await run('postgres');
await run('pglite');
