/**
 * While PostgreSQL cannot be reached, a request that needs it is a 503
 * SERVICE_UNAVAILABLE with Retry-After (retry later), not a 500; once the
 * database is back the same process serves again.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { loadConfig } from '../../src/platform/config.ts';
import { openStore, type Store } from '../../src/platform/db/store.ts';
import { buildHttpServer, type CofferApp } from '../../src/platform/http/server.ts';
import { createLogger } from '../../src/platform/log.ts';
import { createMetrics } from '../../src/platform/metrics.ts';
import { PgProxy } from '../support/pg-proxy.ts';
import { createServerDatabase, testStoreKinds } from '../support/stores.ts';

const postgres = (await testStoreKinds()).find((entry) => entry.kind === 'postgres')!;

describe('the database away (PostgreSQL through a proxy)', { skip: postgres.skip }, () => {
  let database: Awaited<ReturnType<typeof createServerDatabase>>;
  let proxy: PgProxy;
  let store: Store;
  let app: CofferApp;
  let base: string;

  before(async () => {
    database = await createServerDatabase();
    const target = new URL(database.url);
    proxy = new PgProxy(Number(target.port || 5432), target.hostname);
    await proxy.start();
    store = await openStore({ databaseUrl: proxy.url(target.pathname.slice(1)), poolSize: 2 });
    const config = loadConfig({ LOG_LEVEL: 'silent' });
    app = await buildHttpServer({
      config,
      store,
      logger: createLogger(config),
      metrics: createMetrics(),
      modules: [{ name: 'probe', register: (probe) => void probe.get('/test/now', async () => (await sql<{ n: number }>`select 1 as n`.execute(store.db)).rows[0]) }],
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await app?.close();
    await store?.close();
    await proxy?.stop();
    await database?.drop();
  });

  test('a request that needs the database is a 503 with Retry-After while it is away, and served once it is back', async () => {
    assert.deepEqual(await (await fetch(`${base}/test/now`)).json(), { n: 1 });

    proxy.refuseNew(true);
    proxy.dropAll();
    for (const path of ['/test/now', '/test/now', '/readyz']) {
      const response = await fetch(`${base}${path}`);
      assert.equal(response.status, 503, path);
      assert.equal(response.headers.get('retry-after'), '5', path);
      const problem = (await response.json()) as { code: string };
      assert.equal(problem.code, 'SERVICE_UNAVAILABLE', path);
    }

    proxy.refuseNew(false);
    assert.deepEqual(await (await fetch(`${base}/test/now`)).json(), { n: 1 }, 'the pool reconnects by itself');
  });
});
