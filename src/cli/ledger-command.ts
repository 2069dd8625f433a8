/**
 * What `ledger:check` and `ledger:verify-chain` share: open the configured
 * store (DATABASE_URL, or the embedded store in DATA_DIR) and ask the ledger;
 * while a Coffer server holds the embedded store, ask that server instead
 * (PUBLIC_URL, with ADMIN_TOKEN). Exits 0 when the books hold, 1 when not,
 * 2 when it cannot tell.
 */
import { migrations } from '../migrations.ts';
import { LedgerService } from '../modules/ledger/index.ts';
import { SystemClock } from '../platform/clock.ts';
import { loadConfig, type Config } from '../platform/config.ts';
import { migrateToLatest, openStore, StoreLockedError } from '../platform/db/store.ts';

export interface LedgerCommand<R extends { ok: boolean }> {
  name: string;
  /** The admin API path that answers the same report from a running server. */
  serverPath: string;
  run(ledger: LedgerService): Promise<R>;
  format(report: R): string;
}

async function runDirectly<R extends { ok: boolean }>(config: Config, command: LedgerCommand<R>): Promise<R> {
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  try {
    await migrateToLatest(store, migrations);
    const ledger = new LedgerService({ db: store.db, clock: new SystemClock(), writer: { mode: 'single', maxBatchSize: 1, concurrency: 1 } });
    return await command.run(ledger);
  } finally {
    await store.close();
  }
}

async function askServer<R>(config: Config, command: LedgerCommand<{ ok: boolean }>, lockedBecause: string): Promise<R> {
  if (!config.adminToken) throw new Error(`${lockedBecause}\nSet ADMIN_TOKEN to let ${command.name} ask the running server instead.`);
  const response = await fetch(`${config.publicUrl}${command.serverPath}`, { headers: { authorization: `Bearer ${config.adminToken}` } });
  if (!response.ok) throw new Error(`${config.publicUrl} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as R;
}

export function runLedgerCommand<R extends { ok: boolean }>(command: LedgerCommand<R>): void {
  const main = async (): Promise<number> => {
    const config = loadConfig();
    let report: R;
    try {
      report = await runDirectly(config, command);
    } catch (err) {
      if (!(err instanceof StoreLockedError)) throw err;
      report = await askServer<R>(config, command, err.message);
    }
    console.log(command.format(report));
    return report.ok ? 0 : 1;
  };
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`${command.name} could not check the books: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(2);
    },
  );
}
