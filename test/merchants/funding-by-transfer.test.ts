/**
 * Funding a merchant by bank transfer (issue 4 item 1) end to end: the REAL
 * bank simulator records a transfer in (sandbox control) and notifies Coffer
 * with its signed TRANSFER_IN; Coffer verifies, credits the named settlement
 * account once per transfer number (or suspense), over real HTTP on both stores.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, afterEach, before, describe, test } from 'node:test';
import { signText } from '../../src/protocol/depository.ts';
import { TRANSFER_IN_NOTIFY_PATH, type TransferInData } from '../../src/protocol/transfer-in.ts';
import { freePort } from '../browser/support.ts';
import { waitFor } from '../bank-simulator/support.ts';
import { testStoreKinds } from '../support/stores.ts';
import { accountBalance, assertInvariants, assertProblem, createBooks, PLATFORM_NO, type Rig, startRig, transfer, unique } from '../payouts/support.ts';

interface BankNotification {
  id: string;
  state: string;
  attempts: { httpStatus: number | null; body: string }[];
}

interface TransferInView {
  transferNo: string;
  status: string;
  merchantId: string | null;
  payeeAccountNo: string;
  accountId: string;
  amount: string;
  currency: string;
  payerName: string;
  postedAt: string | null;
}

async function bank<T>(rig: Rig, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${rig.bankUrl}${path}`, {
    method,
    ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, body: (await response.json()) as T };
}

/** Someone wires money to the platform's bank account naming `payeeAccountNo`. */
async function wire(rig: Rig, payeeAccountNo: string, amount: string, currency = 'CNY'): Promise<string> {
  const made = await bank<{ transferNo: string }>(rig, 'POST', '/sandbox/transfers-in', { payeeAccountNo, amount, currency, payerName: 'Acme Holdings' });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  return made.body.transferNo;
}

function delivered(rig: Rig, transferNo: string): Promise<BankNotification> {
  return waitFor(`the TRANSFER_IN notification of ${transferNo} delivered`, async () => {
    const [n] = (await bank<BankNotification[]>(rig, 'GET', `/sandbox/notifications?requestNo=${transferNo}`)).body;
    return n?.state === 'DELIVERED' ? n : undefined;
  });
}

/** The bank's notification as the bank sends it, signed with `key` (a test playing the bank, or an impostor). */
async function notify(rig: Rig, data: TransferInData, key = rig.bankKeys.privateKey, overrides: Record<string, string> = {}) {
  const reqData = JSON.stringify(data);
  const query = new URLSearchParams({ serviceName: 'TRANSFER_IN', platformNo: PLATFORM_NO, signature: signText(reqData, key), reqData, ...overrides });
  const response = await fetch(`${rig.coffer.url}${TRANSFER_IN_NOTIFY_PATH}?${query.toString()}`);
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // the plain OK
  }
  return { status: response.status, headers: response.headers, body };
}

async function settlementAccount(rig: Rig, merchantId: string): Promise<{ accountId: string; accountNo: string; balance: string }> {
  return rig.admin.ok('POST', `/admin/merchants/${merchantId}/settlement-accounts`, { currency: 'CNY' }, 200);
}

async function transfersIn(rig: Rig, query: string): Promise<TransferInView[]> {
  return (await rig.admin.ok<{ data: TransferInView[] }>('GET', `/admin/transfers-in?${query}`)).data;
}

for (const { kind, skip } of await testStoreKinds()) {
  describe(`funding a merchant by bank transfer (${kind})`, { skip }, () => {
    let rig: Rig;
    let disposeBooks = async () => {};

    before(async () => {
      const books = await createBooks(kind);
      disposeBooks = () => books.dispose();
      const port = await freePort();
      rig = await startRig(
        books,
        { PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` },
        { BANK_TRANSFER_IN_NOTIFY_URL: `http://127.0.0.1:${port}${TRANSFER_IN_NOTIFY_PATH}` },
      );
    });

    after(async () => {
      await rig?.close();
      await disposeBooks();
    });

    afterEach(async () => {
      if (rig) await assertInvariants(rig.admin);
    });

    test('the bank notifies a transfer in: the named settlement account is credited once, however often the notice comes', async () => {
      const { merchant } = await rig.admin.activeMerchant();
      const account = await settlementAccount(rig, merchant.merchantId);
      assert.equal((await settlementAccount(rig, merchant.merchantId)).accountId, account.accountId, 'opening again answers the same account');
      const detail = await rig.admin.ok<{ settlementAccounts: { accountNo: string; currency: string }[] }>('GET', `/admin/merchants/${merchant.merchantId}`);
      assert.deepEqual(detail.settlementAccounts.map((a) => [a.accountNo, a.currency]), [[account.accountNo, 'CNY']], 'the admin view shows the number to wire to');

      await bank(rig, 'POST', '/sandbox/faults', { duplicateNextNotifications: 1 });
      const transferNo = await wire(rig, account.accountNo, '250.00');
      const notification = await delivered(rig, transferNo);
      assert.deepEqual(notification.attempts.map((a) => [a.httpStatus, a.body]), [[200, 'OK'], [200, 'OK']], 'sent twice (the duplicate fault), OK both times');
      const resent = await bank<BankNotification>(rig, 'POST', `/sandbox/notifications/${notification.id}/resend`);
      assert.deepEqual(resent.body.attempts.at(-1), { ...resent.body.attempts.at(-1), httpStatus: 200, body: 'OK' });

      assert.equal(await accountBalance(rig.admin, account.accountId), '250.00', 'credited once');
      const posted = await transfer(rig.admin, `funding:${transferNo}`);
      assert.equal(posted.status, 200);
      assert.deepEqual([posted.body.state, posted.body.amount, posted.body.creditAccountId], ['POSTED', '250.00', account.accountId]);
      const [row, ...more] = await transfersIn(rig, `merchantId=${merchant.merchantId}`);
      assert.deepEqual(more, []);
      assert.deepEqual(
        { ...row!, postedAt: typeof row!.postedAt },
        { ...row!, transferNo, status: 'CREDITED', merchantId: merchant.merchantId, accountId: account.accountId, amount: '250.00', currency: 'CNY', payerName: 'Acme Holdings', postedAt: 'string' },
      );
      const audit = await rig.admin.audit(`?subjectId=${merchant.merchantId}&action=merchant.funding`);
      assert.equal(audit.data.length, 1, 'audited once, like an adjustment');
      assert.deepEqual(audit.data[0]!.principal, { kind: 'bank', id: 'depository' });
    });

    test('a notice not signed by the bank, or for another platform or service, is refused and moves nothing', async () => {
      const { merchant } = await rig.admin.activeMerchant();
      const account = await settlementAccount(rig, merchant.merchantId);
      const data: TransferInData = {
        transferNo: unique('forged').replaceAll('-', ''),
        payeeAccountNo: account.accountNo,
        amount: '1000.00',
        currency: 'CNY',
        payerName: 'Mallory',
        timestamp: new Date().toISOString(),
      };
      const impostor = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
      assertProblem(await notify(rig, data, impostor), 401, 'INVALID_SIGNATURE');
      const signed = JSON.stringify(data);
      assertProblem(await notify(rig, data, rig.bankKeys.privateKey, { reqData: signed.replace('1000.00', '9000.00') }), 401, 'INVALID_SIGNATURE');
      assertProblem(await notify(rig, data, rig.bankKeys.privateKey, { signature: '' }), 401, 'INVALID_SIGNATURE');
      assertProblem(await notify(rig, data, rig.bankKeys.privateKey, { platformNo: 'someone-else' }), 400, 'UNKNOWN_PLATFORM');
      assertProblem(await notify(rig, data, rig.bankKeys.privateKey, { serviceName: 'RECHARGE' }), 400, 'UNKNOWN_SERVICE');
      assertProblem(await notify(rig, { ...data, amount: '10.001' }), 400, 'MALFORMED_NOTIFICATION');

      assert.equal(await accountBalance(rig.admin, account.accountId), '0.00');
      assert.equal((await transfer(rig.admin, `funding:${data.transferNo}`)).status, 404);
      assert.deepEqual(await transfersIn(rig, `merchantId=${merchant.merchantId}`), []);

      // The bank's own notice of the same transfer is then believed; other content under its number is not.
      const ok = await notify(rig, data);
      assert.deepEqual([ok.status, ok.body], [200, 'OK']);
      assertProblem(await notify(rig, { ...data, amount: '2000.00' }), 422, 'NOTIFICATION_MISMATCH');
      assert.equal(await accountBalance(rig.admin, account.accountId), '1000.00');
    });

    test('a transfer naming no settlement account is not lost: it sits in suspense and is listed as UNMATCHED', async () => {
      const { merchant } = await rig.admin.activeMerchant();
      const account = await settlementAccount(rig, merchant.merchantId);
      const nobody = await wire(rig, '99990000111122223333', '75.50');
      const wrongCurrency = await wire(rig, account.accountNo, '12.00', 'USD');
      await delivered(rig, nobody);
      await delivered(rig, wrongCurrency);

      const unmatched = await transfersIn(rig, 'status=UNMATCHED&limit=200');
      const mine = unmatched.filter((t) => t.transferNo === nobody || t.transferNo === wrongCurrency);
      assert.deepEqual(
        mine.map((t) => [t.transferNo, t.merchantId, t.amount, t.currency]).sort(),
        [[nobody, null, '75.50', 'CNY'], [wrongCurrency, null, '12.00', 'USD']].sort(),
      );
      const suspense = await rig.admin.ok<{ type: string; ownerKind: string }>('GET', `/admin/ledger/accounts/${mine.find((t) => t.transferNo === nobody)!.accountId}`);
      assert.deepEqual([suspense.type, suspense.ownerKind], ['SUSPENSE', 'PLATFORM']);
      assert.equal((await transfer(rig.admin, `funding:${nobody}`)).body.amount, '75.50');
      assert.equal(await accountBalance(rig.admin, account.accountId), '0.00', 'the merchant got nothing in another currency');
      assert.equal((await rig.admin.audit(`?subjectId=${nobody}&action=transfer_in.unmatched`)).data.length, 1);
    });

    test('the bank refuses a transfer in it cannot record', async () => {
      for (const body of [
        { payeeAccountNo: '12', amount: '1.00', currency: 'CNY' },
        { payeeAccountNo: '123456789012', amount: '-1.00', currency: 'CNY' },
        { payeeAccountNo: '123456789012', amount: '1.00', currency: 'XXX' },
      ]) {
        const response = await bank<{ code: string }>(rig, 'POST', '/sandbox/transfers-in', body);
        assert.deepEqual([response.status, response.body.code], [400, 'VALIDATION_FAILED'], JSON.stringify(body));
      }
    });
  });
}
