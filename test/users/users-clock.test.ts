/**
 * Time-dependent user rules (session expiry, the lock's exact length) on an
 * in-process server whose business clock the test moves, so nothing sleeps and
 * nothing races the wall clock. Also proves that another module's routes can
 * require a logged-in user with `app.requireUser`.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import {
  currentUser,
  userAuthPlugin,
  userSecurity,
  usersHttpModule,
  UsersService,
  assertCanMoveMoney,
} from '../../src/modules/users/index.ts';
import { parseHash } from '../../src/modules/users/users.password.ts';
import type { Clock } from '../../src/platform/clock.ts';
import { loadConfig } from '../../src/platform/config.ts';
import { buildHttpServer, type CofferApp, type HttpModule } from '../../src/platform/http/server.ts';
import { createLogger } from '../../src/platform/log.ts';
import { createMetrics } from '../../src/platform/metrics.ts';
import { openTestStore } from '../support/stores.ts';
import { ADMIN_TOKEN, assertProblem, Client, newMobile, PASSWORD } from './support.ts';

class TestClock implements Clock {
  private ms = Date.parse('2026-11-22T08:00:00.000Z');
  now(): Date {
    return new Date(this.ms);
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

const HOUR_MS = 3600_000;
const LOCK_MS = 15 * 60_000;

/** What a wallets-like module does: its own scope, its own /my route, the shared user guard. */
const otherModule: HttpModule = {
  name: 'other',
  register(app) {
    app.post('/my/pretend-payment', { preHandler: app.requireUser, schema: { security: userSecurity } }, async (request) => {
      const user = currentUser(request);
      assertCanMoveMoney(user);
      return { paidBy: user.id };
    });
  },
};

describe('user sessions and lockout over time (in-process server, test clock)', () => {
  const clock = new TestClock();
  let store: Awaited<ReturnType<typeof openTestStore>>;
  let app: CofferApp;
  let api: Client;
  let users: UsersService;

  before(async () => {
    store = await openTestStore('pglite');
    const config = loadConfig({ PORT: '0', ADMIN_TOKEN, LOG_LEVEL: 'silent' });
    users = new UsersService({ db: store.db, clock, options: { sessionTtlMs: 2 * HOUR_MS } });
    app = await buildHttpServer({
      config,
      store,
      logger: createLogger(config),
      metrics: createMetrics(),
      plugins: [userAuthPlugin(users)],
      modules: [usersHttpModule(users, config), otherModule],
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    api = new Client(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`);
  });

  after(async () => {
    await app?.close();
    await store?.dispose();
  });

  test('a session lasts exactly its configured lifetime', async () => {
    const { token, mobile } = await api.newUser();
    const login = await api.login(mobile);
    assert.equal(login.body.expiresAt, new Date(clock.now().getTime() + 2 * HOUR_MS).toISOString());
    clock.advance(2 * HOUR_MS - 1);
    assert.equal((await api.profile({ token: login.body.token })).status, 200);
    clock.advance(1);
    assertProblem(await api.profile({ token: login.body.token }), 401, 'UNAUTHORIZED');
    assertProblem(await api.profile({ token }), 401, 'UNAUTHORIZED');
    assert.equal((await api.login(mobile)).status, 200, 'logging in again gives a fresh session');
  });

  test('the lock lasts 15 minutes to the millisecond, then the user has five fresh tries', async () => {
    const { mobile } = await api.newUser();
    for (let i = 1; i <= 5; i++) assertProblem(await api.login(mobile, `Wrong-pass-${i}`), 401, 'INVALID_CREDENTIALS');
    const lock = assertProblem(await api.login(mobile), 423, 'ACCOUNT_LOCKED');
    assert.equal(lock.lockedUntil, new Date(clock.now().getTime() + LOCK_MS).toISOString());
    assert.equal(lock.retryAfterS, LOCK_MS / 1000);

    clock.advance(LOCK_MS - 1);
    assertProblem(await api.login(mobile), 423, 'ACCOUNT_LOCKED');
    assertProblem(await api.login(mobile, 'Wrong-pass-6'), 423, 'ACCOUNT_LOCKED');
    assert.equal((await api.admin('GET', `/admin/users?mobile=${mobile}`)).body.data[0].lockedUntil, lock.lockedUntil);
    clock.advance(1);
    assert.equal((await api.admin('GET', `/admin/users?mobile=${mobile}`)).body.data[0].lockedUntil, null, 'a lock that ran out is none');

    // Failures while locked were not counted, and the lock restarted the count.
    for (let i = 1; i <= 4; i++) assertProblem(await api.login(mobile, `Wrong-pass-${i}`), 401, 'INVALID_CREDENTIALS');
    assert.equal((await api.login(mobile)).status, 200);
    for (let i = 1; i <= 5; i++) assertProblem(await api.login(mobile, `Wrong-pass-${i}`), 401, 'INVALID_CREDENTIALS');
    assertProblem(await api.login(mobile), 423, 'ACCOUNT_LOCKED');
    clock.advance(LOCK_MS);
  });

  test('concurrent wrong passwords cannot slip past the limit', async () => {
    const { mobile } = await api.newUser();
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => api.login(mobile, `Wrong-pass-${i}`)));
    assert.ok(results.every((r) => r.status === 401 || r.status === 423));
    assertProblem(await api.login(mobile), 423, 'ACCOUNT_LOCKED');
    clock.advance(LOCK_MS);
  });

  test("another module's /my route uses app.requireUser and sees the caller; a frozen caller may not pay", async () => {
    const alice = await api.newUser();
    const bob = await api.newUser();
    const paid = await api.request('POST', '/my/pretend-payment', { token: alice.token });
    assert.equal(paid.status, 200);
    assert.deepEqual(paid.body, { paidBy: alice.userId });
    assert.deepEqual((await api.request('POST', '/my/pretend-payment', { token: bob.token })).body, { paidBy: bob.userId });
    assertProblem(await api.request('POST', '/my/pretend-payment'), 401, 'UNAUTHORIZED');

    assert.equal((await api.admin('POST', `/admin/users/${alice.userId}/freeze`)).status, 200);
    assertProblem(await api.request('POST', '/my/pretend-payment', { token: alice.token }), 403, 'USER_FROZEN');
    assert.equal((await api.profile({ token: alice.token })).body.status, 'FROZEN');
  });

  test('sessions that ended more than a week ago are purged; live ones stay', async () => {
    const ended = await api.newUser();
    await api.request('POST', '/auth/logout', { token: ended.token });
    const live = await api.newUser();
    clock.advance(7 * 24 * HOUR_MS + 1);
    const fresh = (await api.login(live.mobile)).body.token;
    const purged = await users.purgeEndedSessions();
    assert.ok(purged >= 2, `purged ${purged}`);
    const { rows } = await sql<{ n: number }>`select count(*)::int4 as n from user_sessions where user_id = ${ended.userId}`.execute(store.db);
    assert.equal(rows[0]!.n, 0);
    assert.equal((await api.profile({ token: fresh })).status, 200);
    assert.equal(await users.purgeEndedSessions(), 0, 'purging again finds nothing');
  });

  test('the password hash is upgraded to the current cost at the next login, and the session token is stored only hashed', async () => {
    const cheap = new UsersService({ db: store.db, clock, options: { scrypt: { ln: 10, r: 8, p: 1 } } });
    const mobile = newMobile();
    const { userId } = await cheap.register({ mobile, password: PASSWORD });
    const hashOf = async () =>
      (await sql<{ h: string }>`select password_hash as h from users where id = ${userId}`.execute(store.db)).rows[0]!.h;
    assert.equal(parseHash(await hashOf())!.params.ln, 10);

    const login = await api.login(mobile);
    assert.equal(login.status, 200);
    assert.equal(parseHash(await hashOf())!.params.ln, 15, 'rehashed at the server cost');
    assert.equal((await api.login(mobile)).status, 200, 'the new hash verifies');

    const { rows } = await sql<{ token_hash: string }>`select token_hash from user_sessions where user_id = ${userId}`.execute(store.db);
    assert.equal(rows.length, 2);
    for (const row of rows) {
      assert.match(row.token_hash, /^[0-9a-f]{64}$/);
      assert.notEqual(row.token_hash, login.body.token);
      assert.ok(!row.token_hash.includes(login.body.token.slice(3, 20)));
    }
  });
});
