/**
 * Risk control over a real store (embedded and PostgreSQL server), with the
 * test's business clock: the shipped default rules, each rule type at its
 * threshold and just below, blacklists, levels and their verification,
 * release, the daily limits under concurrency, and the manual review with its
 * outbox event.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import {
  assertNotRejected,
  RISK_REVIEWED,
  RiskService,
  verificationFor,
  type AssessInput,
  type Assessment,
  type RuleInput,
} from '../../src/modules/risk/index.ts';
import { DomainError, type ErrorCode } from '../../src/platform/errors.ts';
import { parseMoney } from '../../src/platform/money/index.ts';
import { TestClock } from '../support/clock.ts';
import { openStore } from '../../src/platform/db/store.ts';
import { openTestStore, testStoreKinds } from '../support/stores.ts';

const storeKinds = await testStoreKinds();
const cny = (amount: string) => parseMoney(amount, 'CNY').amountMinor;
const ADMIN = 'admin-token:test';

async function rejects(promise: Promise<unknown>, code: ErrorCode): Promise<DomainError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof DomainError, `expected DomainError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected ${code}, but it succeeded`);
}

for (const { kind, skip } of storeKinds) {
  describe(`risk service (${kind})`, { skip }, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    let risk: RiskService;
    const clock = new TestClock('2026-11-23T02:00:00.000Z'); // 10:00 in China
    let n = 0;
    const subject = () => `usr_risk${++n}`;

    before(async () => {
      store = await openTestStore(kind, 20);
      risk = new RiskService({ db: store.db, clock });
    });
    after(async () => {
      await store?.dispose();
    });

    function assess(subjectId: string, amount: string, extra: Partial<AssessInput> = {}): Promise<Assessment> {
      return risk.assess({ flow: 'WITHDRAW', subjectKind: 'USER', subjectId, amountMinor: cny(amount), currency: 'CNY', reference: `wdr_${n}_${amount}`, ...extra });
    }

    /** Only the given rules (the defaults are tested first, then put aside). */
    async function onlyRules(...rules: RuleInput[]): Promise<void> {
      await sql`delete from risk_rules`.execute(store.db);
      for (const rule of rules) await risk.createRule(rule, ADMIN);
    }

    const amountRule = (level: RuleInput['level'], amount: string, flows: RuleInput['flows'] = ['WITHDRAW']): RuleInput => ({
      name: `amount >= ${amount}`,
      flows,
      level,
      params: { type: 'AMOUNT_THRESHOLD', thresholdMinor: cny(amount), currency: 'CNY' },
    });

    test('the default rules ship enabled: withdraw 5,000.00 MEDIUM, 50,000.00 HIGH; payout 1,000,000.00 HIGH', async () => {
      const rules = await risk.listRules();
      assert.ok(rules.length >= 6, 'seeded rules exist');
      assert.ok(rules.every((r) => r.updatedBy === 'seed'));
      assert.equal((await assess(subject(), '4999.99')).level, 'LOW');
      assert.equal((await assess(subject(), '5000.00')).level, 'MEDIUM');
      assert.equal((await assess(subject(), '49999.99')).level, 'MEDIUM');
      assert.equal((await assess(subject(), '50000.00')).level, 'HIGH');
      const payout = (amount: string) => assess(subject(), amount, { flow: 'PAYOUT', subjectKind: 'MERCHANT', beneficiaryAccount: '6222000011112222' });
      assert.equal((await payout('999999.99')).level, 'LOW');
      assert.equal((await payout('1000000.00')).level, 'HIGH');
    });

    test('levels map to verification, and the highest fired rule sets the level', async () => {
      assert.deepEqual(verificationFor('LOW'), ['TRANSACTION_PASSWORD']);
      assert.deepEqual(verificationFor('MEDIUM'), ['TRANSACTION_PASSWORD', 'SMS_CODE']);
      assert.deepEqual(verificationFor('HIGH'), ['TRANSACTION_PASSWORD', 'SMS_CODE', 'MANUAL_REVIEW']);
      assert.deepEqual(verificationFor('REJECT'), []);
      await onlyRules(amountRule('MEDIUM', '100.00'), amountRule('HIGH', '200.00'), amountRule('REJECT', '300.00'));
      const cases: [string, string, number][] = [['99.99', 'LOW', 0], ['100.00', 'MEDIUM', 1], ['200.00', 'HIGH', 2], ['300.00', 'REJECT', 3]];
      for (const [amount, level, fired] of cases) {
        const a = await assess(subject(), amount);
        assert.equal(a.level, level, amount);
        assert.equal(a.firedRules.length, fired, amount);
        assert.deepEqual(a.verification, verificationFor(a.level));
        assert.match(a.decisionId, /^rsk_/);
      }
      const rejected = await assess(subject(), '300.00');
      assert.throws(() => assertNotRejected(rejected), (err: unknown) => err instanceof DomainError && err.code === 'RISK_REJECTED');
      assertNotRejected(await assess(subject(), '200.00'));
    });

    test('AMOUNT_THRESHOLD: only its flow, its currency, and only while enabled', async () => {
      await onlyRules(amountRule('MEDIUM', '100.00', ['PAYOUT']));
      const s = subject();
      assert.equal((await assess(s, '100.00')).level, 'LOW', 'another flow');
      assert.equal((await assess(s, '100.00', { flow: 'PAYOUT', subjectKind: 'MERCHANT' })).level, 'MEDIUM');
      assert.equal((await assess(s, '100.00', { flow: 'PAYOUT', subjectKind: 'MERCHANT', currency: 'USD' })).level, 'LOW', 'another currency');
      const [rule] = await risk.listRules();
      await risk.updateRule(rule!.id, { ...amountRule('MEDIUM', '100.00', ['PAYOUT']), enabled: false }, ADMIN, rule!.version);
      assert.equal((await assess(s, '100.00', { flow: 'PAYOUT', subjectKind: 'MERCHANT' })).level, 'LOW', 'disabled');
    });

    test('DAILY_AMOUNT fires when today including this one reaches the limit, and a new (China) day starts afresh', async () => {
      await onlyRules({ name: 'daily 1000', flows: ['WITHDRAW'], level: 'HIGH', params: { type: 'DAILY_AMOUNT', thresholdMinor: cny('1000.00'), currency: 'CNY' } });
      const s = subject();
      clock.set('2026-11-23T15:00:00.000Z'); // 23:00 in China
      assert.equal((await assess(s, '600.00')).level, 'LOW');
      assert.equal((await assess(s, '399.99')).level, 'LOW', '999.99 in total');
      assert.equal((await assess(s, '50.00', { currency: 'USD' })).level, 'LOW', 'other currencies are summed apart');
      const fired = await assess(s, '0.01');
      assert.equal(fired.level, 'HIGH', '1000.00 in total');
      assert.match(fired.firedRules[0]!.detail, /1000\.00 CNY >= 1000\.00 CNY/);
      clock.set('2026-11-23T15:59:59.999Z');
      assert.equal((await assess(s, '0.01')).level, 'HIGH', 'still the same day');
      clock.set('2026-11-23T16:00:00.000Z'); // midnight in China
      assert.equal((await assess(s, '999.99')).level, 'LOW', 'a new day');
      clock.set('2026-11-24T02:00:00.000Z');
    });

    test('DAILY_COUNT fires at the Nth request of the day, not before', async () => {
      await onlyRules({ name: '3 a day', flows: ['WITHDRAW'], level: 'MEDIUM', params: { type: 'DAILY_COUNT', count: 3 } });
      const s = subject();
      assert.equal((await assess(s, '1.00')).level, 'LOW');
      assert.equal((await assess(s, '1.00')).level, 'LOW');
      assert.equal((await assess(s, '1.00')).level, 'MEDIUM');
      assert.equal((await assess(subject(), '1.00')).level, 'LOW', 'another subject counts apart');
      assert.equal((await assess(s, '1.00', { flow: 'PAYOUT' })).level, 'LOW', 'another flow counts apart');
    });

    test('VELOCITY fires at N requests within M minutes, and not once the window has passed', async () => {
      await onlyRules({ name: '3 in 10 min', flows: ['WITHDRAW'], level: 'HIGH', params: { type: 'VELOCITY', count: 3, windowMinutes: 10 } });
      const s = subject();
      assert.equal((await assess(s, '1.00')).level, 'LOW');
      clock.advance(5 * 60_000);
      assert.equal((await assess(s, '1.00')).level, 'LOW');
      clock.advance(4 * 60_000 + 59_999);
      assert.equal((await assess(s, '1.00')).level, 'HIGH', '3 within 10 minutes');
      clock.advance(5 * 60_000 + 1); // the first two are now older than 10 minutes... only the 2nd and 3rd remain
      const a = await assess(s, '1.00');
      assert.equal(a.level, 'HIGH', 'the 2nd, 3rd (HIGH counts) and this one');
      clock.advance(10 * 60_000);
      assert.equal((await assess(s, '1.00')).level, 'LOW', 'all earlier ones out of the window');
    });

    test('several VELOCITY windows and daily rules are judged together, each on its own figures', async () => {
      await onlyRules(
        { name: '2 in 1 min', flows: ['WITHDRAW'], level: 'HIGH', params: { type: 'VELOCITY', count: 2, windowMinutes: 1 } },
        { name: '3 in 60 min', flows: ['WITHDRAW'], level: 'MEDIUM', params: { type: 'VELOCITY', count: 3, windowMinutes: 60 } },
        { name: '5 a day', flows: ['WITHDRAW'], level: 'REJECT', params: { type: 'DAILY_COUNT', count: 5 } },
      );
      const s = subject();
      clock.set('2026-11-25T01:00:00.000Z');
      assert.equal((await assess(s, '1.00')).level, 'LOW');
      clock.advance(2 * 60_000);
      assert.equal((await assess(s, '1.00')).level, 'LOW', '1 in the last minute, 2 in the hour');
      clock.advance(2 * 60_000);
      const third = await assess(s, '1.00');
      assert.deepEqual(third.firedRules.map((r) => r.name), ['3 in 60 min']);
      clock.advance(30_000);
      const fourth = await assess(s, '1.00');
      assert.deepEqual(fourth.firedRules.map((r) => r.name).sort(), ['2 in 1 min', '3 in 60 min']);
      assert.equal(fourth.level, 'HIGH');
      clock.advance(61 * 60_000);
      assert.equal((await assess(s, '1.00')).level, 'REJECT', 'the 5th of the day, whatever the windows say');
    });

    test('NEW_BENEFICIARY fires on the first use of a card or account by a subject only', async () => {
      await onlyRules({ name: 'new card', flows: ['WITHDRAW', 'PAYOUT'], level: 'MEDIUM', params: { type: 'NEW_BENEFICIARY' } });
      const s = subject();
      const first = await assess(s, '1.00', { card: '6222 0200 0000 1234' });
      assert.equal(first.level, 'MEDIUM');
      assert.equal((await assess(s, '1.00', { card: '6222020000001234' })).level, 'LOW', 'known (spaces ignored)');
      assert.equal((await assess(s, '1.00', { card: '6222020000005678' })).level, 'MEDIUM', 'another card');
      assert.equal((await assess(subject(), '1.00', { card: '6222020000001234' })).level, 'MEDIUM', 'another subject');
      assert.equal((await assess(s, '1.00')).level, 'LOW', 'no card named: nothing to judge');
      const m = subject();
      const p = await assess(m, '1.00', { flow: 'PAYOUT', subjectKind: 'MERCHANT', beneficiaryAccount: '9558800001' });
      assert.equal(p.level, 'MEDIUM');
      await risk.release(p.decisionId);
      assert.equal((await assess(m, '1.00', { flow: 'PAYOUT', subjectKind: 'MERCHANT', beneficiaryAccount: '9558800001' })).level, 'MEDIUM', 'a released use does not make it known');
    });

    test('release takes a decision out of the daily figures; it is safe to repeat', async () => {
      await onlyRules({ name: 'daily 1000', flows: ['WITHDRAW'], level: 'MEDIUM', params: { type: 'DAILY_AMOUNT', thresholdMinor: cny('1000.00'), currency: 'CNY' } });
      const s = subject();
      const first = await assess(s, '800.00');
      assert.equal((await assess(s, '300.00')).level, 'MEDIUM');
      const released = await risk.release(first.decisionId);
      assert.ok(released.releasedAt, 'released');
      const again = await risk.release(first.decisionId);
      assert.deepEqual(again.releasedAt, released.releasedAt, 'a second release changes nothing');
      // 300 (MEDIUM, still counted) + 300 = 600 < 1000
      assert.equal((await assess(s, '300.00')).level, 'LOW');
      await rejects(risk.release('rsk_unknown'), 'RISK_DECISION_NOT_FOUND');
    });

    test('rejected decisions never count', async () => {
      await onlyRules(
        { name: 'daily 1000', flows: ['WITHDRAW'], level: 'MEDIUM', params: { type: 'DAILY_AMOUNT', thresholdMinor: cny('1000.00'), currency: 'CNY' } },
        amountRule('REJECT', '900.00'),
      );
      const s = subject();
      assert.equal((await assess(s, '950.00')).level, 'REJECT');
      assert.equal((await assess(s, '500.00')).level, 'LOW', 'the rejected 950 is not in the day');
    });

    test('blacklists reject at once: user, ID number, card and account (across both kinds); removal lifts it', async () => {
      await onlyRules(amountRule('MEDIUM', '1.00'));
      const s = subject();
      const { entry } = await risk.addToBlacklist({ kind: 'USER', value: s, reason: 'fraud ring' }, ADMIN);
      const hit = await assess(s, '0.50');
      assert.equal(hit.level, 'REJECT');
      assert.deepEqual(hit.verification, []);
      assert.equal(hit.firedRules.length, 1, 'rules are not evaluated after a hit');
      assert.equal(hit.firedRules[0]!.type, 'BLACKLIST');
      assert.match(hit.firedRules[0]!.detail, /fraud ring/);
      const dup = await risk.addToBlacklist({ kind: 'USER', value: s, reason: 'again' }, ADMIN);
      assert.equal(dup.created, false);
      assert.equal(dup.entry.id, entry.id);
      await risk.removeFromBlacklist(entry.id, ADMIN);
      await risk.removeFromBlacklist(entry.id, ADMIN);
      assert.equal((await assess(s, '0.50')).level, 'LOW');

      await risk.addToBlacklist({ kind: 'ID_NUMBER', value: '11010119900307123x', reason: 'stolen identity' }, ADMIN);
      assert.equal((await assess(subject(), '0.50', { idNumber: '11010119900307123X' })).level, 'REJECT');
      await risk.addToBlacklist({ kind: 'CARD', value: '6222-0200-0000-9999', reason: 'reported stolen' }, ADMIN);
      assert.equal((await assess(subject(), '0.50', { card: '6222020000009999' })).level, 'REJECT');
      assert.equal((await assess(subject(), '0.50', { flow: 'PAYOUT', subjectKind: 'MERCHANT', beneficiaryAccount: '6222020000009999' })).level, 'REJECT', 'a blacklisted card is refused as an account too');
      await risk.addToBlacklist({ kind: 'BENEFICIARY_ACCOUNT', value: '9558801234', reason: 'mule account' }, ADMIN);
      assert.equal((await assess(subject(), '0.50', { flow: 'PAYOUT', subjectKind: 'MERCHANT', beneficiaryAccount: '9558801234' })).level, 'REJECT');
      const m = subject();
      await risk.addToBlacklist({ kind: 'MERCHANT', value: m, reason: 'suspended for fraud' }, ADMIN);
      assert.equal((await assess(m, '0.50', { flow: 'PAYOUT', subjectKind: 'MERCHANT' })).level, 'REJECT');
      assert.equal((await assess(m, '0.50', { subjectKind: 'USER' })).level, 'LOW', 'a MERCHANT entry is not a USER entry');
      await rejects(risk.addToBlacklist({ kind: 'CARD', value: '12', reason: 'x' }, ADMIN), 'VALIDATION_FAILED');
      await rejects(risk.removeFromBlacklist('rbl_nope', ADMIN), 'RISK_BLACKLIST_ENTRY_NOT_FOUND');
    });

    test('every decision is recorded with the fired rules and masked inputs', async () => {
      await onlyRules(amountRule('MEDIUM', '10.00'));
      const s = subject();
      const a = await assess(s, '10.00', { card: '6222020000001234', idNumber: '110101199003071234', reference: 'wdr_ref_1' });
      const d = await risk.getDecision(a.decisionId);
      assert.equal(d.subjectId, s);
      assert.equal(d.amountMinor, 1000n);
      assert.equal(d.reference, 'wdr_ref_1');
      assert.equal(d.level, 'MEDIUM');
      assert.deepEqual(d.firedRules, a.firedRules);
      assert.deepEqual(d.inputs, { idNumber: '1101**********1234', card: '6222********1234', beneficiaryAccount: null });
      const page = await risk.listDecisions({ subjectId: s });
      assert.deepEqual(page.data.map((x) => x.id), [a.decisionId]);
    });

    test('assessments asked for at once share one transaction, and each is judged and recorded on its own', async () => {
      await onlyRules(amountRule('MEDIUM', '100.00'), amountRule('HIGH', '200.00'));
      const listed = subject();
      await risk.addToBlacklist({ kind: 'USER', value: listed, reason: 'fraud' }, ADMIN);
      const subjects = Array.from({ length: 6 }, () => subject());
      const asked = subjects.flatMap((s, i) => ['1.00', '100.00', '250.00'].map((amount) => ({ s, amount, reference: `wdr_group_${i}_${amount}` })));
      const results = await Promise.all([
        ...asked.map(({ s, amount, reference }) => assess(s, amount, { reference })),
        assess(listed, '1.00', { reference: 'wdr_group_listed' }),
      ]);
      assert.deepEqual(results.slice(0, -1).map((r) => r.level), subjects.flatMap(() => ['LOW', 'MEDIUM', 'HIGH']));
      assert.equal(results.at(-1)!.level, 'REJECT', 'the blacklisted one alone is rejected');
      for (const [i, result] of results.slice(0, -1).entries()) {
        const d = await risk.getDecision(result.decisionId);
        assert.equal(d.subjectId, asked[i]!.s);
        assert.equal(d.reference, asked[i]!.reference);
        assert.equal(d.level, result.level);
      }
      const ids = results.map((r) => r.decisionId);
      const { rows } = await sql<{ n: number }>`select count(distinct xmin::text)::int as n from risk_decisions where id = any(${ids}::text[])`.execute(store.db);
      assert.equal(rows[0]!.n, 1, 'one transaction wrote them all');
    });

    test('concurrent requests of one subject cannot slip under a daily limit together', async () => {
      await onlyRules(
        { name: 'daily 5000', flows: ['WITHDRAW'], level: 'MEDIUM', params: { type: 'DAILY_AMOUNT', thresholdMinor: cny('5000.00'), currency: 'CNY' } },
        { name: '3 a day', flows: ['PAYOUT'], level: 'REJECT', params: { type: 'DAILY_COUNT', count: 3 } },
      );
      const s = subject();
      const results = await Promise.all(Array.from({ length: 10 }, () => assess(s, '1000.00')));
      assert.equal(results.filter((r) => r.level === 'LOW').length, 4, 'cumulative 1000..4000 pass; from 5000 on the rule fires');
      assert.equal(results.filter((r) => r.level === 'MEDIUM').length, 6);

      const m = subject();
      const payouts = await Promise.all(Array.from({ length: 10 }, () => assess(m, '1.00', { flow: 'PAYOUT', subjectKind: 'MERCHANT' })));
      assert.equal(payouts.filter((r) => r.level !== 'REJECT').length, 2, 'only two get through a limit of 3 a day (the 3rd is refused)');
    });

    test('two processes (separate connection pools) and caller transactions still serialise one subject', { skip: kind === 'pglite' ? 'one embedded store has one connection' : false }, async () => {
      await onlyRules({ name: 'daily 3000', flows: ['WITHDRAW'], level: 'REJECT', params: { type: 'DAILY_AMOUNT', thresholdMinor: cny('3000.00'), currency: 'CNY' } });
      const other = await openStore({ databaseUrl: store.url, poolSize: 10 });
      try {
        const second = new RiskService({ db: other.db, clock });
        const s = subject();
        const services = [risk, second];
        const dbs = [store.db, other.db];
        const results = await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            dbs[i % 2]!.transaction().execute(async (trx) => {
              const a = await services[i % 2]!.assess({ flow: 'WITHDRAW', subjectKind: 'USER', subjectId: s, amountMinor: cny('1000.00'), currency: 'CNY', reference: `wdr_p${i}` }, trx);
              await new Promise((resolve) => setTimeout(resolve, 5)); // the caller's own work, lock still held
              return a;
            }),
          ),
        );
        assert.equal(results.filter((r) => r.level !== 'REJECT').length, 2, '1000 + 1000 pass; the third would reach 3000');
      } finally {
        await other.close();
      }
    });

    test('only rules over earlier decisions serialise a subject: amount rules alone take no lock', async () => {
      await onlyRules(amountRule('MEDIUM', '100.00'), { name: 'new', flows: ['WITHDRAW'], level: 'MEDIUM', params: { type: 'NEW_BENEFICIARY' } });
      const s = subject();
      await Promise.all([assess(s, '1.00'), assess(s, '200.00')]);
      const locked = async () => (await sql<{ n: number }>`select count(*)::int as n from risk_subjects where subject_id = ${s}`.execute(store.db)).rows[0]!.n;
      assert.equal(await locked(), 0, 'no subject row was taken');
      await onlyRules({ name: 'velocity', flows: ['WITHDRAW'], level: 'MEDIUM', params: { type: 'VELOCITY', count: 10, windowMinutes: 1 } });
      await assess(s, '1.00');
      assert.equal(await locked(), 1, 'a velocity rule takes the subject row');
    });

    test('inside the caller transaction: a rolled-back request leaves no decision and no figures', async () => {
      await onlyRules({ name: '2 a day', flows: ['WITHDRAW'], level: 'MEDIUM', params: { type: 'DAILY_COUNT', count: 2 } });
      const s = subject();
      await assert.rejects(
        store.db.transaction().execute(async (trx) => {
          await risk.assess({ flow: 'WITHDRAW', subjectKind: 'USER', subjectId: s, amountMinor: 100n, currency: 'CNY', reference: 'wdr_rb' }, trx);
          throw new Error('the withdrawal failed to save');
        }),
        /failed to save/,
      );
      assert.equal((await risk.listDecisions({ subjectId: s })).data.length, 0);
      assert.equal((await assess(s, '1.00')).level, 'LOW', 'the first counted request of the day');
    });

    test('manual review: HIGH waits; one final answer, published on the outbox in the same transaction', async () => {
      await onlyRules(amountRule('HIGH', '100.00'));
      const s = subject();
      const a = await assess(s, '100.00');
      assert.equal(a.level, 'HIGH');
      const queued = await risk.listReviews();
      assert.ok(queued.data.some((d) => d.id === a.decisionId && d.review?.status === 'PENDING'), 'in the review queue');

      const approved = await risk.review(a.decisionId, 'APPROVED', { reviewer: ADMIN, note: 'called the customer' });
      assert.equal(approved.review?.status, 'APPROVED');
      assert.equal(approved.review?.note, 'called the customer');
      const again = await risk.review(a.decisionId, 'APPROVED', { reviewer: ADMIN, note: 'retry' });
      assert.equal(again.review?.note, 'called the customer', 'a retry changes nothing');
      await rejects(risk.review(a.decisionId, 'REJECTED', { reviewer: ADMIN, note: 'changed my mind' }), 'RISK_REVIEW_ALREADY_DECIDED');

      const { rows } = await sql<{ topic: string; payload: string | Record<string, unknown> }>`
        select topic, payload from outbox_messages where key = ${a.decisionId}`.execute(store.db);
      assert.equal(rows.length, 1, 'one event, however often the answer is given');
      assert.equal(rows[0]!.topic, RISK_REVIEWED);
      const payload = typeof rows[0]!.payload === 'string' ? JSON.parse(rows[0]!.payload) : rows[0]!.payload;
      assert.equal(payload.outcome, 'APPROVED');
      assert.equal(payload.decisionId, a.decisionId);
      assert.equal(payload.subjectId, s);
      assert.equal(payload.reference, `wdr_${n}_100.00`);

      const low = await assess(subject(), '1.00');
      await rejects(risk.review(low.decisionId, 'APPROVED', { reviewer: ADMIN, note: 'x' }), 'RISK_NOT_UNDER_REVIEW');
      await rejects(risk.review('rsk_nope', 'APPROVED', { reviewer: ADMIN, note: 'x' }), 'RISK_DECISION_NOT_FOUND');
      await rejects(risk.review(a.decisionId, 'APPROVED', { reviewer: ADMIN, note: '  ' }), 'VALIDATION_FAILED');
    });

    test('a rejected review releases the decision; a released one cancels its review; racing answers: one wins', async () => {
      await onlyRules(amountRule('HIGH', '100.00'), { name: 'daily 300', flows: ['WITHDRAW'], level: 'MEDIUM', params: { type: 'DAILY_AMOUNT', thresholdMinor: cny('300.00'), currency: 'CNY' } });
      const s = subject();
      const a = await assess(s, '150.00');
      const rejected = await risk.review(a.decisionId, 'REJECTED', { reviewer: ADMIN, note: 'not the customer' });
      assert.equal(rejected.review?.status, 'REJECTED');
      assert.ok(rejected.releasedAt, 'released with the rejection');
      assert.equal((await assess(s, '150.00')).firedRules.some((r) => r.type === 'DAILY_AMOUNT'), false, 'the rejected 150 is out of the day');

      const b = await assess(subject(), '100.00');
      const cancelled = await risk.release(b.decisionId);
      assert.equal(cancelled.review?.status, 'CANCELLED');
      await rejects(risk.review(b.decisionId, 'APPROVED', { reviewer: ADMIN, note: 'too late' }), 'RISK_REVIEW_ALREADY_DECIDED');

      const c = await assess(subject(), '100.00');
      const answers = await Promise.allSettled([
        risk.review(c.decisionId, 'APPROVED', { reviewer: 'a', note: 'yes' }),
        risk.review(c.decisionId, 'REJECTED', { reviewer: 'b', note: 'no' }),
        risk.review(c.decisionId, 'APPROVED', { reviewer: 'c', note: 'yes' }),
        risk.review(c.decisionId, 'REJECTED', { reviewer: 'd', note: 'no' }),
      ]);
      const final = await risk.getDecision(c.decisionId);
      for (const answer of answers) {
        if (answer.status === 'fulfilled') assert.equal(answer.value.review?.status, final.review?.status);
        else assert.equal((answer.reason as DomainError).code, 'RISK_REVIEW_ALREADY_DECIDED');
      }
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from outbox_messages where key = ${c.decisionId}`.execute(store.db);
      assert.equal(rows[0]!.n, 1, 'exactly one risk.reviewed event');
    });

    test('rules are validated, versioned and deletable', async () => {
      await onlyRules();
      await rejects(risk.createRule({ name: 'x', flows: ['WITHDRAW'], level: 'MEDIUM', params: { type: 'VELOCITY', count: 0, windowMinutes: 10 } }, ADMIN), 'VALIDATION_FAILED');
      await rejects(risk.createRule({ name: '', flows: [], level: 'LOW' as never, params: { type: 'DAILY_COUNT', count: 2 } }, ADMIN), 'VALIDATION_FAILED');
      const rule = await risk.createRule({ name: 'v', flows: ['WITHDRAW', 'WITHDRAW'], level: 'MEDIUM', params: { type: 'VELOCITY', count: 2, windowMinutes: 5 } }, ADMIN);
      assert.deepEqual(rule.flows, ['WITHDRAW']);
      assert.equal(rule.version, 1);
      const edited = await risk.updateRule(rule.id, { name: 'v2', flows: ['PAYOUT'], level: 'HIGH', params: { type: 'DAILY_COUNT', count: 4 } }, 'someone', 1);
      assert.equal(edited.version, 2);
      assert.equal(edited.type, 'DAILY_COUNT');
      assert.equal(edited.updatedBy, 'someone');
      await rejects(risk.updateRule(rule.id, { name: 'v3', flows: ['PAYOUT'], level: 'HIGH', params: { type: 'DAILY_COUNT', count: 4 } }, ADMIN, 1), 'RISK_RULE_VERSION_CONFLICT');
      await risk.deleteRule(rule.id, 'remover');
      await rejects(risk.deleteRule(rule.id, 'remover'), 'RISK_RULE_NOT_FOUND');
      const history = await risk.ruleHistory(rule.id);
      assert.deepEqual(history.map((c) => [c.action, c.version, c.actor]), [['CREATED', 1, ADMIN], ['UPDATED', 2, 'someone'], ['DELETED', 2, 'remover']]);
      assert.equal(history[1]!.rule.type, 'DAILY_COUNT');
      await rejects(risk.ruleHistory('rrl_never'), 'RISK_RULE_NOT_FOUND');
      await rejects(risk.updateRule(rule.id, { name: 'v3', flows: ['PAYOUT'], level: 'HIGH', params: { type: 'DAILY_COUNT', count: 4 } }, ADMIN), 'RISK_RULE_NOT_FOUND');
    });
  });
}
