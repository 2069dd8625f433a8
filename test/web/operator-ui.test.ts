/**
 * The admin console and the merchant portal over real HTTP (a real server on
 * both stores, forms posted as a browser posts them): operator sessions apart
 * from wallet sessions, CSRF on every operator form, role gating of pages and
 * actions, and the services' audit rows naming the operator.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningCoffer } from '../../src/main.ts';
import { Admin, createBooks, type MerchantView, startServer, type TestBooks, unique } from '../merchants/support.ts';
import { testStoreKinds } from '../support/stores.ts';
import { FormClient } from './support.ts';

const storeKinds = await testStoreKinds();
const PASSWORD = 'operator-pass-123';

interface OperatorView {
  operatorId: string;
  username: string;
}

for (const { kind, skip } of storeKinds) {
  describe(`operator UI: sessions, CSRF and roles (${kind} store)`, { skip }, () => {
    let books: TestBooks;
    let coffer: RunningCoffer;
    let admin: Admin;
    let merchant: MerchantView;
    const names: Record<'admin' | 'maker' | 'checker' | 'viewer', string> = { admin: '', maker: '', checker: '', viewer: '' };

    /** One more operator; the suite's own four are named in `names`. */
    async function operator(role: keyof typeof names, merchantId?: string): Promise<OperatorView> {
      const username = unique(role).toLowerCase();
      return admin.ok<OperatorView>('POST', '/admin/operators', { username, password: PASSWORD, role, ...(merchantId ? { merchantId } : {}) });
    }

    async function loggedIn(role: keyof typeof names): Promise<FormClient> {
      const client = new FormClient(coffer.url);
      await client.operatorLogin(names[role], PASSWORD);
      return client;
    }

    before(async () => {
      books = await createBooks(kind);
      coffer = await startServer(books);
      admin = new Admin(coffer.url);
      merchant = await admin.createMerchant({ name: 'Gating Ltd' });
      for (const role of ['admin', 'maker', 'checker', 'viewer'] as const) {
        names[role] = (await operator(role, role === 'admin' ? undefined : merchant.merchantId)).username;
      }
    });

    after(async () => {
      await coffer?.close();
      await books?.dispose();
    });

    test('an operator login sets its own HttpOnly cookie and lands on its area; logout ends the session', async () => {
      const client = new FormClient(coffer.url);
      await client.get('/ui/operator/login');
      const answer = await client.post('/ui/operator/login', { username: names.maker, password: PASSWORD });
      assert.equal(answer.status, 303);
      assert.equal(answer.location, '/ui/portal');
      const cookie = answer.setCookies.find((line) => line.startsWith('coffer_operator='));
      assert.ok(cookie, 'the operator cookie is set');
      assert.match(cookie, /^coffer_operator=co_[A-Za-z0-9_-]{43}; .*Path=\/ui\/; .*HttpOnly; SameSite=Strict/);
      assert.ok(!answer.setCookies.some((line) => line.startsWith('coffer_session=')), 'the wallet session is not touched');
      const portal = await client.get('/ui/portal');
      assert.equal(portal.status, 200);
      assert.match(portal.body, /Gating Ltd/);
      assert.match(portal.body, new RegExp(`data-testid="current-operator">${names.maker}<`));

      const out = await client.post('/ui/operator/logout');
      assert.equal(out.status, 303);
      assert.equal(out.location, '/ui/operator/login?notice=logged-out');
      const again = await client.get('/ui/portal');
      assert.equal(again.status, 303);
      assert.equal(again.location, '/ui/operator/login?notice=login-required&next=%2Fui%2Fportal');
      // The token itself is dead, not just forgotten by this browser.
      const replayed = await fetch(`${coffer.url}/operators/me`, { headers: { authorization: `Bearer ${cookie.split(';')[0]!.split('=')[1]}` } });
      assert.equal(replayed.status, 401);
    });

    test('wrong passwords are refused with a message, then the login is locked even for the right one', async () => {
      const victim = await operator('viewer', merchant.merchantId);
      const client = new FormClient(coffer.url);
      await client.get('/ui/operator/login');
      for (let i = 0; i < 5; i += 1) {
        const wrong = await client.post('/ui/operator/login', { username: victim.username, password: 'not-the-password' });
        assert.equal(wrong.status, 401);
        assert.match(wrong.body, /The username or password is wrong\./);
      }
      const locked = await client.post('/ui/operator/login', { username: victim.username, password: PASSWORD });
      assert.equal(locked.status, 423);
      assert.match(locked.body, /locked for a while/);
      assert.ok(!client.cookies.has('coffer_operator'));
    });

    test('every operator form needs the CSRF token of this browser and session; a refused form changes nothing', async () => {
      const client = new FormClient(coffer.url);
      await client.get('/ui/operator/login');
      const beforeLogin = client.csrf!;
      const noToken = await client.post('/ui/operator/login', { username: names.admin, password: PASSWORD }, { csrf: null });
      assert.equal(noToken.status, 403);
      assert.ok(!client.cookies.has('coffer_operator'), 'no session without the token');

      await client.operatorLogin(names.admin, PASSWORD);
      const countBefore = (await admin.ok<{ data: MerchantView[] }>('GET', '/admin/merchants?limit=200')).data.length;
      for (const csrf of [null, beforeLogin, 'forged']) {
        const refused = await client.post('/ui/admin/merchants', { name: 'Never Ltd', products: 'PAYOUT_SINGLE', currency: 'CNY' }, { csrf });
        assert.equal(refused.status, 403, `token ${String(csrf)}`);
        assert.match(refused.body, /This form has expired or did not come from this site/);
      }
      const crossSite = await client.post('/ui/admin/merchants', { name: 'Never Ltd', products: 'PAYOUT_SINGLE', currency: 'CNY' }, { headers: { origin: 'https://evil.example' } });
      assert.equal(crossSite.status, 403);
      assert.equal((await admin.ok<{ data: MerchantView[] }>('GET', '/admin/merchants?limit=200')).data.length, countBefore, 'nothing was created');

      const made = await client.post('/ui/admin/merchants', { name: 'Made In UI Ltd', products: ['PAYOUT_SINGLE', 'PAYOUT_BATCH'], currency: 'CNY', fixed: '1.00', rateBp: '50' });
      assert.equal(made.status, 303, made.body.slice(0, 400));
      assert.match(made.location!, /^\/ui\/admin\/merchants\/mch_[0-9a-z]+\?notice=merchant-created$/);
      const merchantId = /mch_[0-9a-z]+/.exec(made.location!)![0];
      const created = await admin.ok<MerchantView>('GET', `/admin/merchants/${merchantId}`);
      assert.deepEqual(created.fees.map((f) => [f.product, f.fixed, f.rateBp]).sort(), [['PAYOUT_BATCH', '1.00', 50], ['PAYOUT_SINGLE', '1.00', 50]]);
      // Audited under the operator, not under some UI service credential.
      const audit = await admin.audit(`?subjectId=${merchantId}&action=merchant.create`);
      const adminId = (await admin.ok<{ data: { operatorId: string; username: string }[] }>('GET', '/admin/operators?limit=200')).data.find((o) => o.username === names.admin)!.operatorId;
      assert.deepEqual(audit.data.map((e) => e.principal), [{ kind: 'operator', id: adminId }]);
    });

    test('funding in the console is audited with its reason and a double submit of one form funds once', async () => {
      const client = await loggedIn('admin');
      const page = await client.get(`/ui/admin/merchants/${merchant.merchantId}`);
      const key = /name="idempotencyKey" value="([0-9a-f-]{36})"/.exec(page.body)?.[1];
      assert.ok(key, 'the form carries its Idempotency-Key');
      const form = { idempotencyKey: key, amount: '250.00', currency: 'CNY', reason: 'float top-up' };
      for (let i = 0; i < 2; i += 1) {
        const funded = await client.post(`/ui/admin/merchants/${merchant.merchantId}/adjustments`, form);
        assert.equal(funded.status, 303, funded.body.slice(0, 300));
        assert.equal(funded.location, `/ui/admin/merchants/${merchant.merchantId}?currency=CNY&notice=merchant-funded`);
      }
      const adjustments = await admin.ok<{ data: { amount: string; reason: string; createdBy: { kind: string } }[] }>('GET', `/admin/merchants/${merchant.merchantId}/adjustments`);
      assert.deepEqual(adjustments.data.map((a) => [a.amount, a.reason, a.createdBy.kind]), [['250.00', 'float top-up', 'operator']]);
      const detail = await client.get(`/ui/admin/merchants/${merchant.merchantId}?currency=CNY`);
      assert.match(detail.body, /250\.00<span class="currency"> CNY/);
    });

    test('risk in the console: blacklist add and remove, decisions with the rules that fired, a review approved with a note', async () => {
      const client = await loggedIn('admin');
      await client.get('/ui/admin/risk/blacklist');
      const added = await client.post('/ui/admin/risk/blacklist', { kind: 'BENEFICIARY_ACCOUNT', value: '6222 0000 9999 0001', reason: 'mule account' });
      assert.equal(added.status, 303, added.body.slice(0, 300));
      const listed = await client.get('/ui/admin/risk/blacklist');
      assert.match(listed.body, /6222000099990001/);
      assert.match(listed.body, /mule account/);
      const entryId = /\/ui\/admin\/risk\/blacklist\/(rbl_[0-9a-z]+)\/remove/.exec(listed.body)?.[1];
      assert.ok(entryId);
      const removed = await client.post(`/ui/admin/risk/blacklist/${entryId}/remove`);
      assert.equal(removed.location, '/ui/admin/risk/blacklist?notice=blacklist-removed');
      assert.doesNotMatch((await client.get('/ui/admin/risk/blacklist')).body, /6222000099990001/);

      // A rule is switched off from the list with the version shown; a form showing an older version is refused.
      const rulesPage = await client.get('/ui/admin/risk/rules');
      assert.match(rulesPage.body, /action="\/ui\/admin\/risk\/rules\/rrl_seed_withdraw_velocity\/disable"/);
      const off = await client.post('/ui/admin/risk/rules/rrl_seed_withdraw_velocity/disable', { version: '1' });
      assert.equal(off.location, '/ui/admin/risk/rules?notice=rule-saved');
      const rule = await admin.ok<{ enabled: boolean; version: number; updatedBy: string }>('GET', '/admin/risk/rules/rrl_seed_withdraw_velocity');
      assert.deepEqual([rule.enabled, rule.version], [false, 2]);
      assert.match(rule.updatedBy, /^operator:op_/);
      const stale = await client.post('/ui/admin/risk/rules/rrl_seed_withdraw_velocity/enable', { version: '1' });
      assert.equal(stale.status, 409);
      assert.equal((await admin.ok<{ enabled: boolean }>('GET', '/admin/risk/rules/rrl_seed_withdraw_velocity')).enabled, false, 'the stale form changed nothing');
      assert.equal((await client.post('/ui/admin/risk/rules/rrl_seed_withdraw_velocity/enable', { version: '2' })).status, 303);

      // A HIGH payout decision (the seeded 1,000,000.00 CNY rule) waits for a reviewer.
      const assessed = await admin.ok<{ decisionId: string; level: string }>('POST', '/l/risk/assessments', {
        flow: 'PAYOUT', subjectKind: 'MERCHANT', subjectId: merchant.merchantId, amount: '1500000.00', currency: 'CNY', beneficiaryAccount: '6222000011119999', reference: 'po_ui_review_1',
      });
      assert.equal(assessed.level, 'HIGH');
      const decisions = await client.get('/ui/admin/risk/decisions?level=HIGH');
      assert.match(decisions.body, new RegExp(assessed.decisionId));
      assert.match(decisions.body, /amount 1500000\.00 CNY (&gt;|>)= 1000000\.00 CNY/);
      const queue = await client.get('/ui/admin/risk/reviews');
      assert.match(queue.body, new RegExp(`/ui/admin/risk/reviews/${assessed.decisionId}`));
      const approved = await client.post(`/ui/admin/risk/reviews/${assessed.decisionId}`, { outcome: 'approve', note: 'known payroll' });
      assert.equal(approved.location, '/ui/admin/risk/reviews?notice=review-approved');
      const decision = await admin.ok<{ review: { status: string; reviewedBy: string; note: string } }>('GET', `/admin/risk/decisions/${assessed.decisionId}`);
      assert.equal(decision.review.status, 'APPROVED');
      assert.match(decision.review.reviewedBy, /^operator:op_/);
      assert.equal(decision.review.note, 'known payroll');
      // Answered once: the other answer afterwards is a message, not a change.
      const late = await client.post(`/ui/admin/risk/reviews/${assessed.decisionId}`, { outcome: 'reject', note: 'changed my mind' });
      assert.equal(late.status, 409);
      assert.equal((await admin.ok<{ review: { status: string } }>('GET', `/admin/risk/decisions/${assessed.decisionId}`)).review.status, 'APPROVED');
    });

    test('roles gate pages: admins get the console, a merchant\'s operators its portal, nobody the other', async () => {
      const anonymous = new FormClient(coffer.url);
      const away = await anonymous.get('/ui/admin/merchants');
      assert.equal(away.status, 303);
      assert.equal(away.location, '/ui/operator/login?notice=login-required&next=%2Fui%2Fadmin%2Fmerchants');

      const adminClient = await loggedIn('admin');
      assert.equal((await adminClient.get('/ui/admin/merchants')).status, 200);
      for (const path of ['/ui/portal', '/ui/portal/keys', '/ui/portal/payouts']) {
        const refused = await adminClient.get(path);
        assert.equal(refused.status, 403, path);
        assert.match(refused.body, /This needs a maker, checker or viewer of a merchant; you are logged in as admin\./);
      }
      for (const role of ['maker', 'checker', 'viewer'] as const) {
        const client = await loggedIn(role);
        for (const path of ['/ui/admin/merchants', '/ui/admin/operators', '/ui/admin/risk/rules', '/ui/admin/sms']) {
          assert.equal((await client.get(path)).status, 403, `${role} ${path}`);
        }
        const overview = await client.get('/ui/portal');
        assert.equal(overview.status, 200, role);
        assert.match(overview.body, /aria-label="Merchant portal"/);
        assert.doesNotMatch(overview.body, /href="\/ui\/admin\//, 'no console links for a merchant operator');
        // Posting to the console directly is refused too (the page guard, then the admin API itself).
        const post = await client.post('/ui/admin/merchants', { name: 'Sneaky Ltd', products: 'PAYOUT_SINGLE' });
        assert.equal(post.status, 403);
      }
    });

    test('API keys: a maker makes maker keys, a checker checker keys (secret shown once); a viewer makes none; all audited', async () => {
      for (const role of ['maker', 'checker'] as const) {
        const client = await loggedIn(role);
        await client.get('/ui/portal/keys');
        const created = await client.post('/ui/portal/keys');
        assert.equal(created.status, 201);
        const keyId = /data-testid="new-key-id">(mk_[0-9a-z]+)</.exec(created.body)?.[1];
        assert.ok(keyId);
        assert.match(created.body, /data-testid="new-key-secret">csk_[A-Za-z0-9_-]+</);
        const listed = await client.get('/ui/portal/keys');
        assert.ok(!/csk_/.test(listed.body), 'the secret is never shown again');
        const audit = await admin.audit(`?subjectId=${keyId}&action=api_key.create`);
        assert.equal(audit.data.length, 1);
        assert.equal(audit.data[0]!.principal.kind, 'operator');
        assert.equal((audit.data[0]!.after as { role: string }).role, role);
      }
      const viewer = await loggedIn('viewer');
      const page = await viewer.get('/ui/portal/keys');
      assert.equal(page.status, 200);
      assert.doesNotMatch(page.body, /Create .* key/);
      const keysBefore = (await admin.ok<{ data: unknown[] }>('GET', `/admin/merchants/${merchant.merchantId}/api-keys`)).data.length;
      const refused = await viewer.post('/ui/portal/keys');
      assert.equal(refused.status, 403);
      assert.equal((await admin.ok<{ data: unknown[] }>('GET', `/admin/merchants/${merchant.merchantId}/api-keys`)).data.length, keysBefore);
    });

    test('only checkers reach the approve and reject actions; makers and viewers are refused before any service call', async () => {
      for (const role of ['maker', 'viewer'] as const) {
        const client = await loggedIn(role);
        await client.get('/ui/portal');
        for (const action of ['approve', 'reject']) {
          const refused = await client.post(`/ui/portal/batches/pb_any/${action}`);
          assert.equal(refused.status, 403, `${role} ${action}`);
          assert.match(refused.body, /This needs a checker of a merchant/);
        }
      }
      const viewer = await loggedIn('viewer');
      const upload = await viewer.post('/ui/portal/batches', { csv: 'merchantOrderNo,amount,currency,name,accountNo,bankCode,remark' });
      assert.equal(upload.status, 403, 'a viewer uploads nothing');
      for (const path of ['/ui/portal/webhooks/whd_any/resend', '/ui/portal/keys/mk_any/revoke']) {
        assert.equal((await viewer.post(path)).status, 403, `a viewer reads only: ${path}`);
      }
    });

    test('a disabled operator is out at once; a wallet user\'s session is no operator session', async () => {
      const extra = await operator('viewer', merchant.merchantId);
      const client = new FormClient(coffer.url);
      await client.operatorLogin(extra.username, PASSWORD);
      assert.equal((await client.get('/ui/portal')).status, 200);
      await admin.ok('POST', `/admin/operators/${extra.operatorId}/disable`, undefined, 200);
      const after = await client.get('/ui/portal');
      assert.equal(after.status, 303);
      assert.equal(after.location, '/ui/operator/login?notice=session-expired&next=%2Fui%2Fportal');
      assert.ok(!client.cookies.has('coffer_operator'), 'the dead cookie is cleared');

      const token = client.cookies.get('coffer_operator');
      assert.equal(token, undefined);
      const impostor = new FormClient(coffer.url);
      impostor.cookies.set('coffer_operator', 'cs_not-an-operator-token');
      assert.equal((await impostor.get('/ui/portal')).status, 303);
    });
  });
}
