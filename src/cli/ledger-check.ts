/**
 * `npm run ledger:check`: verifies every ledger invariant of the configured
 * database (DATABASE_URL, or the embedded store in DATA_DIR) and prints what
 * broke. Exits 0 when the books are right, 1 when not, 2 when it cannot check.
 * While a Coffer server holds the embedded store, it asks that server instead
 * (PUBLIC_URL, with ADMIN_TOKEN).
 */
import { migrations } from '../migrations.ts';
import { formatReport, type InvariantReport, LedgerService } from '../modules/ledger/index.ts';
import { SystemClock } from '../platform/clock.ts';
import { loadConfig, type Config } from '../platform/config.ts';
import { migrateToLatest, openStore, StoreLockedError } from '../platform/db/store.ts';

async function checkDirectly(config: Config): Promise<InvariantReport> {
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  try {
    await migrateToLatest(store, migrations);
    const ledger = new LedgerService({ db: store.db, clock: new SystemClock(), writer: { mode: 'single', maxBatchSize: 1, concurrency: 1 } });
    return await ledger.checkInvariants();
  } finally {
    await store.close();
  }
}

async function checkThroughServer(config: Config, lockedBecause: string): Promise<InvariantReport> {
  if (!config.adminToken) throw new Error(`${lockedBecause}\nSet ADMIN_TOKEN to let ledger:check ask the running server instead.`);
  const response = await fetch(`${config.publicUrl}/admin/ledger/invariants`, {
    headers: { authorization: `Bearer ${config.adminToken}` },
  });
  if (!response.ok) throw new Error(`${config.publicUrl} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as InvariantReport;
}

async function main(): Promise<number> {
  const config = loadConfig();
  let report: InvariantReport;
  try {
    report = await checkDirectly(config);
  } catch (err) {
    if (!(err instanceof StoreLockedError)) throw err;
    report = await checkThroughServer(config, err.message);
  }
  console.log(formatReport(report));
  return report.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`ledger:check could not check the books: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  },
);
