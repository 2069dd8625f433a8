import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  type BankUnderTest,
  cardBalance,
  deliveredNotification,
  newCardNumber,
  notificationsOf,
  openAccount,
  parseForm,
  PASSWORD,
  postForm,
  queryTransaction,
  registrationFields,
  sandbox,
  signedRequest,
  startInProcess,
  startPayment,
  submit,
  uniqueNo,
  virtualBalance,
} from './support.ts';

describe('bank simulator: hosted pages and money movements', () => {
  let bank: BankUnderTest;
  before(async () => {
    bank = await startInProcess();
  });
  after(() => bank.close());

  describe('the platform signature', () => {
    it('refuses a forged, tampered or missing signature and stores nothing', async () => {
      const requestNo = uniqueNo('sig');
      const good = signedRequest(bank, 'PERSONAL_REGISTER', { requestNo, userNo: uniqueNo('u') });
      const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
      const forged = signedRequest({ ...bank, keys: { ...bank.keys, privateKey: stranger } }, 'PERSONAL_REGISTER', { requestNo, userNo: 'u1' });
      const cases = {
        forged,
        tampered: { ...good, reqData: good.reqData.replace(requestNo, `${requestNo}x`) },
        missing: { ...good, signature: '' },
        garbage: { ...good, signature: 'not base64 at all!' },
      };
      for (const [label, form] of Object.entries(cases)) {
        const page = await postForm(`${bank.url}/gateway`, form);
        assert.equal(page.status, 400, label);
        assert.match(page.html, /signature/i, label);
      }
      assert.deepEqual(await notificationsOf(bank, requestNo), []);
      assert.equal((await queryTransaction(bank, requestNo)).data?.status, 'NOT_FOUND');
      // nothing was stored: the genuine request with the same number is still new
      const page = await postForm(`${bank.url}/gateway`, good);
      assert.equal(page.status, 200, page.html);
    });

    it('refuses an unknown platformNo or serviceName', async () => {
      const form = signedRequest(bank, 'RECHARGE', { requestNo: uniqueNo('x'), userNo: 'u', amount: '1.00' });
      assert.equal((await postForm(`${bank.url}/gateway`, { ...form, platformNo: 'someone-else' })).status, 400);
      assert.equal((await postForm(`${bank.url}/gateway`, { ...form, serviceName: 'TRANSFER_ALL' })).status, 400);
    });

    it('refuses amounts that are not decimal strings', async () => {
      for (const amount of ['1e3', '-5.00', '0', '1.001', 'abc']) {
        const { page } = await startPayment(bank, 'RECHARGE', 'nobody', amount);
        assert.equal(page.status, 400, amount);
      }
    });
  });

  describe('account opening', () => {
    it('shows one form with the contract field names, opens the account and notifies SUCCESS with the masked card', async () => {
      const userNo = uniqueNo('u');
      const requestNo = uniqueNo('reg');
      const cardNumber = newCardNumber();
      const page = await postForm(`${bank.url}/gateway`, signedRequest(bank, 'PERSONAL_REGISTER', { requestNo, userNo, mobile: '13900001111' }));
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
      const form = parseForm(page.html);
      for (const name of ['realName', 'idNumber', 'cardNumber', 'bankCode', 'mobile', 'password', 'passwordConfirm']) {
        assert.ok(form.inputNames.includes(name), name);
      }
      assert.equal(form.fields.mobile, '13900001111');
      const redirect = await submit(bank, page, registrationFields(cardNumber));
      assert.equal(redirect.status, 303);
      assert.equal(redirect.location, `http://wallet.example/return?from=bank&requestNo=${requestNo}&status=SUCCESS`);
      const n = await deliveredNotification(bank, requestNo);
      assert.equal(n.signatureValid, true);
      assert.equal(n.serviceName, 'PERSONAL_REGISTER');
      assert.equal(n.result.status, 'SUCCESS');
      assert.equal(n.result.userNo, userNo);
      assert.equal(n.result.bankCode, 'ICBC');
      assert.equal(n.result.cardNumberMasked, `${cardNumber.slice(0, 4)}********${cardNumber.slice(-4)}`);
      assert.equal(await virtualBalance(bank, userNo), '0.00');
    });

    it('re-shows the form with clear errors for a bad ID number, card number or password mismatch', async () => {
      const page = await postForm(`${bank.url}/gateway`, signedRequest(bank, 'PERSONAL_REGISTER', { requestNo: uniqueNo('reg'), userNo: uniqueNo('u') }));
      const again = await submit(bank, page, registrationFields('12ab', { idNumber: '123', passwordConfirm: 'other-password' }));
      assert.equal(again.status, 422);
      assert.match(again.html, /ID number is 18 characters/);
      assert.match(again.html, /card number is 12 to 19 digits/);
      assert.match(again.html, /passwords differ/);
      assert.equal(parseForm(again.html).fields.password, '', 'a password is never echoed back');
      const fixed = await submit(bank, again, registrationFields(newCardNumber()));
      assert.equal(fixed.status, 303);
    });

    it('refuses a card already bound to someone else', async () => {
      const { cardNumber } = await openAccount(bank, uniqueNo('u'));
      const page = await postForm(`${bank.url}/gateway`, signedRequest(bank, 'PERSONAL_REGISTER', { requestNo: uniqueNo('reg'), userNo: uniqueNo('u') }));
      const again = await submit(bank, page, registrationFields(cardNumber));
      assert.equal(again.status, 422);
      assert.match(again.html, /own name/);
    });

    it('escapes what the platform sent and limits where forms may post', async () => {
      const page = await postForm(
        `${bank.url}/gateway`,
        signedRequest(bank, 'PERSONAL_REGISTER', { requestNo: uniqueNo('reg'), userNo: uniqueNo('u'), mobile: '"><script>alert(1)</script>', callbackUrl: 'https://wallet.example:8443/back' }),
      );
      assert.equal(page.status, 200);
      assert.doesNotMatch(page.html, /<script/);
      assert.equal(parseForm(page.html).fields.mobile, '"><script>alert(1)</script>');
      const csp = page.headers.get('content-security-policy') ?? '';
      assert.match(csp, /form-action 'self' https:\/\/wallet\.example:8443;/);
      assert.match(csp, /frame-ancestors 'none'/);
      const css = await fetch(`${bank.url}/assets/bank.css`);
      assert.equal(css.status, 200);
      assert.match(css.headers.get('content-type') ?? '', /text\/css/);
    });

    it('refuses a duplicate requestNo with 409 and never processes it twice', async () => {
      const form = signedRequest(bank, 'PERSONAL_REGISTER', { requestNo: uniqueNo('reg'), userNo: uniqueNo('u') });
      assert.equal((await postForm(`${bank.url}/gateway`, form)).status, 200);
      const second = await postForm(`${bank.url}/gateway`, form);
      assert.equal(second.status, 409);
      assert.match(second.html, /received before/);
    });
  });

  describe('recharge and withdraw', () => {
    it('recharge moves money from the card to the virtual account and notifies SUCCESS', async () => {
      const userNo = uniqueNo('u');
      const { cardNumber } = await openAccount(bank, userNo);
      const { page, requestNo } = await startPayment(bank, 'RECHARGE', userNo, '250.50');
      assert.equal(page.status, 200, page.html);
      assert.deepEqual(parseForm(page.html).inputNames.filter((n) => !['requestNo', 'formToken'].includes(n)), ['password']);
      assert.match(page.html, /250\.50 CNY/);
      const redirect = await submit(bank, page, { password: PASSWORD });
      assert.equal(redirect.status, 303);
      assert.match(redirect.location ?? '', new RegExp(`requestNo=${requestNo}&status=SUCCESS$`));
      assert.equal(await cardBalance(bank, cardNumber), '749.50');
      assert.equal(await virtualBalance(bank, userNo), '250.50');
      const n = await deliveredNotification(bank, requestNo);
      assert.equal(n.signatureValid, true);
      assert.deepEqual([n.result.status, n.result.amount, n.result.serviceName, n.result.userNo], ['SUCCESS', '250.50', 'RECHARGE', userNo]);
      // the same confirm form again moves nothing
      const replay = await submit(bank, page, { password: PASSWORD });
      assert.equal(replay.status, 409);
      assert.equal(await virtualBalance(bank, userNo), '250.50');
    });

    it('wrong passwords count down, then lock the user; nothing moves and the request FAILs', async () => {
      const userNo = uniqueNo('u');
      const { cardNumber } = await openAccount(bank, userNo);
      const { page, requestNo } = await startPayment(bank, 'RECHARGE', userNo, '10.00');
      const first = await submit(bank, page, { password: 'wrong-1' });
      assert.equal(first.status, 422);
      assert.match(first.html, /2 attempts left/);
      const second = await submit(bank, first, { password: 'wrong-2' });
      assert.match(second.html, /1 attempt left/);
      const third = await submit(bank, second, { password: 'wrong-3' });
      assert.equal(third.status, 423);
      assert.match(third.html, /locked until/);
      assert.equal(await cardBalance(bank, cardNumber), '1000.00');
      assert.equal(await virtualBalance(bank, userNo), '0.00');
      const n = await deliveredNotification(bank, requestNo);
      assert.deepEqual([n.result.status, n.result.errorCode], ['FAIL', 'USER_LOCKED']);
      // locked: even the right password moves nothing on a new request
      const next = await startPayment(bank, 'RECHARGE', userNo, '10.00');
      assert.match(next.page.html, /locked until/);
      const refused = await submit(bank, next.page, { password: PASSWORD });
      assert.equal(refused.status, 423);
      assert.equal(await virtualBalance(bank, userNo), '0.00');
      // the way back to the platform reports FAIL
      const back = await submit(bank, refused, {});
      assert.equal(back.status, 303);
      assert.match(back.location ?? '', /status=FAIL$/);
    });

    it('refuses a request past its expiresAt and stores nothing', async () => {
      const userNo = uniqueNo('u');
      await openAccount(bank, userNo);
      const { page, requestNo } = await startPayment(bank, 'RECHARGE', userNo, '10.00', { expiresAt: new Date(Date.now() - 1000).toISOString() });
      assert.equal(page.status, 400, page.html);
      assert.match(page.html, /expired/i);
      assert.equal((await queryTransaction(bank, requestNo)).data?.status, 'NOT_FOUND', 'the bank never had it');
      const badTime = await startPayment(bank, 'RECHARGE', userNo, '10.00', { expiresAt: 'tomorrow' });
      assert.equal(badTime.page.status, 400);
    });

    it('a request that expires while waiting for the password FAILs with REQUEST_EXPIRED, on confirm or on query, and moves nothing', async () => {
      const userNo = uniqueNo('u');
      const { cardNumber } = await openAccount(bank, userNo);
      const soon = () => new Date(Date.now() + 400).toISOString();
      const confirmed = await startPayment(bank, 'RECHARGE', userNo, '10.00', { expiresAt: soon() });
      const queried = await startPayment(bank, 'RECHARGE', userNo, '20.00', { expiresAt: soon() });
      assert.equal(confirmed.page.status, 200, confirmed.page.html);
      assert.equal((await queryTransaction(bank, queried.requestNo)).data?.status, 'PENDING');
      await new Promise((resolve) => setTimeout(resolve, 500));

      const redirect = await submit(bank, confirmed.page, { password: PASSWORD });
      assert.equal(redirect.status, 303, redirect.html);
      assert.match(redirect.location ?? '', new RegExp(`requestNo=${confirmed.requestNo}&status=FAIL$`));
      const answer = await queryTransaction(bank, queried.requestNo);
      assert.deepEqual([answer.signatureValid, answer.data?.status, answer.data?.errorCode], [true, 'FAIL', 'REQUEST_EXPIRED']);
      for (const requestNo of [confirmed.requestNo, queried.requestNo]) {
        const n = await deliveredNotification(bank, requestNo);
        assert.deepEqual([n.signatureValid, n.result.status, n.result.errorCode], [true, 'FAIL', 'REQUEST_EXPIRED']);
      }
      assert.equal(await cardBalance(bank, cardNumber), '1000.00');
      assert.equal(await virtualBalance(bank, userNo), '0.00');
    });

    it('insufficient card balance FAILs with INSUFFICIENT_CARD_BALANCE', async () => {
      const userNo = uniqueNo('u');
      const { cardNumber } = await openAccount(bank, userNo);
      const { page, requestNo } = await startPayment(bank, 'RECHARGE', userNo, '1000.01');
      const redirect = await submit(bank, page, { password: PASSWORD });
      assert.match(redirect.location ?? '', /status=FAIL$/);
      const n = await deliveredNotification(bank, requestNo);
      assert.deepEqual([n.result.status, n.result.errorCode, n.signatureValid], ['FAIL', 'INSUFFICIENT_CARD_BALANCE', true]);
      assert.equal(await cardBalance(bank, cardNumber), '1000.00');
      assert.equal(await virtualBalance(bank, userNo), '0.00');
    });

    it('a declined card FAILs with CARD_DECLINED, and top-up raises a card balance', async () => {
      const userNo = uniqueNo('u');
      const { cardNumber } = await openAccount(bank, userNo);
      const topUp = await sandbox<{ cardNumber: string; balance: string }>(bank, 'POST', `/sandbox/cards/${cardNumber}/top-up`, { amount: '500.25' });
      assert.deepEqual([topUp.status, topUp.body.cardNumber, topUp.body.balance], [200, cardNumber, '1500.25']);
      const faults = await sandbox<{ declinedCards: string[] }>(bank, 'POST', '/sandbox/faults', { declineCard: cardNumber });
      assert.ok(faults.body.declinedCards.includes(cardNumber));
      const { page, requestNo } = await startPayment(bank, 'RECHARGE', userNo, '5.00');
      await submit(bank, page, { password: PASSWORD });
      const n = await deliveredNotification(bank, requestNo);
      assert.deepEqual([n.result.status, n.result.errorCode], ['FAIL', 'CARD_DECLINED']);
      assert.equal(await cardBalance(bank, cardNumber), '1500.25');
      await sandbox(bank, 'POST', '/sandbox/faults', { allowCard: cardNumber });
    });

    it('every unseen card number is a sandbox card with the demo balance', async () => {
      const cardNumber = newCardNumber();
      assert.equal(await cardBalance(bank, cardNumber), '1000.00');
      const topUp = await sandbox<{ balance: string }>(bank, 'POST', `/sandbox/cards/${cardNumber}/top-up`, { amount: '0.01' });
      assert.deepEqual([topUp.status, topUp.body.balance], [200, '1000.01']);
      assert.equal((await sandbox(bank, 'POST', `/sandbox/cards/${cardNumber}/top-up`, { amount: 5 })).status, 400);
      assert.equal((await sandbox(bank, 'GET', '/sandbox/cards/12x')).status, 400);
    });

    it('withdraw moves money from the virtual account to the card, less the fee', async () => {
      const userNo = uniqueNo('u');
      const { cardNumber } = await openAccount(bank, userNo);
      const recharge = await startPayment(bank, 'RECHARGE', userNo, '300.00');
      await submit(bank, recharge.page, { password: PASSWORD });
      const { page, requestNo } = await startPayment(bank, 'WITHDRAW', userNo, '100.00', { fee: '2.00' });
      assert.match(page.html, /98\.00 CNY/);
      const redirect = await submit(bank, page, { password: PASSWORD });
      assert.match(redirect.location ?? '', /status=SUCCESS$/);
      assert.equal(await virtualBalance(bank, userNo), '200.00');
      assert.equal(await cardBalance(bank, cardNumber), '798.00');
      const n = await deliveredNotification(bank, requestNo);
      assert.deepEqual([n.result.status, n.result.serviceName, n.result.amount], ['SUCCESS', 'WITHDRAW', '100.00']);
    });

    it('withdrawing more than the virtual balance FAILs with INSUFFICIENT_BALANCE', async () => {
      const userNo = uniqueNo('u');
      const { cardNumber } = await openAccount(bank, userNo);
      const { page, requestNo } = await startPayment(bank, 'WITHDRAW', userNo, '1.00');
      await submit(bank, page, { password: PASSWORD });
      const n = await deliveredNotification(bank, requestNo);
      assert.deepEqual([n.result.status, n.result.errorCode], ['FAIL', 'INSUFFICIENT_BALANCE']);
      assert.equal(await cardBalance(bank, cardNumber), '1000.00');
    });

    it('a recharge for a user without an account FAILs with ACCOUNT_NOT_OPENED', async () => {
      const { page, requestNo } = await startPayment(bank, 'RECHARGE', uniqueNo('nobody'), '1.00');
      assert.equal(page.status, 200);
      assert.match(page.html, /not opened/);
      const n = await deliveredNotification(bank, requestNo);
      assert.deepEqual([n.result.status, n.result.errorCode], ['FAIL', 'ACCOUNT_NOT_OPENED']);
    });
  });

  describe('QUERY_TRANSACTION', () => {
    it('answers signed PENDING, SUCCESS and NOT_FOUND', async () => {
      const userNo = uniqueNo('u');
      await openAccount(bank, userNo);
      const { page, requestNo } = await startPayment(bank, 'RECHARGE', userNo, '20.00');
      const pending = await queryTransaction(bank, requestNo);
      assert.deepEqual([pending.status, pending.signatureValid, pending.data?.status], [200, true, 'PENDING']);
      await submit(bank, page, { password: PASSWORD });
      const done = await queryTransaction(bank, requestNo);
      assert.deepEqual([done.signatureValid, done.data?.status, done.data?.amount, done.data?.requestNo], [true, 'SUCCESS', '20.00', requestNo]);
      const missing = await queryTransaction(bank, uniqueNo('none'));
      assert.deepEqual([missing.signatureValid, missing.data?.status], [true, 'NOT_FOUND']);
    });

    it('refuses a query with a wrong signature', async () => {
      const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
      const answer = await queryTransaction(bank, 'anything', stranger);
      assert.equal(answer.status, 400);
      assert.equal((answer.body as unknown as { code: string }).code, 'INVALID_SIGNATURE');
    });
  });
});
