/**
 * The bank's side of bound cards: the BIND_CARD hosted page (a contract for
 * automation: one form, inputs cardNumber, bankCode, password + hidden), own
 * name only, the transaction-password lockout, the signed notification, and the
 * platform's server-to-server UNBIND_CARD.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { signText, verifyText } from '../../src/protocol/depository.ts';
import { createServerDatabase, postgresUnavailable } from '../support/stores.ts';
import {
  type BankUnderTest,
  deliveredNotification,
  newCardNumber,
  notificationsOf,
  openAccount,
  parseForm,
  PASSWORD,
  PLATFORM_NO,
  postForm,
  queryTransaction,
  sandbox,
  signedRequest,
  startInProcess,
  submit,
  uniqueNo,
} from './support.ts';

const masked = (card: string) => `${card.slice(0, 4)}********${card.slice(-4)}`;

/** Every <input> of the page as [name, type]. */
function inputsOf(html: string): [string, string][] {
  return (html.match(/<input\b(?:[^>"]|"[^"]*")*>/g) ?? []).map((tag) => [/\sname="([^"]*)"/.exec(tag)?.[1] ?? '', /\stype="([^"]*)"/.exec(tag)?.[1] ?? 'text']);
}

async function boundCards(bank: BankUnderTest, userNo: string): Promise<string[]> {
  const answer = await sandbox<{ cards: string[] }>(bank, 'GET', `/sandbox/accounts/${encodeURIComponent(userNo)}`);
  assert.equal(answer.status, 200);
  return answer.body.cards;
}

async function startBind(bank: BankUnderTest, userNo: string) {
  const requestNo = uniqueNo('bind');
  const page = await postForm(`${bank.url}/gateway`, signedRequest(bank, 'BIND_CARD', { requestNo, userNo }));
  return { page, requestNo };
}

async function unbind(bank: BankUnderTest, userNo: string, cardNumberMasked: string, key: KeyObject = bank.keys.privateKey) {
  const reqData = JSON.stringify({ requestNo: uniqueNo('unb'), userNo, cardNumberMasked, timestamp: new Date().toISOString() });
  const response = await fetch(`${bank.url}/service`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ serviceName: 'UNBIND_CARD', platformNo: PLATFORM_NO, reqData, signature: signText(reqData, key) }),
  });
  const body = (await response.json()) as { reqData: string; signature: string; code?: string };
  return { status: response.status, body, signatureValid: response.ok && verifyText(body.reqData, body.signature, bank.bankPublicKey), data: response.ok ? (JSON.parse(body.reqData) as Record<string, unknown>) : undefined };
}

const unavailable = await postgresUnavailable();
if (unavailable && process.env.CI) throw new Error(`${unavailable}; CI must run the PostgreSQL suites`);
if (unavailable) console.warn(`\n!!! SKIPPING bank simulator card tests on a PostgreSQL server: ${unavailable}\n`);

for (const kind of ['embedded', 'postgres'] as const) {
  describe(`bank simulator: binding and unbinding debit cards (${kind} store)`, { skip: kind === 'postgres' && unavailable ? `SKIPPED: ${unavailable}` : false }, () => {
    let bank: BankUnderTest;
    let dropDatabase = async () => {};
    before(async () => {
      const database = kind === 'postgres' ? await createServerDatabase() : undefined;
      if (database) dropDatabase = () => database.drop();
      bank = await startInProcess(database ? { BANK_DATABASE_URL: database.url } : {});
    });
    after(async () => {
      await bank?.close();
      await dropDatabase();
    });

    it('two people racing to bind one fresh card: exactly one gets it, the other is told it is in another person’s name', async () => {
      const users = [uniqueNo('u'), uniqueNo('u')];
      for (const userNo of users) await openAccount(bank, userNo);
      const contested = newCardNumber();
      const pages = await Promise.all(users.map((userNo) => startBind(bank, userNo)));
      const answers = await Promise.all(pages.map(({ page }) => submit(bank, page, { cardNumber: contested, bankCode: 'ICBC', password: PASSWORD })));
      assert.deepEqual(answers.map((a) => a.status).sort(), [303, 422], answers.map((a) => a.status).join(','));
      const loser = answers.find((a) => a.status === 422)!;
      assert.match(loser.html, /another person’s name/);
      const holders = await Promise.all(users.map(async (userNo) => (await boundCards(bank, userNo)).includes(masked(contested))));
      assert.deepEqual(holders.filter(Boolean).length, 1, 'the card has one holder');
    });

    it('shows one form with exactly the inputs cardNumber, bankCode and password (plus hidden ones), binds the card and notifies SUCCESS', async () => {
      const userNo = uniqueNo('u');
      const { cardNumber: first } = await openAccount(bank, userNo);
      const { page, requestNo } = await startBind(bank, userNo);
      assert.equal(page.status, 200, page.html);
      assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
      const form = parseForm(page.html);
      assert.equal(form.formCount, 1);
      assert.equal(form.method, 'post');
      const inputs = inputsOf(page.html);
      assert.deepEqual(inputs.filter(([, type]) => type !== 'hidden').map(([name]) => name).sort(), ['bankCode', 'cardNumber', 'password']);
      assert.deepEqual(inputs.filter(([, type]) => type === 'hidden').map(([name]) => name).sort(), ['formToken', 'requestNo']);
      assert.deepEqual(inputs.find(([name]) => name === 'password'), ['password', 'password']);
      assert.equal((await queryTransaction(bank, requestNo)).data?.status, 'PENDING');

      const second = newCardNumber();
      const redirect = await submit(bank, page, { cardNumber: second.replace(/(\d{4})/g, '$1 ').trim(), bankCode: 'cmb', password: PASSWORD });
      assert.equal(redirect.status, 303, redirect.html);
      assert.equal(redirect.location, `http://wallet.example/return?from=bank&requestNo=${requestNo}&status=SUCCESS`);
      const n = await deliveredNotification(bank, requestNo);
      assert.equal(n.signatureValid, true);
      assert.equal(n.serviceName, 'BIND_CARD');
      assert.deepEqual(
        [n.result.status, n.result.serviceName, n.result.userNo, n.result.cardNumberMasked, n.result.bankCode, n.result.amount],
        ['SUCCESS', 'BIND_CARD', userNo, masked(second), 'CMB', undefined],
      );
      assert.deepEqual((await boundCards(bank, userNo)).sort(), [masked(first), masked(second)].sort());
      // QUERY_TRANSACTION answers the same signed result; the request is not processed twice.
      const query = await queryTransaction(bank, requestNo);
      assert.equal(query.signatureValid, true);
      assert.deepEqual([query.data?.status, query.data?.cardNumberMasked], ['SUCCESS', masked(second)]);
      assert.equal((await submit(bank, page, { cardNumber: newCardNumber(), bankCode: 'CMB', password: PASSWORD })).status, 409);
      assert.equal((await notificationsOf(bank, requestNo)).length, 1);
    });

    it('refuses a card held in another person’s name and a card already bound to this user, re-showing the form; the request stays open', async () => {
      const owner = uniqueNo('u');
      const { cardNumber: ownersCard } = await openAccount(bank, owner);
      const userNo = uniqueNo('u');
      const { cardNumber: ownCard } = await openAccount(bank, userNo);
      const { page, requestNo } = await startBind(bank, userNo);

      const someoneElses = await submit(bank, page, { cardNumber: ownersCard, bankCode: 'ICBC', password: PASSWORD });
      assert.equal(someoneElses.status, 422);
      assert.match(someoneElses.html, /another person’s name/);
      assert.equal(parseForm(someoneElses.html).fields.password, '', 'a password is never echoed back');
      assert.deepEqual(await boundCards(bank, owner), [masked(ownersCard)], 'the owner keeps the card');

      const twice = await submit(bank, someoneElses, { cardNumber: ownCard, bankCode: 'ICBC', password: PASSWORD });
      assert.equal(twice.status, 422);
      assert.match(twice.html, /already bound to your account/);
      assert.deepEqual(await boundCards(bank, userNo), [masked(ownCard)]);
      assert.equal((await queryTransaction(bank, requestNo)).data?.status, 'PENDING');
      assert.deepEqual(await notificationsOf(bank, requestNo), [], 'nothing decided, nothing notified');

      const invalid = await submit(bank, twice, { cardNumber: '12ab', bankCode: '!', password: PASSWORD });
      assert.equal(invalid.status, 422);
      assert.match(invalid.html, /card number is 12 to 19 digits/);

      const fresh = newCardNumber();
      const ok = await submit(bank, invalid, { cardNumber: fresh, bankCode: 'ICBC', password: PASSWORD });
      assert.equal(ok.status, 303, ok.html);
      assert.equal((await deliveredNotification(bank, requestNo)).result.cardNumberMasked, masked(fresh));
    });

    it('a wrong transaction password binds nothing and counts toward the lockout; the lock FAILs the request with USER_LOCKED', async () => {
      const userNo = uniqueNo('u');
      await openAccount(bank, userNo);
      const cardNumber = newCardNumber();
      const { page, requestNo } = await startBind(bank, userNo);
      const first = await submit(bank, page, { cardNumber, bankCode: 'ICBC', password: 'wrong-1' });
      assert.equal(first.status, 422);
      assert.match(first.html, /Wrong transaction password\. 2 attempts left/);
      assert.equal(parseForm(first.html).fields.cardNumber, cardNumber, 'what was typed is kept (never the password)');
      assert.equal(parseForm(first.html).fields.password, '');
      const second = await submit(bank, first, { password: 'wrong-2' });
      assert.match(second.html, /1 attempt left/);
      const third = await submit(bank, second, { password: 'wrong-3' });
      assert.equal(third.status, 423);
      assert.match(third.html, /locked until/);
      const n = await deliveredNotification(bank, requestNo);
      assert.equal(n.signatureValid, true);
      assert.deepEqual([n.result.status, n.result.errorCode, n.result.cardNumberMasked], ['FAIL', 'USER_LOCKED', undefined]);
      assert.equal((await boundCards(bank, userNo)).length, 1, 'only the card of the account opening');
      assert.equal((await sandbox<{ bound: boolean }>(bank, 'GET', `/sandbox/cards/${cardNumber}`)).body.bound, false);

      // Locked: even the right password on a new request binds nothing.
      const next = await startBind(bank, userNo);
      assert.match(next.page.html, /locked until/);
      const refused = await submit(bank, next.page, { cardNumber, bankCode: 'ICBC', password: PASSWORD });
      assert.equal(refused.status, 423);
      assert.equal((await boundCards(bank, userNo)).length, 1);
      assert.equal((await deliveredNotification(bank, next.requestNo)).result.errorCode, 'USER_LOCKED');
    });

    it('a BIND_CARD for a user without an account FAILs with ACCOUNT_NOT_OPENED', async () => {
      const { page, requestNo } = await startBind(bank, uniqueNo('nobody'));
      assert.equal(page.status, 200);
      assert.match(page.html, /not opened a depository account/);
      const n = await deliveredNotification(bank, requestNo);
      assert.deepEqual([n.result.status, n.result.errorCode], ['FAIL', 'ACCOUNT_NOT_OPENED']);
    });

    it('UNBIND_CARD (signed, server to server) unbinds the user’s card, is idempotent, and refuses a forged signature', async () => {
      const userNo = uniqueNo('u');
      const { cardNumber } = await openAccount(bank, userNo);
      const forged = await unbind(bank, userNo, masked(cardNumber), generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);
      assert.equal(forged.status, 400);
      assert.equal(forged.body.code, 'INVALID_SIGNATURE');
      assert.deepEqual(await boundCards(bank, userNo), [masked(cardNumber)]);

      // Another user cannot unbind it.
      assert.equal((await unbind(bank, uniqueNo('u'), masked(cardNumber))).data?.status, 'NOT_BOUND');
      assert.deepEqual(await boundCards(bank, userNo), [masked(cardNumber)]);

      const done = await unbind(bank, userNo, masked(cardNumber));
      assert.equal(done.status, 200);
      assert.equal(done.signatureValid, true);
      assert.deepEqual([done.data?.status, done.data?.userNo, done.data?.cardNumberMasked], ['UNBOUND', userNo, masked(cardNumber)]);
      assert.deepEqual(await boundCards(bank, userNo), []);
      assert.equal((await unbind(bank, userNo, masked(cardNumber))).data?.status, 'NOT_BOUND', 'a retry is harmless');

      // No longer bound: the bank will not pay out to it, and it can be bound again.
      const { page, requestNo } = await startBind(bank, userNo);
      assert.equal((await submit(bank, page, { cardNumber, bankCode: 'ICBC', password: PASSWORD })).status, 303);
      assert.equal((await deliveredNotification(bank, requestNo)).result.status, 'SUCCESS');
      assert.deepEqual(await boundCards(bank, userNo), [masked(cardNumber)]);
    });
  });
}
