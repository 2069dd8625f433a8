/**
 * The User API (SPEC 3, contract) over real HTTP against a real Coffer server
 * (startCoffer), on the embedded store and on a PostgreSQL server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningCoffer } from '../../src/main.ts';
import { assertCanMoveMoney, UsersService } from '../../src/modules/users/index.ts';
import { SystemClock } from '../../src/platform/clock.ts';
import { isDomainError } from '../../src/platform/errors.ts';
import { testStoreKinds } from '../support/stores.ts';
import { ADMIN_TOKEN, assertProblem, Client, createBooks, newMobile, PASSWORD, sleep, startServer, type TestBooks } from './support.ts';

const storeKinds = await testStoreKinds();
/** Short enough to wait out in a test, long enough that the checks inside it are not racing it (USER_LOCKOUT_S). */
const LOCKOUT_MS = 2000;

for (const { kind, skip } of storeKinds) {
  describe(`User API over HTTP (${kind} store)`, { skip }, () => {
    let books: TestBooks;
    let coffer: RunningCoffer;
    let api: Client;

    before(async () => {
      books = await createBooks(kind);
      coffer = await startServer(books, {}, { USER_LOCKOUT_S: String(LOCKOUT_MS / 1000), USER_MAX_FAILED_LOGINS: '5' });
      api = new Client(coffer.url);
    });

    after(async () => {
      await coffer?.close();
      await books?.dispose();
    });

    test('register -> login -> /my/profile', async () => {
      const mobile = newMobile();
      const registered = await api.register(mobile);
      assert.equal(registered.status, 201);
      assert.deepEqual(Object.keys(registered.body), ['userId']);
      assert.match(registered.body.userId, /^usr_[0-9a-z]{26}$/);

      const login = await api.login(mobile);
      assert.equal(login.status, 200);
      assert.deepEqual(Object.keys(login.body).sort(), ['expiresAt', 'token']);
      assert.match(login.body.token, /^cs_[A-Za-z0-9_-]{43}$/);
      const expiresInMs = Date.parse(login.body.expiresAt) - Date.now();
      assert.ok(expiresInMs > 23.9 * 3600_000 && expiresInMs <= 24 * 3600_000, 'sessions last 24 h by default');
      assert.equal(login.headers.get('set-cookie'), null, 'no cookie unless asked for');
      assert.equal(login.headers.get('cache-control'), 'no-store');

      const profile = await api.profile({ token: login.body.token });
      assert.equal(profile.status, 200);
      assert.equal(profile.headers.get('cache-control'), 'private, no-store');
      assert.deepEqual(profile.body, { userId: registered.body.userId, mobile, status: 'ACTIVE' });
    });

    test('+86 and the 11-digit form are one phone, and E.164 numbers work too', async () => {
      const mobile = newMobile();
      assert.equal((await api.register(`+86${mobile}`)).status, 201);
      assertProblem(await api.register(mobile), 409, 'MOBILE_ALREADY_REGISTERED');
      const login = await api.login(mobile);
      assert.equal(login.status, 200);
      assert.equal((await api.profile({ token: login.body.token })).body.mobile, mobile);
      assert.equal((await api.login(`+86${mobile}`)).status, 200);

      const uk = `+4477009${String(Date.now()).slice(-5)}`;
      assert.equal((await api.register(uk)).status, 201);
      assert.equal((await api.login(uk)).status, 200);
    });

    test('a mobile can register once: the second time is 409 MOBILE_ALREADY_REGISTERED', async () => {
      const mobile = newMobile();
      assert.equal((await api.register(mobile)).status, 201);
      const again = assertProblem(await api.register(mobile, 'Another-pass-2'), 409, 'MOBILE_ALREADY_REGISTERED');
      assert.ok(!JSON.stringify(again).includes('usr_'), 'the existing user id is not revealed');
      // The first password still works; the second never became one.
      assert.equal((await api.login(mobile)).status, 200);
      assertProblem(await api.login(mobile, 'Another-pass-2'), 401, 'INVALID_CREDENTIALS');
    });

    test('two registrations of one mobile at once: exactly one wins', async () => {
      const mobile = newMobile();
      const results = await Promise.all([api.register(mobile), api.register(mobile), api.register(mobile)]);
      assert.deepEqual(results.map((r) => r.status).sort(), [201, 409, 409]);
    });

    test('bad mobile numbers and weak passwords are 400 VALIDATION_FAILED naming the field', async () => {
      for (const mobile of ['12345', '1380013800a', '23800138000', '138 0013 8000', '', '+12']) {
        const problem = assertProblem(await api.register(mobile), 400, 'VALIDATION_FAILED');
        assert.deepEqual(problem.errors?.map((e) => e.path), ['/body/mobile'], mobile);
      }
      const mobile = newMobile();
      for (const password of ['short1', '', 'abcdefgh', '12345678', `${mobile}x`]) {
        const problem = assertProblem(await api.register(mobile, password), 400, 'VALIDATION_FAILED');
        assert.deepEqual(problem.errors?.map((e) => e.path), ['/body/password'], password);
      }
      const both = assertProblem(await api.register('nope', 'weak'), 400, 'VALIDATION_FAILED');
      assert.deepEqual(both.errors?.map((e) => e.path).sort(), ['/body/mobile', '/body/password']);
      assertProblem(await api.request('POST', '/auth/register', { body: { mobile } }), 400, 'VALIDATION_FAILED');
      assertProblem(await api.request('POST', '/auth/register', { body: { mobile, password: 12345678 } }), 400, 'VALIDATION_FAILED');
      assertProblem(await api.request('POST', '/auth/register', { body: { mobile, password: PASSWORD, admin: true } }), 400, 'VALIDATION_FAILED');
      // None of those created the user.
      assertProblem(await api.login(mobile), 401, 'INVALID_CREDENTIALS');
    });

    test('a wrong password and an unknown mobile get the same 401, with no hint which part was wrong', async () => {
      const { mobile } = await api.newUser();
      const wrongPassword = assertProblem(await api.login(mobile, 'Wrong-pass-9'), 401, 'INVALID_CREDENTIALS');
      const unknownMobile = assertProblem(await api.login(newMobile()), 401, 'INVALID_CREDENTIALS');
      const malformedMobile = assertProblem(await api.login('not-a-phone'), 401, 'INVALID_CREDENTIALS');
      for (const key of ['type', 'title', 'status', 'code', 'detail']) {
        assert.equal(wrongPassword[key], unknownMobile[key], key);
        assert.equal(malformedMobile[key], unknownMobile[key], key);
      }
      assert.deepEqual(Object.keys(wrongPassword).sort(), Object.keys(unknownMobile).sort());
      assert.doesNotMatch(wrongPassword.detail, /not registered|unknown|no such/i);
    });

    test('an unknown mobile takes about as long as a wrong password (a dummy hash is checked)', async () => {
      const { mobile } = await api.newUser();
      const time = async (m: string) => {
        const started = performance.now();
        await api.login(m, 'Wrong-pass-9');
        return performance.now() - started;
      };
      await time(newMobile()); // warms the dummy hash
      const unknown: number[] = [];
      const wrong: number[] = [];
      for (let i = 0; i < 3; i++) {
        unknown.push(await time(newMobile()));
        wrong.push(await time(mobile));
      }
      const median = (xs: number[]) => xs.sort((a, b) => a - b)[1]!;
      // scrypt dominates both; without the dummy hash an unknown mobile would answer in ~1 ms.
      assert.ok(median(unknown) > median(wrong) / 3, `unknown ${median(unknown)} ms vs wrong ${median(wrong)} ms`);
      // Three failures: reset the counter so the account is not left near its lock.
      assert.equal((await api.login(mobile)).status, 200);
    });

    test('five wrong passwords lock the account: even the right password is refused until the lock ends', async () => {
      const { mobile } = await api.newUser();
      for (let i = 1; i <= 4; i++) assertProblem(await api.login(mobile, `Wrong-pass-${i}`), 401, 'INVALID_CREDENTIALS');
      const fifth = await api.login(mobile, 'Wrong-pass-5');
      // The fifth failure is still reported as wrong credentials; the lock shows from the next attempt.
      assertProblem(fifth, 401, 'INVALID_CREDENTIALS');
      const lockedAt = Date.now();

      const refused = assertProblem(await api.login(mobile), 423, 'ACCOUNT_LOCKED');
      assert.ok(Date.parse(refused.lockedUntil as string) > Date.now(), 'the problem says until when');
      assert.ok(Number(refused.retryAfterS) >= 1);
      const again = await api.login(mobile, 'Wrong-pass-6');
      assertProblem(again, 423, 'ACCOUNT_LOCKED');
      assert.ok(Number(again.headers.get('retry-after')) >= 1, 'Retry-After says when to come back');

      const admin = await api.admin('GET', `/admin/users?mobile=${mobile}`);
      assert.ok(admin.body.data[0].lockedUntil, 'the admin sees the lock');

      await sleep(Math.max(0, lockedAt + LOCKOUT_MS + 150 - Date.now()));
      const login = await api.login(mobile);
      assert.equal(login.status, 200, 'the lock ends by itself');
      assert.equal((await api.profile({ token: login.body.token })).status, 200);
    });

    test('a successful login resets the failure count', async () => {
      const { mobile } = await api.newUser();
      for (let i = 1; i <= 4; i++) assertProblem(await api.login(mobile, `Wrong-pass-${i}`), 401, 'INVALID_CREDENTIALS');
      assert.equal((await api.login(mobile)).status, 200);
      for (let i = 1; i <= 4; i++) assertProblem(await api.login(mobile, `Wrong-pass-${i}`), 401, 'INVALID_CREDENTIALS');
      assert.equal((await api.login(mobile)).status, 200, 'four more failures after a success do not lock');
    });

    test('logout revokes the session: its token stops working, other sessions keep working', async () => {
      const { mobile, token } = await api.newUser();
      const other = (await api.login(mobile)).body.token;
      const out = await api.request('POST', '/auth/logout', { token });
      assert.equal(out.status, 204);
      assert.match(out.headers.get('set-cookie') ?? '', /^coffer_session=; Path=\/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax$/);
      assertProblem(await api.profile({ token }), 401, 'UNAUTHORIZED');
      assert.equal((await api.request('POST', '/auth/logout', { token })).status, 204, 'logging out again is harmless');
      assertProblem(await api.request('POST', '/auth/logout'), 401, 'UNAUTHORIZED');
      assertProblem(await api.profile({ token }), 401, 'UNAUTHORIZED');
      assert.equal((await api.profile({ token: other })).status, 200);
    });

    test('a cookie session works like a bearer token, and is HttpOnly and SameSite=Lax', async () => {
      const { mobile, userId } = await api.newUser();
      const login = await api.login(mobile, PASSWORD, { cookie: true });
      assert.equal(login.status, 200);
      const setCookie = login.headers.get('set-cookie') ?? '';
      assert.match(setCookie, /^coffer_session=cs_[A-Za-z0-9_-]{43}; /);
      assert.match(setCookie, /HttpOnly/);
      assert.match(setCookie, /SameSite=Lax/);
      assert.match(setCookie, /Path=\//);
      assert.doesNotMatch(setCookie, /Secure/, 'PUBLIC_URL is http here');
      const cookie = setCookie.split(';')[0]!;
      assert.equal(cookie, `coffer_session=${login.body.token}`);

      const byCookie = await api.profile({ cookie: `theme=dark; ${cookie}` });
      assert.equal(byCookie.status, 200);
      assert.equal(byCookie.body.userId, userId);

      // An Authorization header decides alone: a bad bearer is refused even next to a good cookie.
      assertProblem(await api.profile({ cookie, token: 'cs_nope' }), 401, 'UNAUTHORIZED');
      // A cookie-authenticated write from another site is refused.
      assertProblem(await api.request('POST', '/auth/logout', { cookie, headers: { origin: 'https://evil.example' } }), 403, 'FORBIDDEN');

      const out = await api.request('POST', '/auth/logout', { cookie });
      assert.equal(out.status, 204);
      assertProblem(await api.profile({ cookie }), 401, 'UNAUTHORIZED');
      assertProblem(await api.profile({ token: login.body.token }), 401, 'UNAUTHORIZED');
    });

    test('missing, malformed, unknown and admin tokens are 401 UNAUTHORIZED on /my routes', async () => {
      const missing = assertProblem(await api.request('GET', '/my/profile'), 401, 'UNAUTHORIZED');
      assert.ok(missing.detail.length > 0);
      assert.equal((await api.request('GET', '/my/profile')).headers.get('www-authenticate'), 'Bearer realm="coffer-user"');
      assertProblem(await api.request('GET', '/my/profile', { headers: { authorization: 'Basic abc' } }), 401, 'UNAUTHORIZED');
      assertProblem(await api.profile({ token: 'cs_' + 'A'.repeat(43) }), 401, 'UNAUTHORIZED');
      assertProblem(await api.profile({ token: ADMIN_TOKEN }), 401, 'UNAUTHORIZED');
      assertProblem(await api.profile({ cookie: 'coffer_session=garbage' }), 401, 'UNAUTHORIZED');
    });

    test("one user's token never shows another user's data", async () => {
      const alice = await api.newUser();
      const bob = await api.newUser();
      const a = await api.profile({ token: alice.token });
      const b = await api.profile({ token: bob.token });
      assert.deepEqual(a.body, { userId: alice.userId, mobile: alice.mobile, status: 'ACTIVE' });
      assert.deepEqual(b.body, { userId: bob.userId, mobile: bob.mobile, status: 'ACTIVE' });
      assert.notEqual(alice.token, bob.token);
      // Logging Alice out does nothing to Bob.
      await api.request('POST', '/auth/logout', { token: alice.token });
      assert.deepEqual((await api.profile({ token: bob.token })).body, b.body);
    });

    test('a frozen user can log in and read their profile, but may not move money', async () => {
      const { userId, mobile, token } = await api.newUser();
      const users = new UsersService({ db: coffer.store.db, clock: new SystemClock() });
      await users.assertUserCanMoveMoney(userId);

      const frozen = await api.admin('POST', `/admin/users/${userId}/freeze`);
      assert.equal(frozen.status, 200);
      assert.equal(frozen.body.status, 'FROZEN');
      assert.equal(frozen.body.userId, userId);

      const profile = await api.profile({ token });
      assert.deepEqual(profile.body, { userId, mobile, status: 'FROZEN' });
      const login = await api.login(mobile);
      assert.equal(login.status, 200, 'a frozen user can still log in');
      assert.equal((await api.profile({ token: login.body.token })).body.status, 'FROZEN');

      assert.throws(() => assertCanMoveMoney(profile.body as { status: 'FROZEN' }), (err) => isDomainError(err, 'USER_FROZEN'));
      await assert.rejects(users.assertUserCanMoveMoney(userId), (err) => isDomainError(err, 'USER_FROZEN'));

      assert.equal((await api.admin('POST', `/admin/users/${userId}/freeze`)).body.status, 'FROZEN', 'freezing twice is harmless');
      const unfrozen = await api.admin('POST', `/admin/users/${userId}/unfreeze`);
      assert.equal(unfrozen.status, 200);
      assert.equal(unfrozen.body.status, 'ACTIVE');
      assert.equal((await api.profile({ token })).body.status, 'ACTIVE');
      assert.doesNotThrow(() => assertCanMoveMoney({ status: 'ACTIVE' }));
      await users.assertUserCanMoveMoney(userId);
      await assert.rejects(users.assertUserCanMoveMoney('usr_nobody'), (err) => isDomainError(err, 'USER_NOT_FOUND'));
    });

    test('admin user routes need the admin token: no token, a wrong one or a user session are 401', async () => {
      const { userId, mobile, token } = await api.newUser();
      for (const path of [`/admin/users/${userId}/freeze`, `/admin/users/${userId}/unfreeze`]) {
        assertProblem(await api.admin('POST', path, null), 401, 'UNAUTHORIZED');
        assertProblem(await api.admin('POST', path, 'not-the-admin-token'), 401, 'UNAUTHORIZED');
        assertProblem(await api.admin('POST', path, token), 401, 'UNAUTHORIZED');
      }
      assertProblem(await api.admin('GET', `/admin/users?mobile=${mobile}`, token), 401, 'UNAUTHORIZED');
      assert.equal((await api.profile({ token })).body.status, 'ACTIVE', 'nothing was frozen');
    });

    test('admins find users by mobile, list them page by page, and get 404 for unknown users', async () => {
      const { userId, mobile } = await api.newUser();
      const found = await api.admin('GET', `/admin/users?mobile=${mobile}`);
      assert.equal(found.status, 200);
      assert.equal(found.body.data.length, 1);
      const view = found.body.data[0];
      assert.equal(view.userId, userId);
      assert.equal(view.mobile, mobile);
      assert.equal(view.status, 'ACTIVE');
      assert.equal(view.failedLogins, 0);
      assert.ok(!('passwordHash' in view) && !JSON.stringify(found.body).includes('scrypt'), 'no hash is ever shown');
      assert.deepEqual((await api.admin('GET', `/admin/users?mobile=${newMobile()}`)).body, { data: [], hasMore: false });
      assert.equal((await api.admin('GET', `/admin/users/${userId}`)).body.userId, userId);

      const seen: string[] = [];
      let startingAfter: string | undefined;
      for (;;) {
        const page = await api.admin('GET', `/admin/users?limit=2${startingAfter ? `&startingAfter=${startingAfter}` : ''}`);
        assert.equal(page.status, 200);
        seen.push(...page.body.data.map((u: { userId: string }) => u.userId));
        if (!page.body.hasMore) break;
        startingAfter = page.body.data.at(-1).userId;
      }
      assert.ok(seen.includes(userId));
      assert.equal(new Set(seen).size, seen.length, 'pages do not overlap');

      assertProblem(await api.admin('POST', '/admin/users/usr_0000000000000000000000000/freeze'), 404, 'USER_NOT_FOUND');
      assertProblem(await api.admin('GET', '/admin/users/nope'), 404, 'USER_NOT_FOUND');
    });

    test('the error codes are in the published catalogue and the routes in the OpenAPI document', async () => {
      const catalogue = JSON.stringify((await api.request('GET', '/errors')).body);
      for (const code of ['MOBILE_ALREADY_REGISTERED', 'INVALID_CREDENTIALS', 'ACCOUNT_LOCKED', 'USER_FROZEN', 'USER_NOT_FOUND']) {
        assert.ok(catalogue.includes(code), code);
      }
      const openapi = (await api.request('GET', '/openapi.json')).body;
      for (const path of ['/auth/register', '/auth/login', '/auth/logout', '/my/profile', '/admin/users', '/admin/users/{id}/freeze']) {
        assert.ok(openapi.paths[path], path);
      }
    });
  });
}
