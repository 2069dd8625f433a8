/**
 * Bound cards (SPEC 3): add a card through the bank (BIND_CARD, the same three
 * phases as a recharge) and remove one, over real HTTP on both stores. The test
 * plays the bank: it signs BIND_CARD notifications with the test bank key and
 * answers the agent's signed UNBIND_CARD call.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import type { RunningCoffer } from '../../src/main.ts';
import { DEPOSITORY_SETTLED, type DepositorySettledEvent } from '../../src/modules/depository/index.ts';
import { publish } from '../../src/platform/outbox/index.ts';
import { type GatewayRequest, loadPublicKey, signText, verifyText } from '../../src/protocol/depository.ts';
import { testStoreKinds } from '../support/stores.ts';
import {
  type Api,
  assertProblem,
  bankResult,
  eventually,
  type FakeBankService,
  killedAfterCommit,
  PLATFORM_NO,
  requestDataOf,
  sleep,
  type TestBooks,
  type TestKeys,
  type TestUser,
  startDepositoryServer,
  stopDepositoryServer,
} from './support.ts';

const storeKinds = await testStoreKinds();
const CALLBACK = 'https://wallet.test.example/cards';

interface CardView {
  id: string;
  cardNumberMasked: string;
  bankCode: string | null;
  boundAt: string;
}

for (const { kind, skip } of storeKinds) {
  describe(`bound cards: add through the bank, remove (${kind} store)`, { skip }, () => {
    let books: TestBooks;
    let keys: TestKeys;
    let bankService: FakeBankService;
    let coffer: RunningCoffer;
    let api: Api;

    before(async () => {
      ({ books, keys, bankService, coffer, api } = await startDepositoryServer(kind));
    });

    after(() => stopDepositoryServer({ books, keys, bankService, coffer }));

    async function cards(user: TestUser): Promise<CardView[]> {
      const reply = await api.my<CardView[]>(user, 'GET', '/my/cards');
      assert.equal(reply.status, 200, reply.text);
      return reply.body;
    }

    async function openedUser(card = '6222021234567890123'): Promise<TestUser> {
      const user = await api.newUser();
      const gateway = await api.gateway(user, '/my/depository-accounts', { callbackUrl: CALLBACK });
      assert.equal((await api.notifyResult(gateway, { status: 'SUCCESS', cardNumberMasked: card, bankCode: 'ICBC' })).text, 'OK');
      await eventually(async () => assert.equal((await cards(user)).length, 1));
      await eventually(async () => assert.ok(await api.wallet(user), 'the wallet is open'));
      return user;
    }

    /** Adds a card through the whole BIND_CARD flow (bank notification once) and waits for it to show. */
    async function addCard(user: TestUser, cardNumberMasked: string, bankCode = 'CMB'): Promise<CardView> {
      const before = await cards(user);
      const gateway = await api.gateway(user, '/my/cards', { callbackUrl: CALLBACK });
      assert.equal((await api.notifyResult(gateway, { status: 'SUCCESS', cardNumberMasked, bankCode })).text, 'OK');
      const after = await eventually(async () => {
        const now = await cards(user);
        assert.equal(now.length, before.length + 1);
        return now;
      });
      return after.find((c) => !before.some((b) => b.id === c.id))!;
    }

    async function recharge(user: TestUser, amount: string): Promise<void> {
      const gateway = await api.gateway(user, '/my/recharge-records', { amount, callbackUrl: CALLBACK });
      assert.equal((await api.notifyResult(gateway, { status: 'SUCCESS' })).text, 'OK');
      await eventually(async () => assert.equal((await api.wallet(user))!.balance, amount));
    }

    test('adding a card needs a login, an opened depository account and a user who is not frozen', async () => {
      assertProblem(await api.request('POST', '/my/cards', { body: { callbackUrl: CALLBACK } }), 401, 'UNAUTHORIZED');
      const user = await api.newUser();
      const problem = assertProblem(await api.my(user, 'POST', '/my/cards', { callbackUrl: CALLBACK }), 409, 'ACCOUNT_NOT_OPENED');
      assert.match(problem.detail, /open one first/i);
      // Still not open while the opening waits for the bank.
      await api.gateway(user, '/my/depository-accounts', { callbackUrl: CALLBACK });
      assertProblem(await api.my(user, 'POST', '/my/cards', { callbackUrl: CALLBACK }), 409, 'ACCOUNT_NOT_OPENED');
      assertProblem(await api.my(await openedUser(), 'POST', '/my/cards', { callbackUrl: 'javascript:alert(1)' }), 400, 'VALIDATION_FAILED');
      const openapi = (await api.request('GET', '/openapi.json')).body;
      assert.ok(openapi.paths['/my/cards']?.post, 'POST /my/cards is documented');
      assert.ok(openapi.paths['/my/cards/{id}']?.delete?.responses?.['204'], 'DELETE /my/cards/{id} is documented with its 204');
      // A frozen user may remove a card but not add one.
      const frozen = await openedUser();
      assert.equal((await api.admin('POST', `/admin/users/${frozen.userId}/freeze`)).status, 200);
      assertProblem(await api.my(frozen, 'POST', '/my/cards', { callbackUrl: CALLBACK }), 403, 'USER_FROZEN');
      assert.equal((await api.my(frozen, 'DELETE', `/my/cards/${(await cards(frozen))[0]!.id}`)).status, 204);
    });

    test('opening the account and adding a card: a retry that takes over the key of a request killed after its commit gets the same signed request, a new one once that expired', async () => {
      const user = await api.newUser();
      const db = coffer.store.db;
      /** Asked, killed after its commit, asked again under the same key: answers both signed requests. */
      async function askedTwice(urlPath: string, key: string): Promise<[GatewayRequest, GatewayRequest]> {
        const first = await api.keyed<GatewayRequest>(user, urlPath, { callbackUrl: CALLBACK }, key);
        assert.equal(first.status, 201, first.text);
        await killedAfterCommit(db, user, key);
        const again = await api.keyed<GatewayRequest>(user, urlPath, { callbackUrl: CALLBACK }, key);
        assert.equal(again.status, 201, again.text);
        return [first.body, again.body];
      }
      const [opening, openingAgain] = await askedTwice('/my/depository-accounts', 'open-1');
      assert.equal(openingAgain.reqData, opening.reqData, 'the same PERSONAL_REGISTER');
      assert.ok(verifyText(openingAgain.reqData, openingAgain.signature, loadPublicKey(path.join(keys.platformKeysDir, 'platform-public.pem'))), 'signed anew');
      assert.equal((await api.notifyResult(openingAgain, { status: 'SUCCESS', cardNumberMasked: '6222021234567890123', bankCode: 'ICBC' })).text, 'OK');
      await eventually(async () => assert.equal((await cards(user)).length, 1));

      const [binding, bindingAgain] = await askedTwice('/my/cards', 'bind-1');
      assert.equal(bindingAgain.reqData, binding.reqData, 'the same BIND_CARD');
      const requests = async () => (await sql<{ n: number }>`select count(*)::int as n from depository_transactions where user_no = ${requestDataOf(binding).userNo}`.execute(db)).rows[0]!.n;
      assert.equal(await requests(), 2, 'one PERSONAL_REGISTER and one BIND_CARD were prepared');

      // The bank no longer takes the dead request's BIND_CARD: the retry gets a new one.
      await killedAfterCommit(db, user, 'bind-1');
      await sql`update depository_transactions set expires_at = now() - interval '1 second' where request_no = ${requestDataOf(binding).requestNo}`.execute(db);
      const bindingLater = await api.keyed<GatewayRequest>(user, '/my/cards', { callbackUrl: CALLBACK }, 'bind-1');
      assert.equal(bindingLater.status, 201, bindingLater.text);
      assert.notEqual(requestDataOf(bindingLater.body).requestNo, requestDataOf(binding).requestNo);
      assert.equal(await requests(), 3);
    });

    test('a BIND_CARD notification sent 1, 2 and 3 times (also at once) binds each card exactly once', async () => {
      const user = await openedUser();
      const gateways: GatewayRequest[] = [];
      for (let i = 0; i < 3; i++) gateways.push(await api.gateway(user, '/my/cards', { callbackUrl: CALLBACK }));
      const platformPublic = loadPublicKey(path.join(keys.platformKeysDir, 'platform-public.pem'));
      for (const gateway of gateways) {
        assert.equal(gateway.serviceName, 'BIND_CARD');
        assert.equal(gateway.platformNo, PLATFORM_NO);
        assert.ok(verifyText(gateway.reqData, gateway.signature, platformPublic), 'signed with the platform key');
        const data = requestDataOf(gateway);
        assert.equal(data.userNo, user.userId);
        assert.equal(data.callbackUrl, CALLBACK);
        assert.equal(data.amount, undefined, 'a BIND_CARD request has no amount');
      }
      const masked = ['6217000000001111', '6217000000002222', '6217000000003333'];
      // Card i is notified i+1 times: in sequence for the first two, at once for the third.
      for (let i = 0; i < 2; i++) {
        for (let n = 0; n <= i; n++) {
          const reply = await api.notifyResult(gateways[i]!, { status: 'SUCCESS', cardNumberMasked: masked[i]!, bankCode: 'CMB' });
          assert.equal(reply.text, 'OK', reply.text);
        }
      }
      const at_once = await Promise.all([0, 1, 2].map(() => api.notifyResult(gateways[2]!, { status: 'SUCCESS', cardNumberMasked: masked[2]!, bankCode: 'BOC' })));
      for (const reply of at_once) assert.equal(reply.text, 'OK', reply.text);

      await eventually(async () => assert.equal((await cards(user)).length, 4));
      // A late FAIL for a bound card contradicts the bank's first word: answered OK, nothing changes.
      assert.equal((await api.notifyResult(gateways[0]!, { status: 'FAIL' })).text, 'OK');
      await sleep(300);
      const list = await cards(user);
      assert.deepEqual(
        list.map((c) => [c.cardNumberMasked, c.bankCode]),
        [
          ['6222***********0123', 'ICBC'],
          ['6217********1111', 'CMB'],
          ['6217********2222', 'CMB'],
          ['6217********3333', 'BOC'],
        ],
      );
      assert.equal(new Set(list.map((c) => c.id)).size, 4);
      // A second consumer run (the outbox redelivering) is also harmless: the request number is taken.
      assert.equal((await api.notifyResult(gateways[1]!, { status: 'SUCCESS', cardNumberMasked: masked[1]!, bankCode: 'CMB' })).text, 'OK');
      await sleep(200);
      assert.equal((await cards(user)).length, 4);
    });

    test('a FAIL binds nothing; forged, unsigned or mismatched notifications and unknown requests are refused and bind nothing', async () => {
      const user = await openedUser();
      const failed = await api.gateway(user, '/my/cards', { callbackUrl: CALLBACK });
      assert.equal((await api.notifyResult(failed, { status: 'FAIL', errorCode: 'USER_LOCKED', errorMessage: 'locked' })).text, 'OK');
      // ...and a late SUCCESS for it changes nothing: the first word stands.
      assert.equal((await api.notifyResult(failed, { status: 'SUCCESS', cardNumberMasked: '6217000000004444', bankCode: 'CMB' })).text, 'OK');

      const gateway = await api.gateway(user, '/my/cards', { callbackUrl: CALLBACK });
      const good = JSON.stringify(bankResult(gateway, { status: 'SUCCESS', cardNumberMasked: '6217000000005555', bankCode: 'CMB' }));
      const base = { serviceName: 'BIND_CARD', platformNo: PLATFORM_NO };
      assertProblem(await api.notify({ ...base, reqData: good, signature: signText(good, keys.impostor.privateKey) }), 401, 'INVALID_SIGNATURE');
      assertProblem(await api.notify({ ...base, reqData: good }), 401, 'INVALID_SIGNATURE');
      const tampered = good.replace('5555', '6666');
      assertProblem(await api.notify({ ...base, reqData: tampered, signature: signText(good, keys.bank.privateKey) }), 401, 'INVALID_SIGNATURE');
      assertProblem(await api.notify({ ...base, platformNo: 'other', reqData: good, signature: signText(good, keys.bank.privateKey) }), 400, 'UNKNOWN_PLATFORM');
      // Signed by the bank, but for a request Coffer never made, or about another service or user.
      const unknown = JSON.stringify({ ...JSON.parse(good), requestNo: 'REQ0000UNKNOWN' });
      assertProblem(await api.notify({ ...base, reqData: unknown, signature: signText(unknown, keys.bank.privateKey) }), 404, 'DEPOSITORY_REQUEST_NOT_FOUND');
      assertProblem(await api.notify({ ...base, serviceName: 'RECHARGE', reqData: good, signature: signText(good, keys.bank.privateKey) }), 422, 'NOTIFICATION_MISMATCH');
      const noCard = JSON.stringify({ ...JSON.parse(good), cardNumberMasked: undefined });
      assertProblem(await api.notify({ ...base, reqData: noCard, signature: signText(noCard, keys.bank.privateKey) }), 400, 'MALFORMED_NOTIFICATION');
      const otherUser = JSON.stringify({ ...JSON.parse(good), userNo: 'someone-else' });
      assertProblem(await api.notify({ ...base, reqData: otherUser, signature: signText(otherUser, keys.bank.privateKey) }), 422, 'NOTIFICATION_MISMATCH');

      await sleep(300);
      assert.deepEqual((await cards(user)).map((c) => c.cardNumberMasked), ['6222***********0123'], 'only the card of the account opening');
      // The genuine notification still binds it.
      assert.equal((await api.notify({ ...base, reqData: good, signature: signText(good, keys.bank.privateKey) })).text, 'OK');
      await eventually(async () => assert.equal((await cards(user)).length, 2));
    });

    test('removing a card: own cards only (404 for anyone else’s), refused while a PENDING withdrawal names it, then gone for good', async () => {
      const user = await openedUser('6222020000000001');
      const stranger = await openedUser('6222020000000002');
      const second = await addCard(user, '6217000000007777');
      const [first] = await cards(user);
      const strangerCard = (await cards(stranger))[0]!;

      // Someone else's card, an unknown id, no login.
      assertProblem(await api.my(user, 'DELETE', `/my/cards/${strangerCard.id}`), 404, 'CARD_NOT_FOUND');
      assertProblem(await api.my(user, 'DELETE', '/my/cards/card_doesnotexist'), 404, 'CARD_NOT_FOUND');
      assertProblem(await api.request('DELETE', `/my/cards/${second.id}`), 401, 'UNAUTHORIZED');
      assert.equal((await cards(stranger)).length, 1, 'the stranger keeps their card');

      // A PENDING withdrawal to the second card holds it; the first card stays removable meanwhile.
      await recharge(user, '100.00');
      const withdrawal = await api.gateway(user, '/my/withdraw-records', { amount: '10.00', callbackUrl: CALLBACK, cardNumberMasked: second.cardNumberMasked });
      assert.equal(requestDataOf(withdrawal).cardNumberMasked, second.cardNumberMasked);
      const inUse = assertProblem(await api.my(user, 'DELETE', `/my/cards/${second.id}`), 409, 'CARD_IN_USE');
      assert.match(inUse.detail, /in progress/);
      assert.equal((await cards(user)).length, 2);

      // Once the withdrawal is final the card can go.
      assert.equal((await api.notifyResult(withdrawal, { status: 'SUCCESS' })).text, 'OK');
      await eventually(async () => assert.equal((await api.recordOf(user, 'withdraw', requestDataOf(withdrawal).requestNo)).status, 'SUCCEEDED'));
      const removed = await api.my(user, 'DELETE', `/my/cards/${second.id}`);
      assert.equal(removed.status, 204, removed.text);
      assert.equal(removed.text, '');
      assert.deepEqual((await cards(user)).map((c) => c.id), [first!.id]);
      assertProblem(await api.my(user, 'DELETE', `/my/cards/${second.id}`), 404, 'CARD_NOT_FOUND');

      // A removed card cannot be named by a new withdrawal, and nothing is held for the attempt.
      const wallet = (await api.wallet(user))!;
      assertProblem(
        await api.my(user, 'POST', '/my/withdraw-records', { amount: '1.00', callbackUrl: CALLBACK, cardNumberMasked: second.cardNumberMasked }),
        400,
        'VALIDATION_FAILED',
      );
      assert.deepEqual(await api.wallet(user), wallet);

      // The bank is told (platform-signed UNBIND_CARD through the outbox).
      await eventually(async () => assert.ok(bankService.unbinds.some((u) => u.userNo === user.userId && u.cardNumberMasked === second.cardNumberMasked), 'UNBIND_CARD reached the bank'));
      assert.equal(bankService.badSignatures, 0);

      // With no card left a withdrawal is refused before anything is held.
      assert.equal((await api.my(user, 'DELETE', `/my/cards/${first!.id}`)).status, 204);
      assert.deepEqual(await cards(user), []);
      assertProblem(await api.my(user, 'POST', '/my/withdraw-records', { amount: '1.00', callbackUrl: CALLBACK }), 409, 'CARD_NOT_BOUND');
      assert.deepEqual(await api.wallet(user), wallet);
      await api.invariantsHold();
    });

    test('a removal racing a new withdrawal to the same card: never both (the withdrawal wins and the removal is CARD_IN_USE, or the other way round)', async () => {
      const user = await openedUser('6222020000000003');
      await recharge(user, '100.00');
      const outcomes: string[] = [];
      for (let round = 0; round < 6; round++) {
        const card = await addCard(user, `62170000001000${String(round).padStart(2, '0')}`);
        const [withdraw, removal] = await Promise.all([
          api.my<GatewayRequest>(user, 'POST', '/my/withdraw-records', { amount: '1.00', callbackUrl: CALLBACK, cardNumberMasked: card.cardNumberMasked }),
          api.my(user, 'DELETE', `/my/cards/${card.id}`),
        ]);
        if (withdraw.status === 201) {
          assertProblem(removal, 409, 'CARD_IN_USE');
          assert.ok((await cards(user)).some((c) => c.id === card.id), 'the card stays');
          assert.equal((await api.notifyResult(withdraw.body, { status: 'FAIL' })).text, 'OK');
          outcomes.push('withdrawal first');
        } else {
          assert.equal(removal.status, 204, removal.text);
          assertProblem(withdraw, 400, 'VALIDATION_FAILED');
          outcomes.push('removal first');
        }
      }
      // Every hold of a refused or failed withdrawal is released.
      await eventually(async () => assert.deepEqual(await api.wallet(user), { ...(await api.wallet(user))!, balance: '100.00', available: '100.00', pending: '0.00' }));
      assert.equal(outcomes.length, 6);
      await api.invariantsHold();
    });

    test('a removal does not wait for the bank: while the bank is down the card is gone here at once, and UNBIND_CARD is retried until the bank answers', async () => {
      const user = await openedUser();
      const card = await addCard(user, '6217000000004242');
      bankService.unbindDown = true;
      const refusedBefore = bankService.unbindsRefused;
      try {
        assert.equal((await api.my(user, 'DELETE', `/my/cards/${card.id}`)).status, 204);
        assert.equal((await cards(user)).some((c) => c.id === card.id), false, 'gone from Coffer at once');
        await eventually(async () => assert.ok(bankService.unbindsRefused > refusedBefore, 'the bank was asked and refused'));
      } finally {
        bankService.unbindDown = false;
      }
      await eventually(async () => assert.ok(bankService.unbinds.some((u) => u.userNo === user.userId && u.cardNumberMasked === card.cardNumberMasked), 'retried until the bank unbound it'));
    });

    test('the user center’s consumer is idempotent by request number: the settled event delivered again (also after removal) binds nothing more', async () => {
      const user = await openedUser();
      const card = await addCard(user, '6217000000009999');
      // The event the agent published for the card's request, as the outbox would deliver it again.
      const { rows } = await sql<{ requestNo: string }>`select request_no as "requestNo" from bound_cards where id = ${card.id}`.execute(coffer.store.db);
      const event: DepositorySettledEvent = {
        requestNo: rows[0]!.requestNo,
        serviceName: 'BIND_CARD',
        userNo: user.userId,
        status: 'SUCCEEDED',
        amount: null,
        fee: null,
        currency: 'CNY',
        errorCode: null,
        errorMessage: null,
        cardNumberMasked: '6217000000009999',
        bankCode: 'CMB',
        settledAt: new Date().toISOString(),
      };
      const redeliver = async () => {
        for (let i = 0; i < 2; i++) await publish(coffer.store.db, { topic: DEPOSITORY_SETTLED, key: event.requestNo, payload: event });
        await sleep(400);
      };
      await redeliver();
      assert.equal((await cards(user)).length, 2, 'still two cards');
      assert.equal((await api.my(user, 'DELETE', `/my/cards/${card.id}`)).status, 204);
      await redeliver();
      assert.equal((await cards(user)).length, 1, 'the removed card does not come back');
    });

    test('a late repeat of a BIND_CARD notification after the card was removed adds nothing; the same card can be bound again with a new request', async () => {
      const user = await openedUser();
      const gateway = await api.gateway(user, '/my/cards', { callbackUrl: CALLBACK });
      const notify = () => api.notifyResult(gateway, { status: 'SUCCESS', cardNumberMasked: '6217000000008888', bankCode: 'CMB' });
      assert.equal((await notify()).text, 'OK');
      const card = await eventually(async () => {
        const found = (await cards(user)).find((c) => c.cardNumberMasked === '6217********8888');
        assert.ok(found, 'bound');
        return found;
      });
      assert.equal((await api.my(user, 'DELETE', `/my/cards/${card.id}`)).status, 204);
      assert.equal((await notify()).text, 'OK');
      await sleep(300);
      assert.equal((await cards(user)).some((c) => c.cardNumberMasked === '6217********8888'), false, 'stays removed');

      const again = await addCard(user, '6217000000008888');
      assert.notEqual(again.id, card.id);
      assert.equal(again.cardNumberMasked, '6217********8888');
    });
  });
}
