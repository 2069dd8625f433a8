/**
 * One-time SMS codes over a real store (embedded and PostgreSQL server): the
 * right code verifies once, wrong codes count, expiry, the attempt limit, the
 * resend cool-down, purpose and subject binding, and concurrent verification.
 * The business clock is the test's, so nothing sleeps.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { sql } from 'kysely';
import { SandboxSmsSink, SmsService, type SentCode } from '../../src/modules/sms/index.ts';
import { DomainError, type ErrorCode } from '../../src/platform/errors.ts';
import { TestClock } from '../support/clock.ts';
import { openTestStore, testStoreKinds } from '../support/stores.ts';

const storeKinds = await testStoreKinds();
const KEY = Buffer.alloc(32, 42);

async function rejects(promise: Promise<unknown>, code: ErrorCode, extra?: Record<string, unknown>): Promise<DomainError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof DomainError, `expected DomainError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (extra) for (const [k, v] of Object.entries(extra)) assert.deepEqual(err.extra?.[k], v, `${k} in ${JSON.stringify(err.extra)}`);
    return err;
  }
  assert.fail(`expected ${code}, but it succeeded`);
}

for (const { kind, skip } of storeKinds) {
  describe(`SMS one-time codes (${kind})`, { skip }, () => {
    let store: Awaited<ReturnType<typeof openTestStore>>;
    let sms: SmsService;
    const clock = new TestClock();
    let n = 0;
    let subject = '';
    const mobile = '13800138000';

    before(async () => {
      store = await openTestStore(kind, 20);
      sms = new SmsService({ db: store.db, clock, sender: new SandboxSmsSink(clock), codeKey: KEY });
    });
    after(async () => {
      await store?.dispose();
    });
    beforeEach(() => {
      n += 1;
      subject = `usr_test${n}`;
      clock.advance(3600_000);
    });

    /** The code the sink kept for this challenge. */
    async function codeOf(sent: SentCode): Promise<string> {
      const { rows } = await sql<{ text: string }>`select text from sms_sink_messages where challenge_id = ${sent.challengeId}`.execute(store.db);
      assert.equal(rows.length, 1, 'the sink kept the message');
      return /\b(\d{6})\b/.exec(rows[0]!.text)![1]!;
    }
    const wrong = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    const ctx = () => ({ purpose: 'WITHDRAW', subjectId: subject });

    test('the right code verifies, once', async () => {
      const sent = await sms.sendCode({ purpose: 'WITHDRAW', subjectId: subject, mobile });
      assert.match(sent.challengeId, /^smc_/);
      assert.equal(sent.expiresAt.getTime(), clock.now().getTime() + 5 * 60_000, 'default lifetime 5 minutes');
      const code = await codeOf(sent);
      const ok = await sms.verifyCode(sent.challengeId, code, ctx());
      assert.equal(ok.challengeId, sent.challengeId);
      await rejects(sms.verifyCode(sent.challengeId, code, ctx()), 'SMS_CODE_ALREADY_USED');
      const { rows } = await sql<{ code_hash: string }>`select code_hash from sms_challenges where id = ${sent.challengeId}`.execute(store.db);
      assert.equal(rows[0]!.code_hash.includes(code), false, 'only a hash is stored');
      assert.match(rows[0]!.code_hash, /^[0-9a-f]{64}$/);
    });

    test('wrong codes count attempts; the last one exhausts the code, even for the right code after it', async () => {
      const sent = await sms.sendCode({ purpose: 'WITHDRAW', subjectId: subject, mobile });
      const code = await codeOf(sent);
      for (const left of [4, 3, 2, 1]) await rejects(sms.verifyCode(sent.challengeId, wrong(code), ctx()), 'SMS_CODE_INVALID', { attemptsLeft: left });
      await rejects(sms.verifyCode(sent.challengeId, 'abc', ctx()), 'SMS_CODE_ATTEMPTS_EXCEEDED', { attemptsLeft: 0 });
      await rejects(sms.verifyCode(sent.challengeId, code, ctx()), 'SMS_CODE_ATTEMPTS_EXCEEDED');
      await rejects(sms.verifyCode(sent.challengeId, wrong(code), ctx()), 'SMS_CODE_ATTEMPTS_EXCEEDED');
      const { rows } = await sql<{ attempts: number; status: string }>`select attempts, status from sms_challenges where id = ${sent.challengeId}`.execute(store.db);
      assert.deepEqual({ ...rows[0] }, { attempts: 5, status: 'EXHAUSTED' });
    });

    test('a wrong code then the right one verifies (attempts left is enough)', async () => {
      const sent = await sms.sendCode({ purpose: 'WITHDRAW', subjectId: subject, mobile });
      const code = await codeOf(sent);
      await rejects(sms.verifyCode(sent.challengeId, wrong(code), ctx()), 'SMS_CODE_INVALID', { attemptsLeft: 4 });
      await sms.verifyCode(sent.challengeId, code, ctx());
    });

    test('a code expires at its time and not before', async () => {
      const sent = await sms.sendCode({ purpose: 'WITHDRAW', subjectId: subject, mobile });
      const code = await codeOf(sent);
      clock.advance(5 * 60_000 - 1);
      await rejects(sms.verifyCode(sent.challengeId, wrong(code), ctx()), 'SMS_CODE_INVALID');
      clock.advance(1);
      await rejects(sms.verifyCode(sent.challengeId, code, ctx()), 'SMS_CODE_EXPIRED');
      await rejects(sms.verifyCode(sent.challengeId, wrong(code), ctx()), 'SMS_CODE_EXPIRED');
    });

    test('wrong purpose or subject never verifies and counts nothing; unknown ids are not found', async () => {
      const sent = await sms.sendCode({ purpose: 'WITHDRAW', subjectId: subject, mobile });
      const code = await codeOf(sent);
      await rejects(sms.verifyCode(sent.challengeId, code, { purpose: 'PAYOUT', subjectId: subject }), 'SMS_CHALLENGE_NOT_FOUND');
      await rejects(sms.verifyCode(sent.challengeId, code, { purpose: 'WITHDRAW', subjectId: 'usr_someone_else' }), 'SMS_CHALLENGE_NOT_FOUND');
      await rejects(sms.verifyCode('smc_nope', code, ctx()), 'SMS_CHALLENGE_NOT_FOUND');
      await rejects(sms.verifyCode('not-an-id', code, ctx()), 'SMS_CHALLENGE_NOT_FOUND');
      const { rows } = await sql<{ attempts: number }>`select attempts from sms_challenges where id = ${sent.challengeId}`.execute(store.db);
      assert.equal(rows[0]!.attempts, 0);
      await sms.verifyCode(sent.challengeId, code, ctx());
    });

    test('resend cool-down per purpose and subject; a new code replaces the old one', async () => {
      const first = await sms.sendCode({ purpose: 'WITHDRAW', subjectId: subject, mobile });
      clock.advance(59_000);
      await rejects(sms.sendCode({ purpose: 'WITHDRAW', subjectId: subject, mobile }), 'SMS_RESEND_TOO_SOON', { retryAfterS: 1 });
      // Another purpose or subject is not held back.
      await sms.sendCode({ purpose: 'PAYOUT', subjectId: subject, mobile });
      await sms.sendCode({ purpose: 'WITHDRAW', subjectId: `${subject}x`, mobile });
      clock.advance(1000);
      const second = await sms.sendCode({ purpose: 'WITHDRAW', subjectId: subject, mobile });
      await rejects(sms.verifyCode(first.challengeId, await codeOf(first), ctx()), 'SMS_CODE_EXPIRED');
      await sms.verifyCode(second.challengeId, await codeOf(second), ctx());
    });

    test('concurrent sends: one passes the cool-down', async () => {
      const results = await Promise.allSettled(Array.from({ length: 8 }, () => sms.sendCode({ purpose: 'WITHDRAW', subjectId: subject, mobile })));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as DomainError).code, 'SMS_RESEND_TOO_SOON');
    });

    test('concurrent verifications of one challenge: the right code succeeds once', async () => {
      const sent = await sms.sendCode({ purpose: 'WITHDRAW', subjectId: subject, mobile });
      const code = await codeOf(sent);
      const results = await Promise.allSettled(Array.from({ length: 10 }, () => sms.verifyCode(sent.challengeId, code, ctx())));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'exactly one verification succeeds');
      for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as DomainError).code, 'SMS_CODE_ALREADY_USED');
    });

    test('concurrent wrong codes never count past the limit, and the right code then fails', async () => {
      const sent = await sms.sendCode({ purpose: 'WITHDRAW', subjectId: subject, mobile });
      const code = await codeOf(sent);
      const results = await Promise.allSettled([
        ...Array.from({ length: 12 }, () => sms.verifyCode(sent.challengeId, wrong(code), ctx())),
        sms.verifyCode(sent.challengeId, code, ctx()),
      ]);
      const codes = results.map((r) => (r.status === 'fulfilled' ? 'OK' : (r.reason as DomainError).code));
      const count = (c: string) => codes.filter((x) => x === c).length;
      const { rows } = await sql<{ attempts: number; status: string }>`select attempts, status from sms_challenges where id = ${sent.challengeId}`.execute(store.db);
      const { attempts, status } = rows[0]!;
      assert.ok(attempts <= 5, `attempts ${attempts} never exceed 5`);
      if (count('OK') === 1) {
        // The right code came in before the attempts ran out: every counted wrong code said INVALID, later ones ALREADY_USED.
        assert.equal(status, 'VERIFIED');
        assert.equal(attempts, count('SMS_CODE_INVALID') + 1, codes.join(','));
        assert.equal(count('SMS_CODE_INVALID') + count('SMS_CODE_ALREADY_USED') + 1, 13, codes.join(','));
      } else {
        assert.equal(count('OK'), 0);
        assert.equal(status, 'EXHAUSTED');
        assert.equal(attempts, 5);
        assert.equal(count('SMS_CODE_INVALID'), 4, codes.join(','));
        assert.equal(count('SMS_CODE_ATTEMPTS_EXCEEDED'), 9, codes.join(','));
      }
    });

    test('old challenges, sink messages and cool-down slots are purged after a week; live ones stay', async () => {
      const old = await sms.sendCode({ purpose: 'WITHDRAW', subjectId: subject, mobile });
      clock.advance(8 * 24 * 3600_000);
      const live = await sms.sendCode({ purpose: 'WITHDRAW', subjectId: subject, mobile });
      assert.ok((await sms.purgeOld()) >= 2, 'the old challenge and its sink message');
      const { rows } = await sql<{ id: string }>`select id from sms_challenges where id in (${old.challengeId}, ${live.challengeId})`.execute(store.db);
      assert.deepEqual(rows.map((r) => r.id), [live.challengeId]);
      await sms.verifyCode(live.challengeId, await codeOf(live), ctx());
    });

    test('bad input is refused before anything is sent', async () => {
      await rejects(sms.sendCode({ purpose: 'withdraw', subjectId: subject, mobile }), 'VALIDATION_FAILED');
      await rejects(sms.sendCode({ purpose: 'WITHDRAW', subjectId: '', mobile }), 'VALIDATION_FAILED');
      await rejects(sms.sendCode({ purpose: 'WITHDRAW', subjectId: subject, mobile: 'call me' }), 'VALIDATION_FAILED');
    });

    test('inside a caller transaction that rolls back, no code and no cool-down remain', async () => {
      await assert.rejects(
        store.db.transaction().execute(async (trx) => {
          await sms.sendCode({ purpose: 'WITHDRAW', subjectId: subject, mobile }, trx);
          throw new Error('the caller fails');
        }),
        /the caller fails/,
      );
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from sms_challenges where subject_id = ${subject}`.execute(store.db);
      assert.equal(rows[0]!.n, 0);
      await sms.sendCode({ purpose: 'WITHDRAW', subjectId: subject, mobile });
    });
  });
}
