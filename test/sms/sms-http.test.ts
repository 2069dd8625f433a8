/**
 * The SMS module through real HTTP against a real Coffer server (startCoffer,
 * PORT=0) on both stores: codes sent and checked over the internal endpoints,
 * the development sink readable in sandbox mode (admin and /sandbox/sms), and
 * in non-sandbox mode no text kept and /sandbox/sms absent (404).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningCoffer } from '../../src/main.ts';
import { assertProblem, Client, createBooks, newMobile, startServer, type TestBooks } from '../users/support.ts';
import { testStoreKinds } from '../support/stores.ts';

const ADMIN_TOKEN = 'users-admin-token-7d41e0'; // the users suites' startServer sets this one
const storeKinds = await testStoreKinds();

interface SinkPage {
  data: { id: string; challengeId: string | null; purpose: string | null; mobile: string; text: string; createdAt: string }[];
  hasMore: boolean;
}

const codeIn = (text: string) => /\b(\d{6})\b/.exec(text)![1]!;
const wrong = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

for (const { kind, skip } of storeKinds) {
  describe(`SMS over HTTP, sandbox mode (${kind})`, { skip }, () => {
    let books: TestBooks;
    let coffer: RunningCoffer;
    let api: Client;
    let n = 0;
    const admin = <T = any>(method: string, path: string, body?: unknown) =>
      api.request<T>(method, path, { token: ADMIN_TOKEN, ...(body !== undefined ? { body } : {}) });

    before(async () => {
      books = await createBooks(kind);
      coffer = await startServer(books, {}, { SANDBOX: 'true', SMS_CODE_KEY: 'test-sms-code-key-0123456789' });
      api = new Client(coffer.url);
    });
    after(async () => {
      await coffer?.close();
      await books?.dispose();
    });

    async function send(mobile: string, purpose = 'WITHDRAW') {
      n += 1;
      const subjectId = `usr_http${n}`;
      const sent = await admin<{ challengeId: string; expiresAt: string }>('POST', '/l/sms/codes', { purpose, subjectId, mobile });
      assert.equal(sent.status, 201, JSON.stringify(sent.body));
      return { subjectId, purpose, ...sent.body };
    }

    test('the sink shows the message with its code, to the admin and on /sandbox/sms, filtered by mobile', async () => {
      const mobile = newMobile();
      const other = newMobile();
      const sent = await send(mobile);
      await send(other);
      assert.match(sent.challengeId, /^smc_/);
      assert.ok(Date.parse(sent.expiresAt) > Date.now(), 'expires in the future');

      for (const path of [`/admin/sms/messages?mobile=${mobile}`, `/sandbox/sms?mobile=${mobile}`]) {
        const page = await admin<SinkPage>('GET', path);
        assert.equal(page.status, 200, path);
        assert.equal(page.body.data.length, 1, path);
        const [message] = page.body.data;
        assert.equal(message!.mobile, mobile);
        assert.equal(message!.challengeId, sent.challengeId);
        assert.equal(message!.purpose, 'WITHDRAW');
        assert.match(message!.text, /\b\d{6}\b.*verification code for WITHDRAW/);
      }
      const all = await admin<SinkPage>('GET', '/admin/sms/messages?limit=1');
      assert.equal(all.body.data.length, 1);
      assert.equal(all.body.hasMore, true, 'cursor paging');
      const next = await admin<SinkPage>('GET', `/admin/sms/messages?limit=1&startingAfter=${all.body.data[0]!.id}`);
      assert.notEqual(next.body.data[0]!.id, all.body.data[0]!.id);
    });

    test('sink and internal endpoints need the admin token', async () => {
      assertProblem(await api.request('GET', '/admin/sms/messages') as any, 401, 'UNAUTHORIZED');
      assertProblem(await api.request('GET', '/sandbox/sms') as any, 401, 'UNAUTHORIZED');
      assertProblem(await api.request('GET', '/sandbox/sms', { token: 'wrong-token' }) as any, 401, 'UNAUTHORIZED');
      assertProblem(await api.request('POST', '/l/sms/codes', { body: { purpose: 'WITHDRAW', subjectId: 'usr_x', mobile: newMobile() } }) as any, 401, 'UNAUTHORIZED');
    });

    test('verify over HTTP: wrong code counts, right code once, wrong purpose not found', async () => {
      const mobile = newMobile();
      const sent = await send(mobile);
      const code = codeIn((await admin<SinkPage>('GET', `/sandbox/sms?mobile=${mobile}`)).body.data[0]!.text);
      const verify = (c: string, purpose = sent.purpose, subjectId = sent.subjectId) =>
        admin('POST', `/l/sms/codes/${sent.challengeId}/verify`, { code: c, purpose, subjectId });
      const bad = assertProblem(await verify(wrong(code)) as any, 422, 'SMS_CODE_INVALID');
      assert.equal(bad.attemptsLeft, 4);
      assertProblem(await verify(code, 'PAYOUT') as any, 404, 'SMS_CHALLENGE_NOT_FOUND');
      assertProblem(await verify(code, sent.purpose, 'usr_other') as any, 404, 'SMS_CHALLENGE_NOT_FOUND');
      const ok = await verify(code);
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(ok.body.verified, true);
      assertProblem(await verify(code) as any, 409, 'SMS_CODE_ALREADY_USED');
    });

    test('a second code within the cool-down: 429 with Retry-After', async () => {
      const mobile = newMobile();
      const sent = await send(mobile);
      const again = await admin('POST', '/l/sms/codes', { purpose: sent.purpose, subjectId: sent.subjectId, mobile });
      assertProblem(again as any, 429, 'SMS_RESEND_TOO_SOON');
      const retryAfter = Number(again.headers.get('retry-after'));
      assert.ok(retryAfter >= 59 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    });
  });
}

for (const { kind, skip } of storeKinds) describe(`SMS over HTTP, non-sandbox mode (${kind})`, { skip }, () => {
  let books: TestBooks;
  let coffer: RunningCoffer;
  let api: Client;

  before(async () => {
    books = await createBooks(kind);
    coffer = await startServer(books, {}, { SANDBOX: 'false' });
    api = new Client(coffer.url);
  });
  after(async () => {
    await coffer?.close();
    await books?.dispose();
  });

  test('codes still work, but no text is kept: /sandbox/sms is 404 and the admin sink is empty', async () => {
    const mobile = newMobile();
    const sent = await api.request('POST', '/l/sms/codes', { token: ADMIN_TOKEN, body: { purpose: 'WITHDRAW', subjectId: 'usr_live1', mobile } });
    assert.equal(sent.status, 201);
    assertProblem(await api.request('GET', `/sandbox/sms?mobile=${mobile}`, { token: ADMIN_TOKEN }) as any, 404, 'NOT_FOUND');
    assertProblem(await api.request('GET', '/sandbox/sms') as any, 404, 'NOT_FOUND');
    const page = await api.request<SinkPage>('GET', '/admin/sms/messages', { token: ADMIN_TOKEN });
    assert.equal(page.status, 200);
    assert.deepEqual(page.body.data, []);
    const wrongTry = await api.request('POST', `/l/sms/codes/${sent.body.challengeId}/verify`, {
      token: ADMIN_TOKEN,
      body: { code: '000000', purpose: 'WITHDRAW', subjectId: 'usr_live1' },
    });
    assert.ok([200, 422].includes(wrongTry.status), 'the challenge exists and is checked');
  });
});
