/**
 * The sandbox test clock (SPEC 7): GET /sandbox/clock, POST /sandbox/clock/advance
 * with the admin credential; the offset is stored, so a restart keeps it and
 * another process follows it; every module's injected clock moves with it.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import type { RunningCoffer } from '../../src/main.ts';
import { ADMIN_TOKEN, AdminClient, assertProblem, createBooks, startServer, type TestBooks } from '../ledger-http/support.ts';
import { testStoreKinds } from '../support/stores.ts';

const DAY_MS = 86_400_000;

interface ClockView {
  now: string;
  offsetMs: number;
}

for (const { kind, skip } of await testStoreKinds()) {
  describe(`the sandbox test clock (${kind})`, { skip }, () => {
    let books: TestBooks;
    let coffer: RunningCoffer;
    let admin: AdminClient;

    before(async () => {
      books = await createBooks(kind);
      coffer = await startServer(books, { CLOCK_REFRESH_MS: '20' });
      admin = new AdminClient(coffer.url);
    });
    after(async () => {
      await coffer?.close();
      await books?.dispose();
    });

    test('reads the business time; advancing needs the admin credential and whole days forward', async () => {
      const read = await admin.withToken(null).get<ClockView>('/sandbox/clock');
      assert.equal(read.status, 200);
      assert.equal(read.body.offsetMs, 0);
      assert.ok(Math.abs(Date.parse(read.body.now) - Date.now()) < 5_000);
      assertProblem(await admin.withToken(null).post('/sandbox/clock/advance', { days: 1 }), 401, 'UNAUTHORIZED');
      assertProblem(await admin.withToken('not-the-token').post('/sandbox/clock/advance', { days: 1 }), 401, 'UNAUTHORIZED');
      assertProblem(await admin.post('/sandbox/clock/advance', { days: 0 }), 400, 'VALIDATION_FAILED');
      assertProblem(await admin.post('/sandbox/clock/advance', { days: -1 }), 400, 'VALIDATION_FAILED');
      assertProblem(await admin.post('/sandbox/clock/advance', { days: 1.5 }), 400, 'VALIDATION_FAILED');
      assert.equal((await admin.get<ClockView>('/sandbox/clock')).body.offsetMs, 0, 'refused advances moved nothing');

      const moved = await admin.post<ClockView>('/sandbox/clock/advance', { days: 2 });
      assert.equal(moved.status, 200, JSON.stringify(moved.body));
      assert.equal(moved.body.offsetMs, 2 * DAY_MS);
      assert.ok(Date.parse(moved.body.now) - Date.now() > 2 * DAY_MS - 5_000);
    });

    test('every module follows: a user session of 24 h has run out two days later', async () => {
      const mobile = `136${String(Date.now()).slice(-8)}`;
      assert.equal((await fetch(`${coffer.url}/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mobile, password: 'Coffer-pass-1' }) })).status, 201);
      const login = await fetch(`${coffer.url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mobile, password: 'Coffer-pass-1' }) });
      const { token } = (await login.json()) as { token: string };
      const wallets = () => fetch(`${coffer.url}/my/wallets`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
      assert.equal(await wallets(), 200);
      await admin.post('/sandbox/clock/advance', { days: 2 });
      assert.equal(await wallets(), 401, 'the users module reads the same clock');
    });

    test(kind === 'pglite' ? 'a restart keeps the offset' : 'another process on the database follows an advance, and a restart keeps it', async () => {
      const before = (await admin.get<ClockView>('/sandbox/clock')).body.offsetMs;
      let other: RunningCoffer | undefined;
      if (kind === 'postgres') {
        other = await startServer(books, { CLOCK_REFRESH_MS: '20' });
        await admin.post('/sandbox/clock/advance', { days: 1 });
        await sleep(100);
        const seen = await new AdminClient(other.url).get<ClockView>('/sandbox/clock');
        assert.equal(seen.body.offsetMs, before + DAY_MS, 'the other process read the stored offset');
        await other.close();
      }
      const expected = (await admin.get<ClockView>('/sandbox/clock')).body.offsetMs;
      await coffer.close();
      coffer = await startServer(books, { CLOCK_REFRESH_MS: '20' });
      admin = new AdminClient(coffer.url);
      assert.equal((await admin.get<ClockView>('/sandbox/clock')).body.offsetMs, expected);
    });
  });
}

describe('the test clock outside sandbox mode', () => {
  let books: TestBooks;
  let coffer: RunningCoffer;
  before(async () => {
    books = await createBooks('pglite');
    coffer = await startServer(books, { SANDBOX: 'false' });
  });
  after(async () => {
    await coffer?.close();
    await books?.dispose();
  });

  test('is not there (404), even for the admin', async () => {
    const admin = new AdminClient(coffer.url, ADMIN_TOKEN);
    assertProblem(await admin.get('/sandbox/clock'), 404, 'NOT_FOUND');
    assertProblem(await admin.post('/sandbox/clock/advance', { days: 1 }), 404, 'NOT_FOUND');
  });
});
