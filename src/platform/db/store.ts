import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PGliteDialect, PostgresDialect } from 'kysely';
import { type Migration, Migrator } from 'kysely/migration';
import pg from 'pg';

const INT8_OID = 20;
const INT8_ARRAY_OID = 1016;

export type StoreKind = 'pglite' | 'postgres';

/**
 * The one database handle the app passes around. The schema is typed per module
 * (each repository narrows `db` to its own tables), so here it is untyped.
 */
export interface Store {
  kind: StoreKind;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  db: Kysely<any>;
  /** Where the embedded store lives; undefined for a server or an in-memory store. */
  location: string | undefined;
  close(): Promise<void>;
}

export interface StoreOptions {
  /** A PostgreSQL server URL; when absent the embedded store is used. */
  databaseUrl?: string | undefined;
  /** Folder for the embedded store; absent means in memory (tests). */
  dataDir?: string | undefined;
  poolSize?: number;
}

export class StoreLockedError extends Error {}

export async function openStore(options: StoreOptions): Promise<Store> {
  return options.databaseUrl ? openPostgres(options.databaseUrl, options.poolSize ?? 10) : openPglite(options.dataDir);
}

function parseInt8Array(text: string): bigint[] {
  if (text === '{}') return [];
  return text.slice(1, -1).split(',').map((v) => BigInt(v));
}

function openPostgres(connectionString: string, max: number): Store {
  const pool = new pg.Pool({
    connectionString,
    max,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
        if (oid === INT8_OID) return BigInt;
        if (oid === INT8_ARRAY_OID) return parseInt8Array;
        return pg.types.getTypeParser(oid, format);
      }) as typeof pg.types.getTypeParser,
    },
  });
  // A dropped idle connection must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  // Nor one dropped while checked out between two statements (inside a transaction, say, when the
  // server restarts): pg emits that on the client, where the pool listens only while it is idle, and
  // an unheard 'error' kills the process. The next statement on it fails instead (the caller sees
  // the error) and the pool discards it on release.
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely({ dialect: new PostgresDialect({ pool }) });
  return { kind: 'postgres', db, location: undefined, close: () => db.destroy() };
}

async function openPglite(dataDir: string | undefined): Promise<Store> {
  let release = () => {};
  let pgDir: string | undefined;
  if (dataDir) {
    fs.mkdirSync(dataDir, { recursive: true });
    pgDir = path.join(dataDir, 'pglite');
    release = lockDataDir(dataDir);
  }
  try {
    const pglite = await PGlite.create({
      ...(pgDir ? { dataDir: pgDir } : {}),
      parsers: { [INT8_OID]: (v: string) => BigInt(v), [INT8_ARRAY_OID]: parseInt8Array },
    });
    const db = new Kysely({ dialect: new PGliteDialect({ pglite }) });
    return {
      kind: 'pglite',
      db,
      location: pgDir,
      close: async () => {
        await db.destroy();
        if (!pglite.closed) await pglite.close();
        release();
      },
    };
  } catch (err) {
    release();
    throw err;
  }
}

/**
 * PGlite would let two processes open one folder and corrupt it; an exclusive
 * lock file (holding the owner's pid) turns that into a clear refusal.
 */
const locksHeldHere = new Set<string>();

function lockDataDir(dataDir: string): () => void {
  const lockPath = path.join(dataDir, 'coffer.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lockPath, String(process.pid), { flag: 'wx' });
      locksHeldHere.add(lockPath);
      return () => {
        locksHeldHere.delete(lockPath);
        fs.rmSync(lockPath, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(fs.readFileSync(lockPath, 'utf8').trim());
      const heldByUs = owner === process.pid && locksHeldHere.has(lockPath);
      if (heldByUs || (owner && owner !== process.pid && processIsAlive(owner))) {
        throw new StoreLockedError(
          `The data folder ${dataDir} is in use by process ${owner}. ` +
            'Stop that process, or point DATA_DIR at another folder, or use DATABASE_URL for several processes.',
        );
      }
      fs.rmSync(lockPath, { force: true }); // left behind by a process that died
    }
  }
  throw new StoreLockedError(`Could not lock the data folder ${dataDir}`);
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function migrateToLatest(store: Store, migrations: Record<string, Migration>): Promise<void> {
  const migrator = new Migrator({ db: store.db, provider: { getMigrations: async () => migrations } });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`Migration ${failed} failed: ${(error as Error).message ?? String(error)}`, { cause: error });
  }
}
