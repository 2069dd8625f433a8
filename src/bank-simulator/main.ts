/**
 * The bank depository simulator: its own process, database and keys; it talks
 * to Coffer only through signed HTTP (src/protocol/depository.ts).
 *
 *   node --import tsx src/bank-simulator/main.ts
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Kysely } from 'kysely';
import { pino, type Logger } from 'pino';
import { ensureKeyPair } from '../protocol/depository.ts';
import { openStore } from '../platform/db/store.ts';
import { ChannelSandbox } from './channels.sandbox.ts';
import { type BankConfig, BankConfigError, loadBankConfig } from './config.ts';
import { type BankContext, PlatformKey } from './context.ts';
import { Faults } from './faults.ts';
import { migrateBankStore } from './migrations.ts';
import { NotificationSender } from './notifier.ts';
import { PayoutFaults, PayoutProcessor } from './payouts.service.ts';
import type { BankDatabase } from './repository.ts';
import { buildBankServer } from './server.ts';

export interface RunningBankSimulator {
  /** Where the simulator listens (the real port when BANK_PORT is 0). */
  url: string;
  /** The bank's public key: Coffer verifies notifications and query answers with it. */
  publicKeyPath: string;
  close(): Promise<void>;
}

export function createBankLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'bank-simulator' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie'], censor: '[redacted]' },
  });
}

export async function startBankSimulator(config: BankConfig, log: Logger = createBankLogger(config.logLevel)): Promise<RunningBankSimulator> {
  const keys = ensureKeyPair(config.keysDir, 'bank');
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.storeDir, poolSize: 5 });
  try {
    await migrateBankStore(store);
  } catch (err) {
    await store.close();
    throw err;
  }
  const db = store.db as Kysely<BankDatabase>;
  const faults = new Faults();
  const sender = new NotificationSender(db, config, faults, log);
  const ctx: BankContext = {
    config,
    db,
    bankPrivateKey: keys.privateKey,
    platformKey: new PlatformKey(config.platformPublicKeyPath),
    faults,
    payoutFaults: new PayoutFaults(),
    channels: new ChannelSandbox(),
    sender,
    log,
  };
  const payoutProcessor = new PayoutProcessor(ctx, log);
  const app = await buildBankServer(ctx);
  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    await app.close();
    await store.close();
    throw err;
  }
  sender.start();
  payoutProcessor.start();
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`,
    publicKeyPath: keys.publicKeyPath,
    close: () => {
      closing ??= (async () => {
        await payoutProcessor.stop();
        await sender.stop();
        await app.close();
        await store.close();
      })();
      return closing;
    },
  };
}

async function runFromCommandLine(): Promise<void> {
  let config: BankConfig;
  try {
    config = loadBankConfig();
  } catch (err) {
    if (err instanceof BankConfigError) {
      console.error(`bank simulator: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const log = createBankLogger(config.logLevel);
  const running = await startBankSimulator(config, log);
  console.log(`Bank depository simulator listening on ${running.url} (public URL ${config.publicUrl}; bank public key ${running.publicKeyPath})`);
  const shutdown = (signal: string) => {
    log.info({ signal }, 'shutting down');
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runFromCommandLine().catch((err: unknown) => {
    console.error('bank simulator failed to start:', err);
    process.exit(1);
  });
}
