/**
 * Operators (admin, maker, checker, viewer) and the audit log over real HTTP
 * on both stores: who may create whom, logins and sessions, an admin
 * operator passing the admin API, and every change leaving an entry.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningCoffer } from '../../src/main.ts';
import { testStoreKinds } from '../support/stores.ts';
import { Admin, type AuditEntryView, assertProblem, createBooks, type MerchantView, startServer, type TestBooks, unique } from './support.ts';

const storeKinds = await testStoreKinds();

interface OperatorView {
  operatorId: string;
  username: string;
  role: string;
  merchantId: string | null;
  status: string;
}

interface LoginResult {
  token: string;
  expiresAt: string;
  operatorId: string;
  role: string;
  merchantId: string | null;
}

const PASSWORD = 'correct horse battery';

for (const { kind, skip } of storeKinds) {
  describe(`operators and the audit log over HTTP (${kind} store)`, { skip }, () => {
    let books: TestBooks;
    let coffer: RunningCoffer;
    let admin: Admin;

    before(async () => {
      books = await createBooks(kind);
      coffer = await startServer(books);
      admin = new Admin(coffer.url);
    });

    after(async () => {
      await coffer?.close();
      await books?.dispose();
    });

    async function createOperator(body: Record<string, unknown>, by: Admin = admin): Promise<OperatorView> {
      return by.ok<OperatorView>('POST', '/admin/operators', { password: PASSWORD, ...body });
    }

    async function login(username: string, password = PASSWORD): Promise<LoginResult> {
      return admin.as(null).ok<LoginResult>('POST', '/operators/login', { username, password }, 200);
    }

    test('an admin operator logs in and then passes the admin API; its changes are audited under its own id', async () => {
      const username = unique('root').toLowerCase();
      const created = await createOperator({ username, role: 'admin' });
      assert.match(created.operatorId, /^op_/);
      assert.equal(created.merchantId, null);
      const session = await login(username);
      assert.match(session.token, /^co_/);
      assert.equal(session.role, 'admin');
      const [loggedIn] = (await admin.audit(`?subjectId=${created.operatorId}&action=operator.login`)).data;
      assert.deepEqual(loggedIn!.principal, { kind: 'operator', id: created.operatorId });
      assert.ok(loggedIn!.requestId);

      const asOperator = admin.as(session.token);
      const merchant = await asOperator.createMerchant({ name: 'Made by an operator' });
      const [entry] = (await admin.audit(`?subjectId=${merchant.merchantId}`)).data;
      assert.deepEqual(entry!.principal, { kind: 'operator', id: created.operatorId });

      // An admin operator may create operators too, and that is audited as theirs.
      const viewer = await createOperator({ username: unique('viewer').toLowerCase(), role: 'viewer' }, asOperator);
      const [made] = (await admin.audit(`?subjectId=${viewer.operatorId}`)).data;
      assert.equal(made!.action, 'operator.create');
      assert.deepEqual(made!.principal, { kind: 'operator', id: created.operatorId });
      assert.equal(made!.after!.role, 'viewer');
      assert.equal(JSON.stringify(made).includes(PASSWORD), false, 'no password in the audit log');

      const me = await asOperator.ok<{ operatorId: string; role: string }>('GET', '/operators/me');
      assert.equal(me.operatorId, created.operatorId);
    });

    test('a maker, checker or viewer is no admin: the admin API answers 403, the operator routes know them', async () => {
      const merchant = await admin.createMerchant();
      for (const role of ['maker', 'checker', 'viewer'] as const) {
        const username = unique(role).toLowerCase();
        const created = await createOperator({ username, role, merchantId: merchant.merchantId });
        assert.equal(created.merchantId, merchant.merchantId);
        const session = await login(username);
        assert.equal(session.role, role);
        assert.equal(session.merchantId, merchant.merchantId);
        const asOperator = admin.as(session.token);
        const refused = assertProblem(await asOperator.request('GET', '/admin/merchants'), 403, 'FORBIDDEN');
        assert.match(refused.detail, new RegExp(`this operator is ${role}`));
        assertProblem(await asOperator.request('POST', '/admin/operators', { username: unique('x').toLowerCase(), password: PASSWORD, role: 'admin' }), 403, 'FORBIDDEN');
        const me = await asOperator.ok<{ role: string; merchantId: string }>('GET', '/operators/me');
        assert.deepEqual(me, { operatorId: created.operatorId, username, role, merchantId: merchant.merchantId });
      }
    });

    test('logout ends the session; a user-style or made-up token is no operator', async () => {
      const username = unique('leaver').toLowerCase();
      await createOperator({ username, role: 'admin' });
      const session = await login(username);
      const asOperator = admin.as(session.token);
      assert.equal((await asOperator.request('POST', '/operators/logout')).status, 204);
      assertProblem(await asOperator.request('GET', '/operators/me'), 401, 'UNAUTHORIZED');
      assertProblem(await asOperator.request('GET', '/admin/merchants'), 401, 'UNAUTHORIZED');
      assertProblem(await admin.as('co_' + 'A'.repeat(43)).request('GET', '/operators/me'), 401, 'UNAUTHORIZED');
      assertProblem(await admin.as('cs_' + 'A'.repeat(43)).request('GET', '/admin/merchants'), 401, 'UNAUTHORIZED');
    });

    test('a disabled operator is out at once (sessions and login); enabled again, it can log in; both audited', async () => {
      const root = unique('root').toLowerCase();
      const rootOperator = await createOperator({ username: root, role: 'admin' });
      const asRoot = admin.as((await login(root)).token);
      const username = unique('temp').toLowerCase();
      const temp = await createOperator({ username, role: 'admin' });
      const session = await login(username);
      assert.equal((await admin.as(session.token).request('GET', '/admin/merchants')).status, 200);

      const disabled = await asRoot.ok<OperatorView>('POST', `/admin/operators/${temp.operatorId}/disable`, undefined, 200);
      assert.equal(disabled.status, 'DISABLED');
      assertProblem(await admin.as(session.token).request('GET', '/admin/merchants'), 401, 'UNAUTHORIZED');
      assertProblem(await admin.as(null).request('POST', '/operators/login', { username, password: PASSWORD }), 401, 'INVALID_OPERATOR_CREDENTIALS');
      assert.equal((await asRoot.ok<OperatorView>('POST', `/admin/operators/${temp.operatorId}/disable`, undefined, 200)).status, 'DISABLED', 'twice is a no-op');
      assertProblem(await asRoot.request('POST', `/admin/operators/${rootOperator.operatorId}/disable`), 403, 'FORBIDDEN');

      await asRoot.ok('POST', `/admin/operators/${temp.operatorId}/enable`, undefined, 200);
      assert.equal((await admin.as((await login(username)).token).request('GET', '/admin/merchants')).status, 200);
      const all = (await admin.audit(`?subjectId=${temp.operatorId}`)).data;
      assert.deepEqual(all.map((e) => e.action), ['operator.login', 'operator.enable', 'operator.disable', 'operator.login', 'operator.create']);
      const trail = all.filter((e) => e.action !== 'operator.login');
      assert.equal(trail[1]!.before!.status, 'ACTIVE');
      assert.equal(trail[1]!.after!.status, 'DISABLED');
      assert.deepEqual(trail[1]!.principal, { kind: 'operator', id: rootOperator.operatorId });
      assertProblem(await admin.request('POST', '/admin/operators/op_nope/disable'), 404, 'OPERATOR_NOT_FOUND');
    });

    test('wrong passwords are refused alike for unknown and known names, and lock the login after five', async () => {
      const username = unique('forgetful').toLowerCase();
      await createOperator({ username, role: 'viewer' });
      const anonymous = admin.as(null);
      assertProblem(await anonymous.request('POST', '/operators/login', { username: 'nobody-at-all', password: PASSWORD }), 401, 'INVALID_OPERATOR_CREDENTIALS');
      for (let i = 0; i < 4; i++) {
        assertProblem(await anonymous.request('POST', '/operators/login', { username, password: 'wrong password!' }), 401, 'INVALID_OPERATOR_CREDENTIALS');
      }
      const fifth = await anonymous.request('POST', '/operators/login', { username, password: 'wrong password!' });
      assertProblem(fifth, 401, 'INVALID_OPERATOR_CREDENTIALS');
      const locked = await anonymous.request('POST', '/operators/login', { username, password: PASSWORD });
      assertProblem(locked, 423, 'ACCOUNT_LOCKED');
      assert.ok(Number(locked.headers.get('retry-after')) > 0);
      const [created] = (await admin.audit(`?action=operator.create&limit=200`)).data.filter((e) => e.after!.username === username);
      const trail = (await admin.audit(`?subjectId=${created!.subject.id}`)).data.map((e) => e.action);
      assert.deepEqual(trail, [...Array(5).fill('operator.login_failed'), 'operator.create'], 'each refused login of a known operator is audited');
      assert.equal(JSON.stringify(await admin.audit('?limit=200')).includes('wrong password!'), false, 'never a password');
    });

    test('operator creation rules: unique names, admins belong to no merchant, makers and checkers to one', async () => {
      const merchant = await admin.createMerchant();
      const username = unique('dup').toLowerCase();
      await createOperator({ username, role: 'viewer' });
      assertProblem(await admin.request('POST', '/admin/operators', { username: username.toUpperCase(), password: PASSWORD, role: 'viewer' }), 409, 'OPERATOR_ALREADY_EXISTS');
      assertProblem(await admin.request('POST', '/admin/operators', { username: unique('a').toLowerCase(), password: PASSWORD, role: 'admin', merchantId: merchant.merchantId }), 400, 'VALIDATION_FAILED');
      assertProblem(await admin.request('POST', '/admin/operators', { username: unique('m').toLowerCase(), password: PASSWORD, role: 'maker' }), 400, 'VALIDATION_FAILED');
      assertProblem(await admin.request('POST', '/admin/operators', { username: unique('m').toLowerCase(), password: PASSWORD, role: 'checker', merchantId: 'mch_nope' }), 404, 'MERCHANT_NOT_FOUND');
      assertProblem(await admin.request('POST', '/admin/operators', { username: unique('m').toLowerCase(), password: 'short', role: 'viewer' }), 400, 'VALIDATION_FAILED');
      assertProblem(await admin.request('POST', '/admin/operators', { username: unique('m').toLowerCase(), password: PASSWORD, role: 'root' }), 400, 'VALIDATION_FAILED');
      assertProblem(await admin.as(null).request('POST', '/admin/operators', { username: unique('m').toLowerCase(), password: PASSWORD, role: 'admin' }), 401, 'UNAUTHORIZED');
      const listed = await admin.ok<{ data: OperatorView[] }>('GET', '/admin/operators?limit=200');
      assert.ok(listed.data.some((o) => o.username === username));
      assert.equal(JSON.stringify(listed).includes('scrypt'), false, 'no password hash leaves the server');
    });

    test('the audit log pages newest first with a cursor, every entry once', async () => {
      const merchant = await admin.createMerchant();
      await admin.activate(merchant.merchantId);
      await admin.ok<MerchantView>('POST', `/admin/merchants/${merchant.merchantId}/suspend`, undefined, 200);
      await admin.activate(merchant.merchantId);
      await admin.createKey(merchant.merchantId);
      const seen: AuditEntryView[] = [];
      let cursor = '';
      for (;;) {
        const page = await admin.audit(`?limit=2${cursor}`);
        seen.push(...page.data);
        if (!page.hasMore) break;
        cursor = `&startingAfter=${page.data.at(-1)!.id}`;
      }
      assert.equal(new Set(seen.map((e) => e.id)).size, seen.length, 'no entry twice');
      const times = seen.map((e) => Date.parse(e.at));
      assert.deepEqual(times, [...times].sort((a, b) => b - a), 'newest first');
      const mine = seen.filter((e) => e.subject.id === merchant.merchantId).map((e) => e.action);
      assert.deepEqual(mine, ['merchant.activate', 'merchant.suspend', 'merchant.activate', 'merchant.create']);
      for (const entry of seen) assert.ok(!Number.isNaN(Date.parse(entry.at)));
      assertProblem(await admin.request('GET', '/admin/audit-log?startingAfter=nonsense'), 400, 'VALIDATION_FAILED');
      assertProblem(await admin.as(null).request('GET', '/admin/audit-log'), 401, 'UNAUTHORIZED');
    });
  });
}
