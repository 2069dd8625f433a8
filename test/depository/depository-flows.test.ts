/**
 * Account opening, recharge and withdraw end to end over real HTTP (SPEC 3, 4):
 * the test is the browser and the bank. It signs real notifications with a test
 * bank key, sends them to GET /gateway, plays the bank's QUERY_TRANSACTION
 * endpoint, and checks what the user sees and that the books balance.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import type { RunningCoffer } from '../../src/main.ts';
import { type GatewayRequest, loadPublicKey, signText, verifyText } from '../../src/protocol/depository.ts';
import { testStoreKinds } from '../support/stores.ts';
import {
  Api,
  assertProblem,
  BANK_PUBLIC_URL,
  bankResult,
  eventually,
  type FakeBankService,
  openUserAccount,
  rechargeThroughBank,
  PLATFORM_NO,
  PUBLIC_URL,
  requestDataOf,
  sleep,
  startServer as startCofferServer,
  type TestBooks,
  type TestKeys,
  type TestUser,
  startDepositoryServer,
  stopDepositoryServer,
} from './support.ts';

const storeKinds = await testStoreKinds();
const CALLBACK = 'https://wallet.test.example/return';

for (const { kind, skip } of storeKinds) {
  describe(`depository gateway: open, recharge, withdraw (${kind} store)`, { skip }, () => {
    let books: TestBooks;
    let keys: TestKeys;
    let bankService: FakeBankService;
    let coffer: RunningCoffer;
    let api: Api;

    // Requests expire, and orphaned holds are swept, after a second here, so both happen within a test.
    const env = { DEPOSITORY_REQUEST_TTL_S: '1', DEPOSITORY_EXPIRY_GRACE_S: '0', DEPOSITORY_ORPHAN_HOLD_AFTER_S: '1' };

    before(async () => {
      ({ books, keys, bankService, coffer, api } = await startDepositoryServer(kind, env));
    });

    after(() => stopDepositoryServer({ books, keys, bankService, coffer }));

    /** Another Coffer process on the same store and bank. */
    function startServer() {
      return startCofferServer(books, keys, bankService.url, env);
    }

    const openedUser = (card?: string) => openUserAccount(api, CALLBACK, card);
    const recharge = (user: TestUser, amount: string) => rechargeThroughBank(api, user, amount, CALLBACK);

    test('recharging or withdrawing before opening a depository account says to open one first', async () => {
      const user = await api.newUser();
      const recharge = await api.my(user, 'POST', '/my/recharge-records', { amount: '100.00', callbackUrl: CALLBACK });
      const problem = assertProblem(recharge, 409, 'ACCOUNT_NOT_OPENED');
      assert.match(problem.detail, /open one first/i);
      assertProblem(await api.my(user, 'POST', '/my/withdraw-records', { amount: '1.00', callbackUrl: CALLBACK }), 409, 'ACCOUNT_NOT_OPENED');
      assert.deepEqual(await api.wallets(user), []);
      assert.deepEqual(await api.records(user, 'recharge'), { data: [], hasMore: false });
      assertProblem(await api.request('GET', '/my/wallets'), 401, 'UNAUTHORIZED');
    });

    test('opening a depository account: a signed PERSONAL_REGISTER, then the bank’s notification opens the wallet and binds the card', async () => {
      const user = await api.newUser();
      const gateway = await api.gateway(user, '/my/depository-accounts', { callbackUrl: CALLBACK });
      assert.equal(gateway.serviceName, 'PERSONAL_REGISTER');
      assert.equal(gateway.platformNo, PLATFORM_NO);
      assert.equal(gateway.depositoryUrl, `${BANK_PUBLIC_URL}/gateway`);
      const data = requestDataOf(gateway);
      assert.match(data.requestNo, /^REQ\d{17}[0-9A-F]{12}$/);
      assert.equal(data.userNo, user.userId);
      assert.equal(data.notifyUrl, `${PUBLIC_URL}/gateway`);
      assert.equal(data.callbackUrl, CALLBACK);
      assert.equal(data.mobile, user.mobile);
      assert.ok(!Number.isNaN(Date.parse(data.timestamp)), 'timestamp is a time');

      // Signed with the platform key Coffer generated on first start (private key 0600).
      const platformPublic = loadPublicKey(path.join(keys.platformKeysDir, 'platform-public.pem'));
      assert.ok(verifyText(gateway.reqData, gateway.signature, platformPublic), 'the platform signature verifies');
      assert.ok(!verifyText(gateway.reqData, gateway.signature, keys.bank.publicKey), 'and only with the platform key');
      assert.equal(fs.statSync(path.join(keys.platformKeysDir, 'platform-private.pem')).mode & 0o777, 0o600);

      assert.deepEqual(await api.wallets(user), [], 'no wallet before the bank confirms');
      const ok = await api.notifyResult(gateway, { status: 'SUCCESS', cardNumberMasked: '6222 0212 3456 7890 123', bankCode: 'ICBC' });
      assert.equal(ok.status, 200);
      assert.equal(ok.text, 'OK');
      const wallet = await eventually(async () => {
        const found = await api.wallet(user);
        assert.ok(found, 'the wallet exists');
        return found;
      });
      assert.deepEqual({ ...wallet, accountNo: undefined }, { accountNo: undefined, currency: 'CNY', balance: '0.00', available: '0.00', pending: '0.00', status: 'ACTIVE' });
      const cards = await eventually(async () => {
        const reply = await api.my(user, 'GET', '/my/cards');
        assert.equal(reply.body.length, 1);
        return reply.body;
      });
      assert.equal(cards[0].cardNumberMasked, '6222 **** **** ***0 123', 'only the first and last four digits show');
      assert.equal(cards[0].bankCode, 'ICBC');

      // A redelivered or repeated notification changes nothing, and opening again is refused.
      assert.equal((await api.notifyResult(gateway, { status: 'SUCCESS', cardNumberMasked: '6222021234567890123', bankCode: 'ICBC' })).text, 'OK');
      await sleep(100);
      assert.equal((await api.wallets(user)).length, 1);
      assertProblem(await api.my(user, 'POST', '/my/depository-accounts', { callbackUrl: CALLBACK }), 409, 'ACCOUNT_ALREADY_OPENED');
      await api.invariantsHold();
    });

    test('a recharge notification sent 1 to 5 times, out of order and at once, credits each recharge exactly once', async () => {
      const user = await openedUser();
      const amounts = ['10.00', '20.00', '30.00', '40.00', '50.00'];
      const gateways = [];
      for (const amount of amounts) gateways.push(await api.gateway(user, '/my/recharge-records', { amount, callbackUrl: CALLBACK }));
      for (const g of gateways) {
        const data = requestDataOf(g);
        assert.equal(g.serviceName, 'RECHARGE');
        assert.equal(data.currency, 'CNY');
      }
      // Recharge i is notified i+1 times; all notifications interleaved in a fixed shuffled order, sent concurrently.
      const sends = gateways.flatMap((g, i) => Array.from({ length: i + 1 }, () => g));
      const order = sends.map((_, i) => (i * 7) % sends.length);
      assert.equal(new Set(order).size, sends.length);
      const replies = await Promise.all(order.map((i) => api.notifyResult(sends[i]!, { status: 'SUCCESS' })));
      for (const reply of replies) assert.equal(reply.text, 'OK', `${reply.status} ${reply.text}`);

      await eventually(async () => assert.equal((await api.wallet(user))!.balance, '150.00'));
      // A late FAIL for a settled recharge is the bank contradicting itself: answered OK, first word stands.
      assert.equal((await api.notifyResult(gateways[0]!, { status: 'FAIL' })).text, 'OK');
      await sleep(300);
      assert.equal((await api.wallet(user))!.balance, '150.00', 'still credited once each');
      await eventually(async () => {
        const records = await api.records(user, 'recharge', '?limit=100');
        assert.deepEqual(records.data.map((r) => r.status), ['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
      });
      const bill = (await api.my(user, 'GET', '/my/entries?limit=100')).body;
      assert.equal(bill.data.length, 5);
      assert.ok(bill.data.every((e: { code: string; direction: string }) => e.code === 'recharge' && e.direction === 'CREDIT'), 'five recharge credits');
      assert.deepEqual(bill.data.map((e: { amount: string }) => e.amount).sort(), amounts);

      // A failed recharge moves nothing, and a late SUCCESS for it changes nothing.
      const failed = await api.gateway(user, '/my/recharge-records', { amount: '60.00', callbackUrl: CALLBACK });
      assert.equal((await api.notifyResult(failed, { status: 'FAIL' })).text, 'OK');
      await eventually(async () => assert.equal((await api.recordOf(user, 'recharge', requestDataOf(failed).requestNo)).status, 'FAILED'));
      assert.equal((await api.recordOf(user, 'recharge', requestDataOf(failed).requestNo)).errorCode, 'CARD_DECLINED');
      assert.equal((await api.notifyResult(failed, { status: 'SUCCESS' })).text, 'OK');
      await sleep(300);
      assert.equal((await api.wallet(user))!.balance, '150.00');
      await api.invariantsHold();
    });

    test('forged, tampered, missing and wrong-key signatures, unknown requests and mismatched amounts are refused and change nothing', async () => {
      const user = await openedUser();
      const gateway = await api.gateway(user, '/my/recharge-records', { amount: '50.00', callbackUrl: CALLBACK });
      const requestNo = requestDataOf(gateway).requestNo;
      const good = JSON.stringify(bankResult(gateway, { status: 'SUCCESS' }));
      const signed = (text: string) => signText(text, keys.bank.privateKey);
      const base = { serviceName: 'RECHARGE', platformNo: PLATFORM_NO };

      const tampered = good.replace('"50.00"', '"5000.00"');
      assert.notEqual(tampered, good);
      assertProblem(await api.notify({ ...base, reqData: tampered, signature: signed(good) }), 401, 'INVALID_SIGNATURE');
      assertProblem(await api.notify({ ...base, reqData: good }), 401, 'INVALID_SIGNATURE');
      assertProblem(await api.notify({ ...base, reqData: good, signature: '' }), 401, 'INVALID_SIGNATURE');
      assertProblem(await api.notify({ ...base, reqData: good, signature: 'Zm9yZ2Vk' }), 401, 'INVALID_SIGNATURE');
      assertProblem(await api.notify({ ...base, reqData: good, signature: 'not base64 at all!' }), 401, 'INVALID_SIGNATURE');
      assertProblem(await api.notify({ ...base, reqData: good, signature: signText(good, keys.impostor.privateKey) }), 401, 'INVALID_SIGNATURE');
      // The platform's own signature is not the bank's word either.
      assertProblem(await api.notify({ ...base, reqData: gateway.reqData, signature: gateway.signature }), 401, 'INVALID_SIGNATURE');
      assertProblem(await api.notify({ ...base, platformNo: 'someone-else', reqData: good, signature: signed(good) }), 400, 'UNKNOWN_PLATFORM');
      assertProblem(await api.notify({ ...base, serviceName: 'TRANSFER', reqData: good, signature: signed(good) }), 400, 'UNKNOWN_SERVICE');
      assertProblem(await api.notify({ ...base, serviceName: undefined, reqData: good, signature: signed(good) }), 400, 'UNKNOWN_SERVICE');
      assertProblem(await api.notify({ ...base, reqData: undefined, signature: signed('') }), 400, 'MALFORMED_NOTIFICATION');
      assertProblem(await api.notify({ ...base, reqData: 'not json', signature: signed('not json') }), 400, 'MALFORMED_NOTIFICATION');
      const noStatus = JSON.stringify({ ...bankResult(gateway, { status: 'SUCCESS' }), status: 'MAYBE' });
      assertProblem(await api.notify({ ...base, reqData: noStatus, signature: signed(noStatus) }), 400, 'MALFORMED_NOTIFICATION');

      const variants: [string, Record<string, unknown>, number, string][] = [
        ['unknown request', { requestNo: 'REQ00000000000000000UNKNOWN' }, 404, 'DEPOSITORY_REQUEST_NOT_FOUND'],
        ['other amount', { amount: '50.01' }, 422, 'NOTIFICATION_MISMATCH'],
        ['no amount', { amount: undefined }, 422, 'NOTIFICATION_MISMATCH'],
        ['other user', { userNo: 'usr_someone_else' }, 422, 'NOTIFICATION_MISMATCH'],
        ['other currency', { currency: 'USD' }, 422, 'NOTIFICATION_MISMATCH'],
        ['other service in reqData', { serviceName: 'WITHDRAW' }, 422, 'NOTIFICATION_MISMATCH'],
      ];
      for (const [name, change, status, code] of variants) {
        const reqData = JSON.stringify({ ...bankResult(gateway, { status: 'SUCCESS' }), ...change });
        assertProblem(await api.notify({ ...base, reqData, signature: signed(reqData) }), status, code);
        void name;
      }
      // Right request, wrong service in the query.
      assertProblem(await api.notify({ ...base, serviceName: 'WITHDRAW', reqData: good, signature: signed(good) }), 422, 'NOTIFICATION_MISMATCH');

      await sleep(200);
      assert.equal((await api.wallet(user))!.balance, '0.00', 'nothing moved');
      assert.equal((await api.recordOf(user, 'recharge', requestNo)).status, 'PENDING');

      // The genuine notification still settles it, even with the signature's '+' left unencoded.
      const raw = await api.request('GET', `/gateway?serviceName=RECHARGE&platformNo=${PLATFORM_NO}&reqData=${encodeURIComponent(good)}&signature=${signed(good)}`);
      assert.equal(raw.text, 'OK', raw.text);
      await eventually(async () => assert.equal((await api.wallet(user))!.balance, '50.00'));
      await api.invariantsHold();
    });

    test('a withdrawal holds amount + fee; success posts the hold, failure releases it; too little available is refused', async () => {
      const user = await openedUser('6222021234560001');
      await recharge(user, '100.00');
      const cards = (await api.my(user, 'GET', '/my/cards')).body;
      const gateway = await api.gateway(user, '/my/withdraw-records', { amount: '30.00', callbackUrl: CALLBACK, cardNumberMasked: cards[0].cardNumberMasked });
      assert.equal(gateway.serviceName, 'WITHDRAW');
      const data = requestDataOf(gateway);
      // On the wire the amount leaves the virtual account and the fee is kept back: the card gets 30.00.
      assert.deepEqual([data.amount, data.fee, data.currency, data.cardNumberMasked], ['32.00', '2.00', 'CNY', '6222********0001']);
      assert.deepEqual(await api.wallet(user), { ...(await api.wallet(user))!, balance: '100.00', available: '68.00', pending: '32.00' });
      assert.equal((await api.recordOf(user, 'withdraw', data.requestNo)).status, 'PENDING');

      assert.equal((await api.notifyResult(gateway, { status: 'SUCCESS' })).text, 'OK');
      await eventually(async () => assert.equal((await api.wallet(user))!.balance, '68.00'));
      assert.deepEqual(await api.wallet(user), { ...(await api.wallet(user))!, balance: '68.00', available: '68.00', pending: '0.00' });
      await eventually(async () => assert.equal((await api.recordOf(user, 'withdraw', data.requestNo)).status, 'SUCCEEDED'));
      // Duplicates change nothing.
      await Promise.all([1, 2, 3].map(() => api.notifyResult(gateway, { status: 'SUCCESS' })));

      const second = await api.gateway(user, '/my/withdraw-records', { amount: '10.00', callbackUrl: CALLBACK });
      assert.equal((await api.wallet(user))!.available, '56.00');
      assert.equal((await api.notifyResult(second, { status: 'FAIL' })).text, 'OK');
      await eventually(async () => assert.equal((await api.wallet(user))!.available, '68.00'));
      const failed = await eventually(async () => {
        const record = await api.recordOf(user, 'withdraw', requestDataOf(second).requestNo);
        assert.equal(record.status, 'FAILED');
        return record;
      });
      assert.equal(failed.errorCode, 'CARD_DECLINED');
      assert.equal((await api.wallet(user))!.balance, '68.00');

      // 67.00 + 2.00 fee > 68.00 available: refused, and nothing is created or held.
      const before = await api.records(user, 'withdraw');
      assertProblem(await api.my(user, 'POST', '/my/withdraw-records', { amount: '67.00', callbackUrl: CALLBACK }), 409, 'INSUFFICIENT_FUNDS');
      assertProblem(await api.my(user, 'POST', '/my/withdraw-records', { amount: '10.001', callbackUrl: CALLBACK }), 400, 'INVALID_AMOUNT');
      assertProblem(await api.my(user, 'POST', '/my/withdraw-records', { amount: '1.00', callbackUrl: CALLBACK, cardNumberMasked: '************9999' }), 400, 'VALIDATION_FAILED');
      assert.deepEqual(await api.records(user, 'withdraw'), before);
      assert.deepEqual(await api.wallet(user), { ...(await api.wallet(user))!, balance: '68.00', available: '68.00', pending: '0.00' });
      // Exactly everything: 66.00 + 2.00.
      const all = await api.gateway(user, '/my/withdraw-records', { amount: '66.00', callbackUrl: CALLBACK });
      assert.equal((await api.wallet(user))!.available, '0.00');
      assert.equal((await api.notifyResult(all, { status: 'SUCCESS' })).text, 'OK');
      await eventually(async () => assert.equal((await api.wallet(user))!.balance, '0.00'));

      const bill = (await api.my(user, 'GET', '/my/entries?limit=100')).body.data as { code: string; direction: string; amount: string }[];
      assert.deepEqual(
        bill.map((e) => `${e.code} ${e.direction} ${e.amount}`).sort(),
        ['fee DEBIT 2.00', 'fee DEBIT 2.00', 'recharge CREDIT 100.00', 'withdraw DEBIT 30.00', 'withdraw DEBIT 66.00'],
      );
      await api.invariantsHold();
    });

    test('a frozen user cannot recharge or withdraw but can still look', async () => {
      const user = await openedUser();
      await recharge(user, '20.00');
      assert.equal((await api.admin('POST', `/admin/users/${user.userId}/freeze`)).status, 200);
      assertProblem(await api.my(user, 'POST', '/my/recharge-records', { amount: '1.00', callbackUrl: CALLBACK }), 403, 'USER_FROZEN');
      assertProblem(await api.my(user, 'POST', '/my/withdraw-records', { amount: '1.00', callbackUrl: CALLBACK }), 403, 'USER_FROZEN');
      for (const read of ['/my/wallets', '/my/recharge-records', '/my/withdraw-records', '/my/entries', '/my/cards']) {
        assert.equal((await api.my(user, 'GET', read)).status, 200, read);
      }
      assert.equal((await api.wallet(user))!.available, '20.00');
      assert.equal((await api.records(user, 'withdraw')).data.length, 0);
      assert.equal((await api.admin('POST', `/admin/users/${user.userId}/unfreeze`)).status, 200);
      await api.gateway(user, '/my/withdraw-records', { amount: '1.00', callbackUrl: CALLBACK });
      await api.invariantsHold();
    });

    test('records and the bill page with a cursor, and a user never sees another user’s', async () => {
      const user = await openedUser();
      const other = await openedUser();
      const made = [];
      for (const amount of ['1.00', '2.00', '3.00']) made.push(requestDataOf(await api.gateway(user, '/my/recharge-records', { amount, callbackUrl: CALLBACK })).requestNo);
      await api.gateway(other, '/my/recharge-records', { amount: '9.00', callbackUrl: CALLBACK });
      const first = await api.records(user, 'recharge', '?limit=2');
      assert.equal(first.data.length, 2);
      assert.equal(first.hasMore, true);
      const second = await api.records(user, 'recharge', `?limit=2&startingAfter=${first.data[1].id}`);
      assert.equal(second.hasMore, false);
      assert.deepEqual([...first.data, ...second.data].map((r) => r.requestNo), made.reverse(), 'newest first, each once');
      assert.ok([...first.data, ...second.data].every((r) => /^rch_/.test(r.id) && r.amount && r.currency === 'CNY'), 'record views');
      assert.deepEqual((await api.records(other, 'recharge')).data.map((r) => r.amount), ['9.00']);
      assertProblem(await api.my(user, 'GET', '/my/recharge-records?startingAfter=nonsense'), 400, 'VALIDATION_FAILED');
    });

    test('a notification that never arrives: the status query settles the record from the bank’s signed answer', async () => {
      const user = await openedUser();
      const gateway = await api.gateway(user, '/my/recharge-records', { amount: '15.00', callbackUrl: CALLBACK });
      const requestNo = requestDataOf(gateway).requestNo;
      bankService.answers.set(requestNo, { kind: 'result', result: bankResult(gateway, { status: 'SUCCESS' }) });
      await eventually(async () => assert.equal((await api.wallet(user))!.balance, '15.00'));
      assert.ok((bankService.queries.get(requestNo) ?? 0) >= 1, 'the bank was queried');
      assert.equal(bankService.badSignatures, 0, 'every query carried the platform signature');
      await eventually(async () => assert.equal((await api.recordOf(user, 'recharge', requestNo)).status, 'SUCCEEDED'));
      // The notification arriving late afterwards is a duplicate.
      assert.equal((await api.notifyResult(gateway, { status: 'SUCCESS' })).text, 'OK');
      await sleep(300);
      assert.equal((await api.wallet(user))!.balance, '15.00');
      await api.invariantsHold();
    });

    test('the bank down at query time: the record stays pending, is asked again, and settles once the bank answers', async () => {
      const user = await openedUser();
      await recharge(user, '10.00');
      const gateway = await api.gateway(user, '/my/withdraw-records', { amount: '5.00', callbackUrl: CALLBACK });
      const requestNo = requestDataOf(gateway).requestNo;
      bankService.answers.set(requestNo, { kind: 'down' });
      await eventually(async () => assert.ok((bankService.queries.get(requestNo) ?? 0) >= 2, 'asked again after a failure'));
      assert.equal((await api.recordOf(user, 'withdraw', requestNo)).status, 'PENDING');
      assert.deepEqual(await api.wallet(user), { ...(await api.wallet(user))!, balance: '10.00', available: '3.00', pending: '7.00' });
      // No result yet: the record stays pending and is asked again.
      bankService.answers.set(requestNo, { kind: 'pending' });
      await eventually(async () => assert.ok((bankService.queries.get(requestNo) ?? 0) >= 3, 'asked once more'));
      bankService.answers.set(requestNo, { kind: 'result', result: bankResult(gateway, { status: 'FAIL' }) });
      await eventually(async () => assert.equal((await api.recordOf(user, 'withdraw', requestNo)).status, 'FAILED'));
      await eventually(async () => assert.equal((await api.wallet(user))!.available, '10.00'));
      assert.equal((await api.wallet(user))!.balance, '10.00');
      await api.invariantsHold();
    });

    test('a withdrawal never taken to the bank expires: once the bank signs that it never had it, the record fails as REQUEST_EXPIRED and the hold is released', async () => {
      const user = await openedUser();
      await recharge(user, '10.00');
      const gateway = await api.gateway(user, '/my/withdraw-records', { amount: '5.00', callbackUrl: CALLBACK });
      const { requestNo, expiresAt, timestamp } = requestDataOf(gateway);
      assert.equal(Date.parse(expiresAt!) - Date.parse(timestamp), 1000, 'the signed request says when the bank stops acting on it');
      // While the bank still has it open, it stays pending however old it is.
      bankService.answers.set(requestNo, { kind: 'pending' });
      await eventually(async () => assert.ok((bankService.queries.get(requestNo) ?? 0) >= 2, 'asked twice after expiry'));
      assert.equal((await api.recordOf(user, 'withdraw', requestNo)).status, 'PENDING');
      assert.equal((await api.wallet(user))!.available, '3.00');

      bankService.answers.set(requestNo, { kind: 'not-found' });
      await eventually(async () => assert.equal((await api.recordOf(user, 'withdraw', requestNo)).status, 'FAILED'));
      assert.equal((await api.recordOf(user, 'withdraw', requestNo)).errorCode, 'REQUEST_EXPIRED');
      await eventually(async () => assert.equal((await api.wallet(user))!.available, '10.00'));
      assert.equal((await api.wallet(user))!.balance, '10.00');
      // The bank's word comes later after all (it cannot, having refused the expired request): the first result stands.
      assert.equal((await api.notifyResult(gateway, { status: 'SUCCESS' })).text, 'OK');
      await sleep(300);
      assert.equal((await api.wallet(user))!.balance, '10.00');
      await api.invariantsHold();
    });

    test('a retried withdrawal request with its Idempotency-Key gets the first answer and holds once; another body with that key is 422', async () => {
      const user = await openedUser();
      await recharge(user, '20.00');
      const send = (amount: string, key: string) =>
        api.request('POST', '/my/withdraw-records', { token: user.token, body: { amount, callbackUrl: CALLBACK }, headers: { 'idempotency-key': key } });
      const first = await send('5.00', 'wd-1');
      assert.equal(first.status, 201, first.text);
      const again = await send('5.00', 'wd-1');
      assert.equal(again.status, 201);
      assert.equal(again.headers.get('idempotent-replayed'), 'true');
      assert.equal(again.body.reqData, first.body.reqData, 'the same signed request, not a second one');
      assert.equal((await api.wallet(user))!.available, '13.00', 'amount + fee held once');
      assertProblem(await send('6.00', 'wd-1'), 422, 'IDEMPOTENCY_KEY_REUSED');
      const other = await send('5.00', 'wd-2');
      assert.notEqual(other.body.reqData, first.body.reqData, 'a new key is a new request');
      assert.equal((await api.wallet(user))!.available, '6.00');
      await api.invariantsHold();
    });

    test('a withdrawal waiting for its SMS code that nobody enters expires: VERIFICATION_EXPIRED, hold and risk decision released', async () => {
      const user = await openedUser();
      await recharge(user, '6000.00');
      const started = await api.my(user, 'POST', '/my/withdraw-records', { amount: '5000.00', callbackUrl: CALLBACK });
      assert.equal(started.status, 202, started.text);
      assert.equal((await api.wallet(user))!.available, '998.00');
      await eventually(async () => {
        const record = await api.recordOf(user, 'withdraw', started.body.record.requestNo);
        assert.deepEqual([record.status, record.errorCode], ['FAILED', 'VERIFICATION_EXPIRED']);
        // The holds are voided and then the risk decision released right after the record fails (writes of their own).
        assert.equal((await api.wallet(user))!.available, '6000.00');
        const decisions = await api.admin<{ data: { reference: string; releasedAt: string | null }[] }>('GET', `/admin/risk/decisions?subjectId=${user.userId}`);
        const decision = decisions.body.data.find((d) => d.reference === started.body.record.requestNo);
        assert.ok(decision?.releasedAt, 'the expired withdrawal no longer counts toward the daily limits');
      });
      await api.invariantsHold();
    });

    test('a crash between a withdrawal’s hold and its record, or between its failure and its release: the orphaned hold and risk decision are released; a hold with its live record is kept', async () => {
      const user = await openedUser();
      await recharge(user, '10.00');
      const kept = requestDataOf(await api.gateway(user, '/my/withdraw-records', { amount: '3.00', callbackUrl: CALLBACK })).requestNo;
      bankService.answers.set(kept, { kind: 'pending' });
      const hold = await api.admin('GET', `/admin/ledger/transfers/withdraw:${kept}:amount`);
      assert.equal(hold.status, 200, hold.text);
      const fee = await api.admin('GET', `/admin/ledger/transfers/withdraw:${kept}:fee`);
      // What a withdrawal that crashed before saving its record leaves behind: its two linked holds, and nothing else.
      const lost = 'REQ20261122000000000LOST' + String(Date.now()).slice(-6);
      const orphan = await api.admin('POST', '/admin/ledger/linked-transfers', {
        transfers: [
          { id: `withdraw:${lost}:amount`, debitAccountId: hold.body.debitAccountId, creditAccountId: hold.body.creditAccountId, amount: '2.00', currency: 'CNY', code: 'withdraw', reference: lost, pending: {} },
          { id: `withdraw:${lost}:fee`, debitAccountId: fee.body.debitAccountId, creditAccountId: fee.body.creditAccountId, amount: '2.00', currency: 'CNY', code: 'fee', reference: lost, pending: {} },
        ],
      });
      assert.equal(orphan.status, 201, orphan.text);
      assert.equal((await api.wallet(user))!.available, '1.00');

      await eventually(async () => assert.equal((await api.admin('GET', `/admin/ledger/transfers/withdraw:${lost}:amount`)).body.state, 'VOIDED'));
      assert.equal((await api.admin('GET', `/admin/ledger/transfers/withdraw:${lost}:fee`)).body.state, 'VOIDED');
      assert.equal((await api.wallet(user))!.available, '5.00', 'only the recorded withdrawal stays held');
      assert.equal((await api.admin('GET', `/admin/ledger/transfers/withdraw:${kept}:amount`)).body.state, 'PENDING');
      assert.equal((await api.recordOf(user, 'withdraw', kept)).status, 'PENDING');

      // What a crash after an unsent withdrawal failed leaves behind: the record FAILED, its holds still open.
      await sql`update withdraw_records set status = 'FAILED', error_code = 'VERIFICATION_EXPIRED' where request_no = ${kept}`.execute(coffer.store.db);
      await eventually(async () => assert.equal((await api.admin('GET', `/admin/ledger/transfers/withdraw:${kept}:amount`)).body.state, 'VOIDED'));
      assert.equal((await api.admin('GET', `/admin/ledger/transfers/withdraw:${kept}:fee`)).body.state, 'VOIDED');
      assert.equal((await api.wallet(user))!.available, '10.00', 'nothing stays held');

      // What a crash between a withdrawal's risk decision and hold and its record leaves: the holds and the decision, no record.
      const unsaved = requestDataOf(await api.gateway(user, '/my/withdraw-records', { amount: '1.00', callbackUrl: CALLBACK })).requestNo;
      bankService.answers.set(unsaved, { kind: 'pending' });
      for (const table of ['withdraw_records', 'depository_transactions']) {
        await sql`delete from ${sql.table(table)} where request_no = ${unsaved}`.execute(coffer.store.db);
      }
      await sql`delete from transaction_orders where serial_no = ${unsaved}`.execute(coffer.store.db);
      await eventually(async () => assert.equal((await api.admin('GET', `/admin/ledger/transfers/withdraw:${unsaved}:amount`)).body.state, 'VOIDED'));
      assert.equal((await api.wallet(user))!.available, '10.00');
      const decisions = await api.admin<{ data: { reference: string; releasedAt: string | null }[] }>('GET', `/admin/risk/decisions?subjectId=${user.userId}`);
      assert.ok(decisions.body.data.find((d) => d.reference === unsaved)?.releasedAt, 'its risk decision no longer counts toward the limits');
      await api.invariantsHold();
    });

    test('two Coffer processes on one database: the same notification to both, and both query jobs running, settle each request once', { skip: kind !== 'postgres' && 'needs a PostgreSQL server (several processes)' }, async () => {
      const second = await startServer();
      try {
        const other = new Api(second.url, keys.bank);
        const user = await openedUser();
        const notified = await api.gateway(user, '/my/recharge-records', { amount: '25.00', callbackUrl: CALLBACK });
        const replies = await Promise.all(
          [api, other, api, other, api, other, api, other].map((target) => target.notifyResult(notified, { status: 'SUCCESS' })),
        );
        for (const reply of replies) assert.equal(reply.text, 'OK', `${reply.status} ${reply.text}`);
        await eventually(async () => assert.equal((await other.wallet(user))!.balance, '25.00'));

        const queried = await other.gateway(user, '/my/withdraw-records', { amount: '10.00', callbackUrl: CALLBACK });
        const requestNo = requestDataOf(queried).requestNo;
        bankService.answers.set(requestNo, { kind: 'result', result: bankResult(queried, { status: 'SUCCESS' }) });
        await eventually(async () => assert.equal((await api.recordOf(user, 'withdraw', requestNo)).status, 'SUCCEEDED'));
        await eventually(async () => assert.equal((await api.wallet(user))!.balance, '13.00'));
        await sleep(500);
        assert.deepEqual(await api.wallet(user), { ...(await api.wallet(user))!, balance: '13.00', available: '13.00', pending: '0.00' });
        const bill = (await other.my(user, 'GET', '/my/entries?limit=100')).body.data as { code: string; amount: string }[];
        assert.deepEqual(bill.map((e) => `${e.code} ${e.amount}`).sort(), ['fee 2.00', 'recharge 25.00', 'withdraw 10.00']);
        await api.invariantsHold();
      } finally {
        await second.close();
      }
    });

    test('a restart right after the bank’s notifications loses nothing and doubles nothing (the outbox redelivers)', async () => {
      const user = await openedUser();
      const gateways = [];
      for (const amount of ['3.00', '4.00', '5.00']) gateways.push(await api.gateway(user, '/my/recharge-records', { amount, callbackUrl: CALLBACK }));
      for (const gateway of gateways) assert.equal((await api.notifyResult(gateway, { status: 'SUCCESS' })).text, 'OK');
      // Stopped at once: some events may not have reached the user center yet.
      await coffer.close();
      coffer = await startServer();
      api = new Api(coffer.url, keys.bank);
      await eventually(async () => assert.equal((await api.wallet(user))!.balance, '12.00'));
      for (const gateway of gateways) assert.equal((await api.notifyResult(gateway, { status: 'SUCCESS' })).text, 'OK');
      await sleep(300);
      assert.equal((await api.wallet(user))!.balance, '12.00');
      await eventually(async () => assert.deepEqual((await api.records(user, 'recharge')).data.map((r) => r.status), ['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']));
      await api.invariantsHold();
    });

    test('the internal agent endpoints sign requests for internal callers only', async () => {
      const body = { userNo: 'usr_internal', amount: '12.34', callbackUrl: CALLBACK };
      assertProblem(await api.request('POST', '/l/recharges', { body }), 401, 'UNAUTHORIZED');
      const recharge = await api.admin<GatewayRequest>('POST', '/l/recharges', body);
      assert.equal(recharge.status, 201, recharge.text);
      assert.equal(recharge.body.serviceName, 'RECHARGE');
      assert.equal(requestDataOf(recharge.body).amount, '12.34');
      const withdraw = await api.admin<GatewayRequest>('POST', '/l/withdraw', { ...body, cardNumberMasked: '****1234' });
      assert.equal(withdraw.status, 201, withdraw.text);
      assert.equal(requestDataOf(withdraw.body).fee, '2.00');
      const platformPublic = loadPublicKey(path.join(keys.platformKeysDir, 'platform-public.pem'));
      assert.ok(verifyText(withdraw.body.reqData, withdraw.body.signature, platformPublic), 'signed with the platform key');
    });
  });
}
