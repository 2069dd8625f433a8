import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { migrations } from './migrations.ts';
import { ConfigError, loadConfig, type Config } from './platform/config.ts';
import { migrateToLatest, openStore, StoreLockedError, type Store } from './platform/db/store.ts';
import { buildHttpServer, type CofferApp, type HttpModule } from './platform/http/server.ts';
import { createLogger, type Logger } from './platform/log.ts';
import { createMetrics } from './platform/metrics.ts';

/** How long in-flight requests get to finish after SIGINT/SIGTERM before the process gives up. */
const SHUTDOWN_GRACE_MS = 10_000;

export interface RunningCoffer {
  app: CofferApp;
  store: Store;
  /** Where the server listens, with the port actually bound (PORT=0 picks a free one). */
  url: string;
  /** Stops taking requests, lets in-flight ones finish, then closes the store. Safe to call twice. */
  close(): Promise<void>;
}

async function serve(config: Config, store: Store, logger: Logger): Promise<CofferApp> {
  // ---- Every module's HTTP routes, registered in this order. ----------------
  const modules: HttpModule[] = [
    // ledgerHttpModule: the ledger module adds its routes here (from './modules/ledger/index.ts').
  ];
  const app = await buildHttpServer({ config, store, logger, metrics: createMetrics(), modules });
  try {
    await app.listen({ host: config.host, port: config.port });
    return app;
  } catch (err) {
    await app.close();
    throw err;
  }
}

/** The composition root: one Coffer server over one store. Tests start it in-process. */
export async function startCoffer(config: Config, logger: Logger = createLogger(config)): Promise<RunningCoffer> {
  const store = await openStore({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: config.databasePoolSize,
  });
  let app: CofferApp;
  try {
    await migrateToLatest(store, migrations);
    app = await serve(config, store, logger);
  } catch (err) {
    await store.close();
    throw err;
  }
  const { port } = app.server.address() as AddressInfo;
  const url = `http://localhost:${port}`;
  logger.info({ url }, `Coffer listening on ${url} — docs at /docs`);

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= app.close().then(() => store.close());
    return closing;
  };
  return { app, store, url, close };
}

function exitOnSignals(coffer: RunningCoffer, logger: Logger): void {
  const shutdown = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'Coffer shutting down');
    setTimeout(() => {
      logger.error(`Shutdown took longer than ${SHUTDOWN_GRACE_MS} ms; exiting anyway`);
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    coffer.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'Coffer did not shut down cleanly');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

/** Problems an operator can fix get one clear line, not a stack trace. */
function exitWithMessage(message: string): never {
  console.error(message);
  process.exit(1);
}

async function runFromCommandLine(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) exitWithMessage(`Configuration error: ${err.message}`);
    throw err;
  }
  const logger = createLogger(config);
  try {
    exitOnSignals(await startCoffer(config, logger), logger);
  } catch (err) {
    if (err instanceof StoreLockedError) exitWithMessage(err.message);
    logger.fatal({ err }, 'Coffer failed to start');
    process.exit(1);
  }
}

const runDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (runDirectly) await runFromCommandLine();
