import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrateToLatest, openStore, type Store, type StoreKind } from '../../src/platform/db/store.ts';
import { migrations } from '../../src/migrations.ts';

/** The PostgreSQL server the server-backed suites use; each suite makes its own database in it. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

let serverCheck: Promise<string | undefined> | undefined;

/** Undefined when the server answers; otherwise why it does not. */
export function postgresUnavailable(): Promise<string | undefined> {
  serverCheck ??= (async () => {
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query('select 1');
      return undefined;
    } catch (err) {
      return `PostgreSQL at ${TEST_DATABASE_URL} is not reachable (${(err as Error).message})`;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return serverCheck;
}

/** A fresh, migrated, empty database on the server; dropped by `drop()`. */
export async function createServerDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `coffer_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

export interface TestStore extends Store {
  /** Opens another store on the same database (another "process" for the server store). */
  url: string | undefined;
}

/** Opens a migrated empty store of the given kind. Close it with `dispose`. */
export async function openTestStore(kind: StoreKind, poolSize = 10): Promise<TestStore & { dispose(): Promise<void> }> {
  if (kind === 'pglite') {
    const store = await openStore({});
    await migrateToLatest(store, migrations);
    return { ...store, url: undefined, dispose: () => store.close() };
  }
  const database = await createServerDatabase();
  const store = await openStore({ databaseUrl: database.url, poolSize });
  await migrateToLatest(store, migrations);
  return {
    ...store,
    url: database.url,
    async dispose() {
      await store.close();
      await database.drop();
    },
  };
}

/**
 * The stores a suite runs against. The server store is skipped loudly when no
 * server answers, except in CI where a missing server is a failure.
 */
export async function testStoreKinds(): Promise<{ kind: StoreKind; skip: string | false }[]> {
  const reason = await postgresUnavailable();
  if (reason && process.env.CI) throw new Error(`${reason}; CI must run the PostgreSQL suites`);
  if (reason) console.warn(`\n!!! SKIPPING PostgreSQL-server tests: ${reason}\n`);
  return [
    { kind: 'pglite', skip: false },
    { kind: 'postgres', skip: reason ? `SKIPPED: ${reason}` : false },
  ];
}
