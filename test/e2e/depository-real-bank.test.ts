/**
 * End to end against the REAL bank depository simulator process, over HTTP, on
 * the embedded store and on a PostgreSQL server: open account -> recharge ->
 * withdraw (success and failure) -> add a second card and remove it, the way a browser drives it (Coffer's JSON API,
 * then the bank's hosted forms by their contract field names), with the ledger's
 * invariants green afterwards.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { GatewayRequest } from '../../src/protocol/depository.ts';
import { ensureKeyPair } from '../../src/protocol/depository.ts';
import { atTheBank, newCardNumber, registrationFields } from '../bank-simulator/support.ts';
import { freePort, newMobile, startBankChild, startTestCoffer, tempDataDir, type BankChild, type TestCoffer } from '../browser/support.ts';
import { createServerDatabase, testStoreKinds } from '../support/stores.ts';
import { callJson } from '../support/http.ts';

const PLATFORM_NO = 'coffer-e2e';
const ADMIN_TOKEN = 'e2e-admin-token';
const PASSWORD = 'Coffer-pass-1';
const BANK_PASSWORD = registrationFields('').password!;

for (const { kind, skip } of await testStoreKinds()) {
  describe(`depository end to end with the real bank process (${kind})`, { skip }, () => {
    let bank: BankChild;
    let server: TestCoffer;
    let dropDatabase = async () => {};
    let token = '';
    let userId = '';

    before(async () => {
      const dataDir = tempDataDir();
      ensureKeyPair(path.join(dataDir, 'keys'), 'platform');
      ensureKeyPair(path.join(dataDir, 'bank', 'keys'), 'bank');
      bank = await startBankChild({ DATA_DIR: dataDir, PLATFORM_NO, ADMIN_TOKEN, BANK_NOTIFY_POLL_MS: '50', BANK_NOTIFY_SCALE: '0.001' });
      const database = kind === 'postgres' ? await createServerDatabase() : undefined;
      if (database) dropDatabase = () => database.drop();
      server = await startTestCoffer(
        {
          PORT: String(await freePort()),
          ADMIN_TOKEN,
          PLATFORM_NO,
          BANK_PUBLIC_URL: bank.url,
          BANK_URL: bank.url,
          OUTBOX_POLL_INTERVAL_MS: '25',
          ...(database ? { DATABASE_URL: database.url } : {}),
        },
        undefined,
        dataDir,
      );
      const mobile = newMobile();
      const registered = await api('POST', '/auth/register', { mobile, password: PASSWORD });
      assert.equal(registered.status, 201, 'registered');
      userId = registered.body.userId;
      token = (await api('POST', '/auth/login', { mobile, password: PASSWORD })).body.token;
    });

    after(async () => {
      await server?.close();
      await bank?.stop();
      await dropDatabase();
    });

    function api(method: string, route: string, body?: unknown, bearer = token) {
      return callJson(`${server.coffer.url}${route}`, method, body, bearer);
    }

    async function wallet(): Promise<{ balance: string; available: string; pending: string } | undefined> {
      return (await api('GET', '/my/wallets')).body[0];
    }

    async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const value = await probe();
        if (value !== undefined) return value;
        assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }

    async function recordStatus(kind: 'recharge' | 'withdraw', requestNo: string): Promise<string | undefined> {
      const record = (await api('GET', `/my/${kind}-records?limit=100`)).body.data.find((r: any) => r.requestNo === requestNo);
      return record && record.status !== 'PENDING' ? record.status : undefined;
    }

    const callbackUrl = 'http://localhost/ui/records';
    const card = newCardNumber();

    test('recharging before opening a depository account is refused with ACCOUNT_NOT_OPENED', async () => {
      const reply = await api('POST', '/my/recharge-records', { amount: '10.00', callbackUrl });
      assert.equal(reply.body.code, 'ACCOUNT_NOT_OPENED', JSON.stringify(reply.body));
    });

    test('opening the account at the bank opens the wallet and binds the card', async () => {
      const gateway = (await api('POST', '/my/depository-accounts', { callbackUrl })).body as GatewayRequest;
      assert.equal(gateway.serviceName, 'PERSONAL_REGISTER');
      const back = await atTheBank(gateway, registrationFields(card));
      assert.equal(back.searchParams.get('status'), 'SUCCESS');
      await until('the wallet', async () => ((await api('GET', '/my/cards')).body.length > 0 ? wallet() : undefined));
      assert.equal((await wallet())?.balance, '0.00');
      assert.match(JSON.stringify((await api('GET', '/my/cards')).body), new RegExp(card.slice(-4)));
    });

    test('a recharge confirmed with the transaction password credits the wallet once', async () => {
      const gateway = (await api('POST', '/my/recharge-records', { amount: '100.00', callbackUrl })).body as GatewayRequest;
      const requestNo = JSON.parse(gateway.reqData).requestNo as string;
      await atTheBank(gateway, { password: BANK_PASSWORD });
      assert.equal(await until('the recharge to settle', () => recordStatus('recharge', requestNo)), 'SUCCEEDED');
      await until('the credit', async () => ((await wallet())?.balance === '100.00' ? true : undefined));
    });

    test('a withdrawal holds amount + fee, and the bank\'s success posts it', async () => {
      const gateway = (await api('POST', '/my/withdraw-records', { amount: '30.00', callbackUrl })).body as GatewayRequest;
      const requestNo = JSON.parse(gateway.reqData).requestNo as string;
      const held = await wallet();
      assert.equal(held?.balance, '100.00', 'a hold does not change the balance');
      assert.equal(held?.available, '68.00', 'amount + 2.00 fee held');
      await atTheBank(gateway, { password: BANK_PASSWORD });
      assert.equal(await until('the withdrawal to settle', () => recordStatus('withdraw', requestNo)), 'SUCCEEDED');
      await until('the posting', async () => ((await wallet())?.balance === '68.00' ? true : undefined));
      assert.equal((await wallet())?.available, '68.00');
    });

    test('a withdrawal the bank fails (card declined) releases the hold', async () => {
      const faults = await fetch(`${bank.url}/sandbox/faults`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ declineCard: card }),
      });
      assert.equal(faults.status, 200, await faults.text());
      const gateway = (await api('POST', '/my/withdraw-records', { amount: '10.00', callbackUrl })).body as GatewayRequest;
      const requestNo = JSON.parse(gateway.reqData).requestNo as string;
      assert.equal((await wallet())?.available, '56.00', 'amount + fee held');
      const back = await atTheBank(gateway, { password: BANK_PASSWORD });
      assert.equal(back.searchParams.get('status'), 'FAIL');
      assert.equal(await until('the withdrawal to settle', () => recordStatus('withdraw', requestNo)), 'FAILED');
      await until('the release', async () => ((await wallet())?.available === '68.00' ? true : undefined));
      assert.equal((await wallet())?.balance, '68.00');
    });

    test('a second card added on the bank\'s page can be withdrawn to, cannot be removed while that is pending, then is removed here and at the bank', async () => {
      const second = newCardNumber();
      const gateway = (await api('POST', '/my/cards', { callbackUrl })).body as GatewayRequest;
      assert.equal(gateway.serviceName, 'BIND_CARD', JSON.stringify(gateway));
      const back = await atTheBank(gateway, { cardNumber: second, bankCode: 'CMB', password: BANK_PASSWORD });
      assert.equal(back.searchParams.get('status'), 'SUCCESS');
      const added = await until('the second card', async () => {
        const cards = (await api('GET', '/my/cards')).body as { id: string; cardNumberMasked: string; bankCode: string }[];
        return cards.length === 2 ? cards.find((c) => c.cardNumberMasked.endsWith(second.slice(-4))) : undefined;
      });
      assert.equal(added?.bankCode, 'CMB');
      assert.doesNotMatch(added!.cardNumberMasked, new RegExp(second), 'masked');

      const withdrawal = (await api('POST', '/my/withdraw-records', { amount: '5.00', callbackUrl, cardNumberMasked: added!.cardNumberMasked })).body as GatewayRequest;
      const requestNo = JSON.parse(withdrawal.reqData).requestNo as string;
      const inUse = await api('DELETE', `/my/cards/${added!.id}`);
      assert.deepEqual([inUse.status, inUse.body.code], [409, 'CARD_IN_USE']);
      await atTheBank(withdrawal, { password: BANK_PASSWORD });
      assert.equal(await until('the withdrawal to settle', () => recordStatus('withdraw', requestNo)), 'SUCCEEDED');
      const card2 = await fetch(`${bank.url}/sandbox/cards/${second}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      assert.equal(((await card2.json()) as { balance: string }).balance, '100005.00', 'the bank paid out to the second card');

      assert.equal((await api('DELETE', `/my/cards/${added!.id}`)).status, 204);
      assert.equal((await api('GET', '/my/cards')).body.length, 1);
      const refused = await api('POST', '/my/withdraw-records', { amount: '1.00', callbackUrl, cardNumberMasked: added!.cardNumberMasked });
      assert.equal(refused.status, 400, JSON.stringify(refused.body));
      // The bank hears of it too (UNBIND_CARD through the outbox), so it is free to be bound again.
      await until('the bank to unbind the card', async () => {
        const account = await fetch(`${bank.url}/sandbox/accounts/${encodeURIComponent(userId)}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
        const cards = ((await account.json()) as { cards: string[] }).cards;
        return cards.length === 1 && cards[0]!.endsWith(card.slice(-4)) ? true : undefined;
      });
    });

    test('the books balance afterwards', async () => {
      const report = await api('GET', '/admin/ledger/invariants', undefined, ADMIN_TOKEN);
      assert.equal(report.body.ok, true, JSON.stringify(report.body.checks.filter((c: any) => !c.ok)));
    });
  });
}
