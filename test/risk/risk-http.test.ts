/**
 * Risk control through real HTTP against a real Coffer server (startCoffer,
 * PORT=0) on both stores: the admin API for rules, blacklists, decisions and
 * reviews, and the internal assess / release endpoints another process uses.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import type { RunningCoffer } from '../../src/main.ts';
import { assertProblem, Client, createBooks, startServer, type TestBooks } from '../users/support.ts';
import { testStoreKinds } from '../support/stores.ts';

const ADMIN_TOKEN = 'users-admin-token-7d41e0'; // what the users suites' startServer configures
const storeKinds = await testStoreKinds();

interface AssessmentView {
  decisionId: string;
  level: 'LOW' | 'MEDIUM' | 'HIGH' | 'REJECT';
  firedRules: { ruleId: string | null; name: string; type: string; level: string; version: number | null; detail: string }[];
  verification: string[];
}

for (const { kind, skip } of storeKinds) {
  describe(`risk over HTTP (${kind})`, { skip }, () => {
    let books: TestBooks;
    let coffer: RunningCoffer;
    let api: Client;
    let n = 0;
    const subject = (prefix = 'usr') => `${prefix}_http${++n}`;
    const admin = <T = any>(method: string, path: string, body?: unknown) =>
      api.request<T>(method, path, { token: ADMIN_TOKEN, ...(body !== undefined ? { body } : {}) });

    async function assess(subjectId: string, amount: string, extra: Record<string, unknown> = {}): Promise<AssessmentView> {
      const reply = await admin<AssessmentView>('POST', '/l/risk/assessments', {
        flow: 'WITHDRAW',
        subjectKind: 'USER',
        subjectId,
        amount,
        currency: 'CNY',
        reference: `wdr_${subjectId}_${amount}`,
        ...extra,
      });
      assert.equal(reply.status, 201, JSON.stringify(reply.body));
      return reply.body;
    }

    async function clearRules(): Promise<void> {
      const list = await admin<{ data: { id: string }[] }>('GET', '/admin/risk/rules');
      for (const rule of list.body.data) assert.equal((await admin('DELETE', `/admin/risk/rules/${rule.id}`)).status, 204);
    }

    async function addRule(body: Record<string, unknown>): Promise<{ id: string; version: number }> {
      const reply = await admin('POST', '/admin/risk/rules', { flows: ['WITHDRAW'], ...body });
      assert.equal(reply.status, 201, JSON.stringify(reply.body));
      return reply.body;
    }

    before(async () => {
      books = await createBooks(kind);
      coffer = await startServer(books);
      api = new Client(coffer.url);
    });
    after(async () => {
      await coffer?.close();
      await books?.dispose();
    });

    test('the default rules are listed with money as decimal strings, and fire at their thresholds', async () => {
      const rules = await admin<{ data: any[] }>('GET', '/admin/risk/rules?flow=WITHDRAW');
      assert.equal(rules.status, 200);
      const medium = rules.body.data.find((r) => r.id === 'rrl_seed_withdraw_medium');
      assert.deepEqual(
        { type: medium.type, flows: medium.flows, level: medium.level, enabled: medium.enabled, params: medium.params },
        { type: 'AMOUNT_THRESHOLD', flows: ['WITHDRAW'], level: 'MEDIUM', enabled: true, params: { amount: '5000.00', currency: 'CNY' } },
      );
      assert.ok(rules.body.data.every((r) => r.flows.includes('WITHDRAW')), 'filtered by flow');
      const seeded = await admin('GET', '/admin/risk/rules/rrl_seed_withdraw_medium/history');
      assert.deepEqual(seeded.body.data.map((c: any) => [c.action, c.actor, c.rule.params.amount]), [['CREATED', 'seed', '5000.00']]);
      assert.equal((await assess(subject(), '4999.99')).level, 'LOW');
      const medium5000 = await assess(subject(), '5000.00');
      assert.equal(medium5000.level, 'MEDIUM');
      assert.deepEqual(medium5000.verification, ['TRANSACTION_PASSWORD', 'SMS_CODE']);
      const high = await assess(subject(), '50000.00');
      assert.equal(high.level, 'HIGH');
      assert.deepEqual(high.verification, ['TRANSACTION_PASSWORD', 'SMS_CODE', 'MANUAL_REVIEW']);
      const payout = await assess(subject('mch'), '1000000.00', { flow: 'PAYOUT', subjectKind: 'MERCHANT', beneficiaryAccount: '6222000011112222' });
      assert.equal(payout.level, 'HIGH');
    });

    test('rules: create, read, replace with version check, delete; bad ones are refused', async () => {
      await clearRules();
      const rule = await addRule({ name: 'big', type: 'AMOUNT_THRESHOLD', level: 'MEDIUM', params: { amount: '100.00', currency: 'CNY' } });
      assert.match(rule.id, /^rrl_/);
      const got = await admin('GET', `/admin/risk/rules/${rule.id}`);
      assert.equal(got.body.params.amount, '100.00');
      assert.equal(got.body.updatedBy, 'admin-token:bootstrap-admin');
      const put = await admin('PUT', `/admin/risk/rules/${rule.id}`, { name: 'big', type: 'AMOUNT_THRESHOLD', flows: ['WITHDRAW'], level: 'HIGH', params: { amount: '200.00', currency: 'CNY' }, version: 1 });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      assert.equal(put.body.version, 2);
      assert.equal(put.body.level, 'HIGH');
      const stale = assertProblem(await admin('PUT', `/admin/risk/rules/${rule.id}`, { name: 'x', type: 'DAILY_COUNT', flows: ['WITHDRAW'], level: 'HIGH', params: { count: 2 }, version: 1 }) as any, 409, 'RISK_RULE_VERSION_CONFLICT');
      assert.equal(stale.version, 2);
      assertProblem(await admin('POST', '/admin/risk/rules', { name: 'x', type: 'AMOUNT_THRESHOLD', flows: ['WITHDRAW'], level: 'HIGH', params: { amount: '1.001', currency: 'CNY' } }) as any, 400, 'INVALID_AMOUNT');
      assertProblem(await admin('POST', '/admin/risk/rules', { name: 'x', type: 'AMOUNT_THRESHOLD', flows: ['WITHDRAW'], level: 'HIGH', params: { amount: '100.00' } }) as any, 400, 'VALIDATION_FAILED');
      assertProblem(await admin('POST', '/admin/risk/rules', { name: 'x', type: 'VELOCITY', flows: ['WITHDRAW'], level: 'HIGH', params: { count: 3, windowMinutes: 0 } }) as any, 400, 'VALIDATION_FAILED');
      assertProblem(await admin('POST', '/admin/risk/rules', { name: 'x', type: 'DAILY_COUNT', flows: ['WITHDRAW'], level: 'LOW', params: { count: 3 } }) as any, 400, 'VALIDATION_FAILED');
      assertProblem(await admin('POST', '/admin/risk/rules', { name: 'x', type: 'DAILY_COUNT', flows: ['DEPOSIT'], level: 'HIGH', params: { count: 3 } }) as any, 400, 'VALIDATION_FAILED');
      assertProblem(await api.request('GET', '/admin/risk/rules') as any, 401, 'UNAUTHORIZED');
      assert.equal((await admin('DELETE', `/admin/risk/rules/${rule.id}`)).status, 204);
      assertProblem(await admin('GET', `/admin/risk/rules/${rule.id}`) as any, 404, 'RISK_RULE_NOT_FOUND');
      const history = await admin('GET', `/admin/risk/rules/${rule.id}/history`);
      assert.equal(history.status, 200, JSON.stringify(history.body));
      assert.deepEqual(history.body.data.map((c: any) => [c.action, c.version]), [['CREATED', 1], ['UPDATED', 2], ['DELETED', 2]]);
      assert.deepEqual(history.body.data[0].rule.params, { amount: '100.00', currency: 'CNY' });
      assert.deepEqual(history.body.data[1].rule.params, { amount: '200.00', currency: 'CNY' });
      assert.equal(history.body.data[2].actor, 'admin-token:bootstrap-admin');
      assertProblem(await admin('DELETE', `/admin/risk/rules/${rule.id}`) as any, 404, 'RISK_RULE_NOT_FOUND');
    });

    test('each rule type fires at its threshold and not below', async () => {
      await clearRules();
      await addRule({ name: 'amount', type: 'AMOUNT_THRESHOLD', level: 'MEDIUM', params: { amount: '300.00', currency: 'CNY' } });
      assert.equal((await assess(subject(), '299.99')).level, 'LOW');
      const fired = await assess(subject(), '300.00');
      assert.equal(fired.level, 'MEDIUM');
      assert.equal(fired.firedRules[0]!.type, 'AMOUNT_THRESHOLD');

      await clearRules();
      await addRule({ name: 'daily amount', type: 'DAILY_AMOUNT', level: 'HIGH', params: { amount: '1000.00', currency: 'CNY' } });
      let s = subject();
      assert.equal((await assess(s, '500.00')).level, 'LOW');
      assert.equal((await assess(s, '499.99')).level, 'LOW');
      assert.equal((await assess(s, '0.01')).level, 'HIGH');

      await clearRules();
      await addRule({ name: 'daily count', type: 'DAILY_COUNT', level: 'MEDIUM', params: { count: 3 } });
      s = subject();
      assert.deepEqual([(await assess(s, '1.00')).level, (await assess(s, '1.00')).level, (await assess(s, '1.00')).level], ['LOW', 'LOW', 'MEDIUM']);

      await clearRules();
      await addRule({ name: 'velocity', type: 'VELOCITY', level: 'HIGH', params: { count: 2, windowMinutes: 60 } });
      s = subject();
      assert.deepEqual([(await assess(s, '1.00')).level, (await assess(s, '1.00')).level], ['LOW', 'HIGH']);

      await clearRules();
      await addRule({ name: 'new card', type: 'NEW_BENEFICIARY', level: 'MEDIUM' });
      s = subject();
      assert.equal((await assess(s, '1.00', { card: '6222020000001111' })).level, 'MEDIUM');
      assert.equal((await assess(s, '1.00', { card: '6222020000001111' })).level, 'LOW');
    });

    test('blacklist: add (retry-safe), list, hit rejects at once, remove', async () => {
      await clearRules();
      const card = '6222 0200 0000 7777';
      const added = await admin('POST', '/admin/risk/blacklist', { kind: 'CARD', value: card, reason: 'reported stolen' });
      assert.equal(added.status, 201, JSON.stringify(added.body));
      assert.equal(added.body.value, '6222020000007777');
      assert.equal(added.body.createdBy, 'admin-token:bootstrap-admin');
      const again = await admin('POST', '/admin/risk/blacklist', { kind: 'CARD', value: '6222020000007777', reason: 'dup' });
      assert.equal(again.status, 200);
      assert.equal(again.body.id, added.body.id);
      const listed = await admin('GET', '/admin/risk/blacklist?kind=CARD&value=6222-0200-0000-7777');
      assert.deepEqual(listed.body.data.map((e: any) => e.id), [added.body.id]);

      const hit = await assess(subject(), '1.00', { card: '6222020000007777' });
      assert.equal(hit.level, 'REJECT');
      assert.deepEqual(hit.verification, []);
      assert.equal(hit.firedRules[0]!.type, 'BLACKLIST');
      assert.doesNotMatch(hit.firedRules[0]!.detail, /6222020000007777/, 'the number is masked in the decision');

      const user = subject();
      const userEntry = await admin('POST', '/admin/risk/blacklist', { kind: 'USER', value: user, reason: 'fraud' });
      const byValue = await admin('GET', `/admin/risk/blacklist?value=${user}`);
      assert.deepEqual(byValue.body.data.map((e: any) => e.id), [userEntry.body.id], 'found by value without a kind');
      assert.equal((await assess(user, '1.00')).level, 'REJECT');
      await admin('POST', '/admin/risk/blacklist', { kind: 'ID_NUMBER', value: '110101199003077777', reason: 'stolen id' });
      assert.equal((await assess(subject(), '1.00', { idNumber: '110101199003077777' })).level, 'REJECT');
      await admin('POST', '/admin/risk/blacklist', { kind: 'BENEFICIARY_ACCOUNT', value: '9558807777', reason: 'mule' });
      assert.equal((await assess(subject('mch'), '1.00', { flow: 'PAYOUT', subjectKind: 'MERCHANT', beneficiaryAccount: '9558807777' })).level, 'REJECT');

      assert.equal((await admin('DELETE', `/admin/risk/blacklist/${added.body.id}`)).status, 204);
      assert.equal((await admin('DELETE', `/admin/risk/blacklist/${added.body.id}`)).status, 204, 'safe to retry');
      assertProblem(await admin('DELETE', '/admin/risk/blacklist/rbl_nope') as any, 404, 'RISK_BLACKLIST_ENTRY_NOT_FOUND');
      assert.equal((await assess(subject(), '1.00', { card: '6222020000007777' })).level, 'LOW');
      assertProblem(await admin('POST', '/admin/risk/blacklist', { kind: 'PHONE', value: '1', reason: 'x' }) as any, 400, 'VALIDATION_FAILED');
    });

    test('decisions are listed per subject, newest first, cursor paged, with fired rules and masked inputs', async () => {
      await clearRules();
      await addRule({ name: 'amount', type: 'AMOUNT_THRESHOLD', level: 'MEDIUM', params: { amount: '2.00', currency: 'CNY' } });
      const s = subject();
      const made = [await assess(s, '1.00'), await assess(s, '2.00', { card: '6222020000003333' }), await assess(s, '3.00')];
      const first = await admin('GET', `/admin/risk/decisions?subjectId=${s}&limit=2`);
      assert.equal(first.status, 200);
      // Ids order by creation time to the millisecond: newest first is id order, descending.
      const expected = made.map((m) => m.decisionId).sort().reverse();
      assert.deepEqual(first.body.data.map((d: any) => d.decisionId), expected.slice(0, 2));
      assert.equal(first.body.hasMore, true);
      const second = await admin('GET', `/admin/risk/decisions?subjectId=${s}&limit=2&startingAfter=${first.body.data[1].decisionId}`);
      assert.deepEqual(second.body.data.map((d: any) => d.decisionId), expected.slice(2));
      assert.equal(second.body.hasMore, false);
      const middle = (await admin('GET', `/admin/risk/decisions/${made[1]!.decisionId}`)).body;
      assert.equal(middle.amount, '2.00');
      assert.equal(middle.level, 'MEDIUM');
      assert.equal(middle.counted, true);
      assert.equal(middle.firedRules[0].name, 'amount');
      assert.equal(middle.inputs.card, '6222********3333');
      const one = await admin('GET', `/admin/risk/decisions/${made[0]!.decisionId}`);
      assert.equal(one.body.level, 'LOW');
      assertProblem(await admin('GET', '/admin/risk/decisions/rsk_nope') as any, 404, 'RISK_DECISION_NOT_FOUND');
    });

    test('release over HTTP takes a decision out of the daily figures', async () => {
      await clearRules();
      await addRule({ name: 'daily', type: 'DAILY_AMOUNT', level: 'MEDIUM', params: { amount: '100.00', currency: 'CNY' } });
      const s = subject();
      const first = await assess(s, '80.00');
      assert.equal((await assess(s, '20.00')).level, 'MEDIUM');
      const released = await admin('POST', `/l/risk/decisions/${first.decisionId}/release`);
      assert.equal(released.status, 200);
      assert.equal(released.body.counted, false);
      assert.ok(released.body.releasedAt);
      assert.equal((await admin('POST', `/l/risk/decisions/${first.decisionId}/release`)).status, 200, 'safe to retry');
      assert.equal((await assess(s, '20.00')).level, 'LOW', '20 + 20 counted');
    });

    test('concurrent assessments over HTTP cannot both slip under the daily limit', async () => {
      await clearRules();
      await addRule({ name: 'daily 500', type: 'DAILY_AMOUNT', level: 'REJECT', params: { amount: '500.00', currency: 'CNY' } });
      const s = subject();
      const results = await Promise.all(Array.from({ length: 8 }, () => assess(s, '100.00')));
      assert.equal(results.filter((r) => r.level === 'LOW').length, 4, 'four of 100.00 stay under 500.00; the rest are refused');
      assert.equal(results.filter((r) => r.level === 'REJECT').length, 4);
    });

    test('manual review: listed, answered once, event on the outbox; conflicting answers refused', async () => {
      await clearRules();
      await addRule({ name: 'review', type: 'AMOUNT_THRESHOLD', level: 'HIGH', params: { amount: '10.00', currency: 'CNY' } });
      const a = await assess(subject(), '10.00');
      const b = await assess(subject(), '10.00');
      const queue = await admin('GET', '/admin/risk/reviews?status=PENDING');
      assert.equal(queue.status, 200);
      const ids = queue.body.data.map((d: any) => d.decisionId);
      assert.ok(ids.includes(a.decisionId) && ids.includes(b.decisionId), 'both wait');

      const approved = await admin('POST', `/admin/risk/reviews/${a.decisionId}/approve`, { note: 'verified by phone' });
      assert.equal(approved.status, 200, JSON.stringify(approved.body));
      assert.equal(approved.body.review.status, 'APPROVED');
      assert.equal(approved.body.review.reviewedBy, 'admin-token:bootstrap-admin');
      assert.equal((await admin('POST', `/admin/risk/reviews/${a.decisionId}/approve`, { note: 'again' })).status, 200);
      const conflict = assertProblem(await admin('POST', `/admin/risk/reviews/${a.decisionId}/reject`, { note: 'no' }) as any, 409, 'RISK_REVIEW_ALREADY_DECIDED');
      assert.equal(conflict.reviewStatus, 'APPROVED');

      const rejected = await admin('POST', `/admin/risk/reviews/${b.decisionId}/reject`, { note: 'mule pattern' });
      assert.equal(rejected.body.review.status, 'REJECTED');
      assert.equal(rejected.body.counted, false);
      const done = await admin('GET', '/admin/risk/reviews?status=APPROVED');
      assert.ok(done.body.data.some((d: any) => d.decisionId === a.decisionId));

      const { rows } = await sql<{ key: string; topic: string; payload: any }>`
        select key, topic, payload from outbox_messages where key in (${a.decisionId}, ${b.decisionId}) order by id`.execute(coffer.store.db);
      assert.deepEqual(rows.map((r) => [r.key, r.topic]), [[a.decisionId, 'risk.reviewed'], [b.decisionId, 'risk.reviewed']]);
      const payloads = rows.map((r) => (typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload));
      assert.deepEqual(payloads.map((p) => p.outcome), ['APPROVED', 'REJECTED']);

      const low = await assess(subject(), '1.00');
      assertProblem(await admin('POST', `/admin/risk/reviews/${low.decisionId}/approve`, { note: 'x' }) as any, 409, 'RISK_NOT_UNDER_REVIEW');
      assertProblem(await admin('POST', `/admin/risk/reviews/${a.decisionId}/approve`, {}) as any, 400, 'VALIDATION_FAILED');
      assertProblem(await api.request('POST', `/admin/risk/reviews/${a.decisionId}/approve`, { body: { note: 'x' } }) as any, 401, 'UNAUTHORIZED');
    });

    test('assessments are counted by flow and level on /metrics', async () => {
      const text = await (await fetch(`${coffer.url}/metrics`)).text();
      assert.match(text, /coffer_risk_assessments_total\{flow="WITHDRAW",level="LOW"\} [1-9]/);
      assert.match(text, /coffer_risk_assessments_total\{flow="WITHDRAW",level="REJECT"\} [1-9]/);
    });

    test('assessment input is validated at the edge', async () => {
      assertProblem(await admin('POST', '/l/risk/assessments', { flow: 'WITHDRAW', subjectKind: 'USER', subjectId: 'usr_x', amount: '1.005', currency: 'CNY', reference: 'r' }) as any, 400, 'INVALID_AMOUNT');
      assertProblem(await admin('POST', '/l/risk/assessments', { flow: 'WITHDRAW', subjectKind: 'USER', subjectId: 'usr_x', amount: '1.00', currency: 'XXX', reference: 'r' }) as any, 400, 'UNSUPPORTED_CURRENCY');
      assertProblem(await admin('POST', '/l/risk/assessments', { flow: 'REFUND', subjectKind: 'USER', subjectId: 'usr_x', amount: '1.00', currency: 'CNY', reference: 'r' }) as any, 400, 'VALIDATION_FAILED');
      assertProblem(await api.request('POST', '/l/risk/assessments', { body: { flow: 'WITHDRAW', subjectKind: 'USER', subjectId: 'usr_x', amount: '1.00', currency: 'CNY', reference: 'r' } }) as any, 401, 'UNAUTHORIZED');
    });
  });
}
