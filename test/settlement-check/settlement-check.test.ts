/**
 * The three-way settlement check end to end, against the REAL bank simulator
 * process, on the embedded store and on a PostgreSQL server: real recharges,
 * withdrawals (one declined), payouts (paid, failed, reversed) and a card
 * payment by quick pay make a clean day; a withdrawal whose notification the
 * bank holds is in flight (PENDING, not a break) until Coffer hears it; then one
 * tampered row per break type (Coffer's records and ledger in its database) is
 * found exactly, in the admin API, the CSV, an admin alert and a metric; a
 * re-run gives the same breaks. The bank refuses an unsigned statement request.
 */
import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import type { GatewayRequest } from '../../src/protocol/depository.ts';
import { ensureKeyPair, signText } from '../../src/protocol/depository.ts';
import { atTheBank, luhnCardNumber, newCardNumber, registrationFields, waitFor } from '../bank-simulator/support.ts';
import { freePort, newMobile, startBankChild, startTestCoffer, tempDataDir, type BankChild, type TestCoffer } from '../browser/support.ts';
import { MerchantClient } from '../merchants/support.ts';
import { createServerDatabase, testStoreKinds } from '../support/stores.ts';
import { callJson } from '../support/http.ts';

const PLATFORM_NO = 'coffer-settle';
const ADMIN_TOKEN = 'settlement-admin-token';
const PASSWORD = 'Coffer-pass-1';
const BANK_PASSWORD = registrationFields('').password!;
const CALLBACK = 'http://localhost/ui/records';

interface Finding {
  type: string;
  kind: string;
  businessId: string;
  odd: string | null;
  ledger: string;
  records: string;
  bank: string;
}

interface Day {
  run: { date: string; status: string; items: number; matched: number; pending: number; breaks: number; runs: number };
  breaks: Finding[];
  pending: Finding[];
}

for (const { kind, skip } of await testStoreKinds()) {
  describe(`three-way settlement check against the real bank process (${kind})`, { skip }, () => {
    let bank: BankChild;
    let server: TestCoffer;
    let dropDatabase = async () => {};
    let token = '';
    let date = '';
    const card = newCardNumber();
    const ids = { recharges: [] as string[], withdraws: [] as string[], payouts: [] as string[], attemptNo: '', inFlight: '' };

    before(async () => {
      const dataDir = tempDataDir();
      ensureKeyPair(path.join(dataDir, 'keys'), 'platform');
      ensureKeyPair(path.join(dataDir, 'bank', 'keys'), 'bank');
      bank = await startBankChild({
        DATA_DIR: dataDir,
        PLATFORM_NO,
        ADMIN_TOKEN,
        BANK_NOTIFY_POLL_MS: '50',
        BANK_NOTIFY_SCALE: '0.001',
        BANK_PAYOUT_DELAY_MS: '50',
        BANK_PAYOUT_REVERSAL_MS: '400',
        BANK_PAYOUT_POLL_MS: '20',
      });
      const database = kind === 'postgres' ? await createServerDatabase() : undefined;
      if (database) dropDatabase = () => database.drop();
      const port = await freePort();
      server = await startTestCoffer(
        {
          PORT: String(port),
          PUBLIC_URL: `http://127.0.0.1:${port}`,
          ADMIN_TOKEN,
          PLATFORM_NO,
          BANK_PUBLIC_URL: bank.url,
          BANK_URL: bank.url,
          OUTBOX_POLL_INTERVAL_MS: '25',
          PAYOUT_JOB_INTERVAL_MS: '50',
          PAYMENT_JOB_INTERVAL_MS: '100',
          SETTLEMENT_CHECK_INTERVAL_MS: '1000',
          ...(database ? { DATABASE_URL: database.url } : {}),
        },
        undefined,
        dataDir,
      );
      const mobile = newMobile();
      assert.equal((await api('POST', '/auth/register', { mobile, password: PASSWORD })).status, 201);
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
    const admin = (method: string, route: string, body?: unknown) => api(method, route, body, ADMIN_TOKEN);

    async function runCheck(day: string, key = randomUUID()): Promise<{ status: number; body: Day }> {
      const response = await fetch(`${server.coffer.url}/admin/settlement-checks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify({ date: day }),
      });
      return { status: response.status, body: (await response.json()) as Day };
    }

    async function bankSandbox(route: string, body?: unknown) {
      const response = await fetch(`${bank.url}${route}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      assert.equal(response.status, 200, await response.clone().text());
      return response.json();
    }

    async function finalRecord(kind: 'recharge' | 'withdraw', requestNo: string): Promise<string | undefined> {
      const record = (await api('GET', `/my/${kind}-records?limit=100`)).body.data.find((r: { requestNo: string }) => r.requestNo === requestNo);
      return record && record.status !== 'PENDING' ? record.status : undefined;
    }

    async function wallet(): Promise<{ balance: string; available: string }> {
      return (await api('GET', '/my/wallets')).body[0];
    }

    /** A recharge or withdrawal confirmed on the bank's page; answers its request number once Coffer settled it. */
    async function atBank(kind: 'recharge' | 'withdraw', amount: string, expected = 'SUCCEEDED'): Promise<string> {
      const created = await api('POST', `/my/${kind}-records`, { amount, callbackUrl: CALLBACK });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const gateway = created.body as GatewayRequest;
      const requestNo = JSON.parse(gateway.reqData).requestNo as string;
      await atTheBank(gateway, { password: BANK_PASSWORD });
      assert.equal(await waitFor(`${kind} ${requestNo}`, () => finalRecord(kind, requestNo)), expected);
      return requestNo;
    }

    test('real recharges, withdrawals, payouts and a card payment make a clean day: every item matched, no break', async () => {
      const opened = (await api('POST', '/my/depository-accounts', { callbackUrl: CALLBACK })).body as GatewayRequest;
      await atTheBank(opened, registrationFields(card));
      // The opening's card is written in the transaction that marks the account OPENED (the wallet comes before it).
      await waitFor('the account opened', async () => ((await api('GET', '/my/cards')).body.length > 0 ? true : undefined));

      for (const amount of ['100.00', '50.00', '20.00']) ids.recharges.push(await atBank('recharge', amount));
      await waitFor('the credits', async () => ((await wallet()).balance === '170.00' ? true : undefined));
      ids.withdraws.push(await atBank('withdraw', '30.00'));
      await bankSandbox('/sandbox/faults', { declineCard: card });
      ids.withdraws.push(await atBank('withdraw', '10.00', 'FAILED'));
      await bankSandbox('/sandbox/faults', { allowCard: card });
      await waitFor('the withdrawals in the ledger', async () => ((await wallet()).available === '138.00' ? true : undefined));

      // Payouts: one paid, one the bank fails (ACCOUNT_CLOSED), one paid and then returned.
      const merchant = (await admin('POST', '/admin/merchants', { name: 'Settle Ltd', products: ['PAYOUT_SINGLE'] })).body;
      assert.equal((await admin('POST', `/admin/merchants/${merchant.merchantId}/activate`)).status, 200);
      assert.equal((await admin('POST', `/admin/merchants/${merchant.merchantId}/adjustments`, { amount: '1000.00', currency: 'CNY', reason: 'test' })).status, 201);
      const key = (await admin('POST', `/admin/merchants/${merchant.merchantId}/api-keys`, {})).body;
      const client = new MerchantClient(server.coffer.url, key.keyId, key.secret);
      for (const [accountNo, status] of [['6222000011111111', 'SUCCEEDED'], ['6222000011110002', 'FAILED'], ['6222000011110003', 'REVERSED']] as const) {
        const body = { merchantOrderNo: `o-${randomUUID()}`, amount: '25.00', currency: 'CNY', beneficiary: { name: 'Li Lei', accountNo, bankCode: 'ICBC' } };
        const accepted = await client.request<{ id: string }>('POST', '/v1/payouts', { body: JSON.stringify(body) });
        assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
        ids.payouts.push(accepted.body.id);
        await waitFor(`payout ${status}`, async () => ((await client.request<{ status: string }>('GET', `/v1/payouts/${accepted.body.id}`)).body.status === status ? true : undefined));
      }

      // A card payment: a savings product bought by quick pay (the channel texts its code).
      const product = await admin('POST', '/admin/products', {
        code: `S${Date.now().toString(36).toUpperCase()}`,
        name: 'Settle 30',
        currency: 'CNY',
        annualRate: '3.65',
        termDays: 30,
        minAmount: '100.00',
        stepAmount: '100.00',
        totalAmount: '10000.00',
        dayCount: 'ACT/365',
      });
      assert.equal(product.status, 201, JSON.stringify(product.body));
      assert.equal((await admin('POST', `/admin/products/${product.body.id}/shelf`, { onShelf: true })).status, 200);
      const mobile = `139${String(randomInt(0, 1e8)).padStart(8, '0')}`;
      const paymentCard = await api('POST', '/my/payment-cards', { cardNumber: luhnCardNumber(), holderName: 'Li Lei', mobile, bankCode: 'ICBC' });
      assert.equal(paymentCard.status, 201, JSON.stringify(paymentCard.body));
      const order = await api('POST', '/my/subscriptions', { productId: product.body.id, amount: '300.00', payWith: 'CARD' });
      assert.equal(order.status, 201, JSON.stringify(order.body));
      const payOrderNo = order.body.payOrderNo as string;
      assert.equal((await api('POST', `/my/payments/${payOrderNo}/sms`, { cardId: paymentCard.body.id })).status, 200);
      const texted = await waitFor('the channel SMS', async () => ((await bankSandbox(`/sandbox/channel-sms?mobile=${mobile}`)) as { code: string; attemptNo: string }[])[0]);
      ids.attemptNo = texted.attemptNo;
      const paid = await api('POST', `/my/payments/${payOrderNo}/confirm`, { smsCode: texted.code });
      assert.equal(paid.body.status, 'SUCCESS', JSON.stringify(paid.body));

      date = new Date().toISOString().slice(0, 10);
      const clean = await runCheck(date);
      assert.equal(clean.status, 200, JSON.stringify(clean.body));
      assert.deepEqual(clean.body.breaks, [], 'no break on a clean day');
      assert.deepEqual(clean.body.pending, [], 'nothing in flight');
      assert.deepEqual(
        [clean.body.run.status, clean.body.run.items, clean.body.run.matched],
        ['CLEAN', 9, 9],
        '3 recharges + 2 withdrawals + 3 payouts + 1 channel debit, each matched',
      );
      const csv = await fetch(`${server.coffer.url}/admin/settlement-checks/${date}.csv`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      assert.equal(csv.status, 200);
      assert.match(csv.headers.get('content-type') ?? '', /^text\/csv/);
      assert.equal(await csv.text(), 'date,type,kind,businessId,oddSource,ledger,records,bank,detail\r\n', 'a clean day: the header line only');
    });

    test('the daily job checks yesterday by itself, once; a day another run holds is refused with SETTLEMENT_CHECK_RUNNING', async () => {
      const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
      const run = await waitFor('the job to check yesterday', async () =>
        ((await admin('GET', '/admin/settlement-checks')).body.data as Day['run'][]).find((r) => r.date === yesterday && r.status !== 'RUNNING'),
      );
      assert.deepEqual([run.status, run.items, run.runs], ['CLEAN', 0, 1], 'a day before any traffic: nothing to compare');
      await new Promise((r) => setTimeout(r, 2500)); // two more ticks of the job
      assert.equal(((await admin('GET', `/admin/settlement-checks/${yesterday}`)).body as Day).run.runs, 1, 'checked once, not on every tick');

      const held = '2026-01-01';
      await sql`
        insert into settlement_check_runs (date, status, started_at, lease_token, lease_until)
        values (${held}, 'RUNNING', now(), 'another-process', now() + interval '1 hour')`.execute(server.coffer.store.db);
      const refused = await runCheck(held);
      assert.equal(refused.status, 409);
      assert.equal((refused.body as unknown as { code: string }).code, 'SETTLEMENT_CHECK_RUNNING');
    });

    test('a withdrawal the bank finished but has not told Coffer of is PENDING, not a break, and matches once Coffer hears it', async () => {
      await bankSandbox('/sandbox/faults', { holdNotifications: true });
      const created = await api('POST', '/my/withdraw-records', { amount: '5.00', callbackUrl: CALLBACK });
      const gateway = created.body as GatewayRequest;
      ids.inFlight = JSON.parse(gateway.reqData).requestNo as string;
      await atTheBank(gateway, { password: BANK_PASSWORD });

      const inFlight = await runCheck(date);
      assert.equal(inFlight.status, 200, JSON.stringify(inFlight.body));
      assert.deepEqual(inFlight.body.breaks, [], 'in flight at the cut-off is no break');
      assert.deepEqual(
        inFlight.body.pending.map((p) => [p.kind, p.businessId, p.records, p.bank]),
        [['DEPOSITORY', ids.inFlight, 'PENDING 7.00 CNY', 'SUCCEEDED 7.00 CNY']],
        'amount + fee, as the bank moves it',
      );
      assert.equal(inFlight.body.run.status, 'PENDING');

      await bankSandbox('/sandbox/faults', { holdNotifications: false });
      await waitFor('the held withdrawal to settle', () => finalRecord('withdraw', ids.inFlight));
      await waitFor('the withdrawal posted', async () => ((await wallet()).balance === '131.00' ? true : undefined));
      const heard = await runCheck(date);
      assert.deepEqual([heard.body.run.status, heard.body.run.items, heard.body.run.pending, heard.body.breaks.length], ['CLEAN', 10, 0, 0]);
    });

    test('one tampered row per break type is found exactly, in the API, the CSV, an alert and a metric; a re-run is the same', async () => {
      const db = server.coffer.store.db;
      const [r1, r2, r3] = ids.recharges as [string, string, string];
      const [paidPayout] = ids.payouts as [string];
      // Coffer lost a record (the bank and the ledger still have it).
      await sql`delete from depository_transactions where request_no = ${r1}`.execute(db);
      // Coffer's record says another amount.
      await sql`update depository_transactions set amount_minor = amount_minor + 1 where request_no = ${r2}`.execute(db);
      // The ledger has nothing under the business reference.
      await sql`update ledger_transfers set reference = ${`moved-${r3}`} where id = ${`recharge:${r3}`}`.execute(db);
      // Coffer's record names another currency.
      await sql`update payouts set currency = 'USD' where id = ${paidPayout}`.execute(db);
      // Coffer's channel attempt says FAILED; the channel and the ledger say it paid.
      await sql`update payment_attempts set status = 'FAILED' where attempt_no = ${ids.attemptNo}`.execute(db);
      // A recharge Coffer and its ledger have but the bank never saw (its id would be a formula in a spreadsheet).
      const ghost = `=HYPERLINK("x")${randomInt(0, 1e9)}`;
      const real = (await admin('GET', `/admin/ledger/transfers/${encodeURIComponent(`recharge:${r2}`)}`)).body;
      const posted = await admin('POST', '/admin/ledger/transfers', {
        id: `ghost-${randomUUID()}`,
        debitAccountId: real.debitAccountId,
        creditAccountId: real.creditAccountId,
        amount: '7.00',
        currency: 'CNY',
        code: 'recharge',
        reference: ghost,
      });
      assert.equal(posted.status, 201, JSON.stringify(posted.body));
      await sql`
        insert into depository_transactions (request_no, service_name, user_no, amount_minor, currency, status, synced, request_data,
          next_query_at, created_at, updated_at, settled_at)
        values (${ghost}, 'RECHARGE', 'u', 700, 'CNY', 'SUCCEEDED', true, '{}', now(), now(), now(), now())`.execute(db);

      // Past the grace period: what is still apart is broken, not late.
      assert.equal((await admin('POST', '/sandbox/clock/advance', { days: 1 })).status, 200);
      const broken = await runCheck(date);
      assert.equal(broken.status, 200, JSON.stringify(broken.body));
      const found = broken.body.breaks.map((b) => [b.type, b.kind, b.businessId, b.odd]).sort();
      assert.deepEqual(
        found,
        [
          ['AMOUNT_MISMATCH', 'DEPOSITORY', r2, 'records'],
          ['CURRENCY_MISMATCH', 'PAYOUT', paidPayout, 'records'],
          ['MISSING_AT_BANK', 'DEPOSITORY', ghost, 'bank'],
          ['MISSING_IN_LEDGER', 'DEPOSITORY', r3, 'ledger'],
          ['MISSING_IN_RECORDS', 'DEPOSITORY', r1, 'records'],
          ['STATUS_MISMATCH', 'CHANNEL_DEBIT', ids.attemptNo, 'records'],
        ].sort(),
      );
      const amount = broken.body.breaks.find((b) => b.type === 'AMOUNT_MISMATCH')!;
      assert.deepEqual([amount.ledger, amount.records, amount.bank], ['SUCCEEDED 50.00 CNY', 'SUCCEEDED 50.01 CNY', 'SUCCEEDED 50.00 CNY']);
      const status = broken.body.breaks.find((b) => b.type === 'STATUS_MISMATCH')!;
      assert.deepEqual([status.ledger, status.records, status.bank], ['SUCCEEDED 300.00 CNY', 'FAILED 300.00 CNY', 'SUCCEEDED 300.00 CNY']);
      assert.deepEqual([broken.body.run.status, broken.body.run.breaks, broken.body.run.items], ['BROKEN', 6, 11]);

      const csvResponse = await fetch(`${server.coffer.url}/admin/settlement-checks/${date}.csv`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      const lines = (await csvResponse.text()).trimEnd().split('\r\n');
      assert.equal(lines[0], 'date,type,kind,businessId,oddSource,ledger,records,bank,detail');
      assert.equal(lines.length, 7, 'a header and one line per break');
      assert.ok(lines.includes(`${date},AMOUNT_MISMATCH,DEPOSITORY,${r2},records,SUCCEEDED 50.00 CNY,SUCCEEDED 50.01 CNY,SUCCEEDED 50.00 CNY,The sources disagree about the amount.`), lines.join('\n'));
      const ghostLine = lines.find((l) => l.includes('MISSING_AT_BANK'))!;
      assert.ok(ghostLine.startsWith(`${date},MISSING_AT_BANK,DEPOSITORY,"'=HYPERLINK(""x"")`), `the formula is defused: ${ghostLine}`);

      const alerts = (await admin('GET', '/admin/alerts?open=true')).body.data as { source: string; key: string; message: string }[];
      assert.ok(alerts.some((a) => a.source === 'settlement-check' && a.key === date && /6 breaks/.test(a.message)), JSON.stringify(alerts));
      const metrics = await (await fetch(`${server.coffer.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text();
      assert.match(metrics, /coffer_settlement_check_breaks_found_total\{type="MISSING_AT_BANK"\} [1-9]/);
      assert.match(metrics, /coffer_settlement_check_last_run_breaks 6/);

      // Re-running the day finds the same breaks and keeps one set of them.
      const again = await runCheck(date);
      assert.deepEqual(again.body.breaks, broken.body.breaks);
      assert.equal(again.body.run.runs, broken.body.run.runs + 1);
      // The same Idempotency-Key answers the first response again without running.
      const key = randomUUID();
      const first = await runCheck(date, key);
      const replay = await runCheck(date, key);
      assert.deepEqual(replay.body, first.body);
      const listed = (await admin('GET', '/admin/settlement-checks')).body.data as Day['run'][];
      assert.deepEqual(listed.find((r) => r.date === date)?.runs, first.body.run.runs, 'the replay did not run again');
      assert.equal((await admin('GET', `/admin/settlement-checks/${date}`)).body.breaks.length, 6);
    });

    test('the bank refuses an unsigned or forged statement request, and a date Coffer has not reached is refused', async () => {
      const reqData = JSON.stringify({ date, timestamp: new Date().toISOString() });
      const unsigned = await fetch(`${bank.url}/statements/${date}?${new URLSearchParams({ platformNo: PLATFORM_NO, reqData })}`);
      assert.equal(unsigned.status, 400);
      assert.equal(((await unsigned.json()) as { code: string }).code, 'INVALID_SIGNATURE');
      const stranger = ensureKeyPair(path.join(tempDataDir(), 'keys'), 'platform');
      const forged = await fetch(`${bank.url}/statements/${date}?${new URLSearchParams({ platformNo: PLATFORM_NO, reqData, signature: signText(reqData, stranger.privateKey) })}`);
      assert.equal(forged.status, 400);
      const future = await runCheck('2999-01-01');
      assert.equal(future.status, 422);
      assert.equal((future.body as unknown as { code: string }).code, 'SETTLEMENT_CHECK_DAY_NOT_STARTED');
      const malformed = await runCheck('2026-02-30');
      assert.equal(malformed.status, 400);
    });
  });
}
