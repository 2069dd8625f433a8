/**
 * The ledger's admin API over real HTTP, on the embedded store and on a
 * PostgreSQL server: what an operator or automation sees when it drives
 * /admin/ledger/... with fetch.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RunningCoffer } from '../../src/main.ts';
import { testStoreKinds } from '../support/stores.ts';
import {
  type AccountView,
  AdminClient,
  assertBooksBalance,
  assertProblem,
  createBooks,
  type EntryView,
  INVARIANT_NAMES,
  sleep,
  startServer,
  type TestBooks,
  type TransferView,
  unique,
} from './support.ts';

const storeKinds = await testStoreKinds();

for (const { kind, skip } of storeKinds) {
  describe(`ledger admin API over HTTP (${kind} store)`, { skip }, () => {
    let books: TestBooks;
    let coffer: RunningCoffer;
    let api: AdminClient;

    before(async () => {
      books = await createBooks(kind);
      coffer = await startServer(books, { LEDGER_PENDING_EXPIRY_INTERVAL_MS: '200' });
      api = new AdminClient(coffer.url);
    });

    after(async () => {
      await coffer?.close();
      await books?.dispose();
    });

    /** A platform funding account (may go negative) and a user wallet holding `amount`. */
    async function fundedWallet(amount: string, currency = 'CNY') {
      const funding = await api.openAccount('PLATFORM', 'PLATFORM_FUNDING', currency);
      const wallet = await api.openAccount('USER', 'WALLET', currency);
      if (amount !== '0.00' && amount !== '0') await api.move(funding.id, wallet.id, amount, currency, { code: 'recharge' });
      return { funding, wallet };
    }

    /** What a user could see of some accounts: balances, status and their whole bill. */
    async function snapshot(ids: string[]) {
      return Promise.all(
        ids.map(async (id) => {
          return { account: await api.account(id), entries: await api.allEntries(id) };
        }),
      );
    }

    test('opens accounts and shows them back with balances as decimal strings', async () => {
      const ownerId = unique('user');
      const created = await api.post<AccountView>('/admin/ledger/accounts', { ownerKind: 'USER', ownerId, type: 'WALLET', currency: 'CNY' });
      assert.equal(created.status, 201);
      const wallet = created.body;
      assert.match(wallet.id, /^acc_/);
      const today = new Date().toISOString().slice(0, 10).replaceAll('-', '');
      assert.match(wallet.accountNo, new RegExp(`^${today}\\d{10}$`), 'account number is the date and random digits');
      assert.deepEqual(
        { ...wallet, id: undefined, accountNo: undefined, createdAt: undefined, updatedAt: undefined },
        {
          id: undefined,
          accountNo: undefined,
          createdAt: undefined,
          updatedAt: undefined,
          ownerKind: 'USER',
          ownerId,
          type: 'WALLET',
          currency: 'CNY',
          status: 'ACTIVE',
          noOverdraft: true,
          balance: '0.00',
          available: '0.00',
          pendingDebits: '0.00',
          pendingCredits: '0.00',
        },
      );
      assert.ok(!Number.isNaN(Date.parse(wallet.createdAt)) && wallet.createdAt.endsWith('Z'), 'times are ISO-8601 UTC');
      assert.deepEqual(await api.account(wallet.id), wallet);

      const funding = await api.openAccount('PLATFORM', 'PLATFORM_FUNDING', 'CNY');
      assert.equal(funding.noOverdraft, false, 'platform accounts may go below zero');
      assert.equal(funding.balance, '0.00');
      assert.deepEqual(await api.account(funding.id), funding);

      const yen = await api.openAccount('USER', 'WALLET', 'JPY', ownerId);
      assert.equal(yen.currency, 'JPY');
      assert.equal(yen.balance, '0', 'JPY has no minor unit');
      assert.equal(yen.available, '0');
      assert.notEqual(yen.id, wallet.id, 'one account per owner, type and currency');

      const duplicate = await api.post('/admin/ledger/accounts', { ownerKind: 'USER', ownerId, type: 'WALLET', currency: 'CNY' });
      assertProblem(duplicate, 409, 'ACCOUNT_ALREADY_EXISTS');

      assertProblem(await api.get('/admin/ledger/accounts/acc_nope'), 404, 'ACCOUNT_NOT_FOUND');
      assertProblem(
        await api.post('/admin/ledger/accounts', { ownerKind: 'USER', ownerId, type: 'WALLET', currency: 'XYZ' }),
        400,
        'UNSUPPORTED_CURRENCY',
      );
    });

    test('a transfer moves money, shows in balances and the bill, and is idempotent by its id', async () => {
      const funding = await api.openAccount('PLATFORM', 'PLATFORM_FUNDING', 'CNY');
      const wallet = await api.openAccount('USER', 'WALLET', 'CNY');
      const body = {
        id: unique('recharge'),
        debitAccountId: funding.id,
        creditAccountId: wallet.id,
        amount: '100.50',
        currency: 'CNY',
        code: 'recharge',
        reference: 'order-42',
        metadata: { channel: 'card', attempt: 1 },
      };
      const first = await api.transfer(body);
      assert.equal(first.status, 201, JSON.stringify(first.body));
      const transfer = first.body;
      assert.equal(transfer.id, body.id);
      assert.equal(transfer.kind, 'POSTED');
      assert.equal(transfer.state, 'POSTED');
      assert.equal(transfer.amount, '100.50');
      assert.equal(transfer.debitAccountId, funding.id);
      assert.equal(transfer.creditAccountId, wallet.id);
      assert.equal(transfer.reference, 'order-42');
      assert.deepEqual(transfer.metadata, { channel: 'card', attempt: 1 });

      const credited = await api.account(wallet.id);
      assert.equal(credited.balance, '100.50');
      assert.equal(credited.available, '100.50');
      assert.equal((await api.account(funding.id)).balance, '-100.50');

      const bill = await api.entries(wallet.id);
      assert.equal(bill.hasMore, false);
      assert.deepEqual(
        bill.data.map(({ seq: _seq, createdAt: _createdAt, ...rest }) => rest),
        [{ transferId: body.id, direction: 'CREDIT', amount: '100.50', balanceBefore: '0.00', balanceAfter: '100.50', code: 'recharge', currency: 'CNY' }],
      );
      const fundingBill = await api.entries(funding.id);
      assert.deepEqual(
        fundingBill.data.map((e) => [e.direction, e.balanceBefore, e.balanceAfter]),
        [['DEBIT', '0.00', '-100.50']],
      );

      // The same request again: the first result, and nothing moves.
      const replay = await api.transfer(body);
      assert.equal(replay.status, 201);
      assert.deepEqual(replay.body, transfer);
      assert.equal((await api.account(wallet.id)).balance, '100.50');
      assert.equal((await api.entries(wallet.id)).data.length, 1);
      assert.deepEqual((await api.getTransfer(body.id)).body, transfer);

      // A hold's timeout is part of its content too.
      const hold = { ...body, id: unique('hold'), amount: '1.00', pending: { timeoutSeconds: 600 } };
      const held = await api.ok<TransferView>('/admin/ledger/transfers', hold);
      assert.deepEqual(await api.ok<TransferView>('/admin/ledger/transfers', hold), held);
      assertProblem(await api.transfer({ ...hold, pending: { timeoutSeconds: 60 } }), 409, 'TRANSFER_ID_CONFLICT');
      assertProblem(await api.transfer({ ...hold, pending: {} }), 409, 'TRANSFER_ID_CONFLICT');
      assertProblem(await api.transfer({ ...hold, pending: undefined }), 409, 'TRANSFER_ID_CONFLICT');
      await api.ok(`/admin/ledger/transfers/${hold.id}/void`, { id: unique('void') });

      // The same id with other content is a conflict, and still nothing moves.
      assertProblem(await api.transfer({ ...body, amount: '100.51' }), 409, 'TRANSFER_ID_CONFLICT');
      assertProblem(await api.transfer({ ...body, reference: 'order-43' }), 409, 'TRANSFER_ID_CONFLICT');
      assert.equal((await api.account(wallet.id)).balance, '100.50');
      assert.equal((await api.account(funding.id)).balance, '-100.50');

      // A second movement chains on the first in the bill, newest first.
      await api.move(wallet.id, funding.id, '0.50', 'CNY', { code: 'withdraw' });
      const chained = await api.entries(wallet.id);
      assert.deepEqual(
        chained.data.map((e) => [e.direction, e.amount, e.balanceBefore, e.balanceAfter, e.code]),
        [
          ['DEBIT', '0.50', '100.50', '100.00', 'withdraw'],
          ['CREDIT', '100.50', '0.00', '100.50', 'recharge'],
        ],
      );
      assert.equal((await api.account(wallet.id)).balance, '100.00');
      await assertBooksBalance(api);
    });

    test('refuses bad input, each with its own code, and changes nothing', async () => {
      const { funding, wallet } = await fundedWallet('100.50');
      const dollars = await api.openAccount('PLATFORM', 'FEE_INCOME', 'USD');
      const yen = await fundedWallet('1500', 'JPY');
      const watched = [funding.id, wallet.id, dollars.id, yen.funding.id, yen.wallet.id];
      const initial = await snapshot(watched);
      assert.equal(initial[1]!.account.balance, '100.50');
      assert.equal(initial[4]!.account.balance, '1500');

      const valid = () => ({
        id: unique('bad'),
        debitAccountId: wallet.id,
        creditAccountId: funding.id,
        amount: '10.00',
        currency: 'CNY',
        code: 'withdraw',
      });
      const yenValid = () => ({ ...valid(), debitAccountId: yen.wallet.id, creditAccountId: yen.funding.id, amount: '100', currency: 'JPY' });
      const noToken = api.withToken(null);
      const wrongToken = api.withToken(`${api.token}x`);

      const cases: { name: string; client?: AdminClient; body: Record<string, unknown>; status: number; code: string; path?: string }[] = [
        { name: 'three decimals in CNY', body: { ...valid(), amount: '1.001' }, status: 400, code: 'INVALID_AMOUNT' },
        { name: 'decimals in JPY', body: { ...yenValid(), amount: '1.5' }, status: 400, code: 'INVALID_AMOUNT' },
        { name: 'a negative amount', body: { ...valid(), amount: '-1' }, status: 400, code: 'INVALID_AMOUNT' },
        { name: 'zero', body: { ...valid(), amount: '0' }, status: 400, code: 'INVALID_AMOUNT' },
        { name: 'an exponent', body: { ...valid(), amount: '1e3' }, status: 400, code: 'INVALID_AMOUNT' },
        { name: 'a JSON number', body: { ...valid(), amount: 100.5 }, status: 400, code: 'VALIDATION_FAILED', path: '/body/amount' },
        { name: 'an unknown account', body: { ...valid(), creditAccountId: 'acc_00000000000000000000000000' }, status: 404, code: 'ACCOUNT_NOT_FOUND' },
        { name: 'accounts in another currency', body: { ...valid(), creditAccountId: dollars.id }, status: 422, code: 'CURRENCY_MISMATCH' },
        { name: 'a transfer currency the accounts do not hold', body: { ...valid(), amount: '10', currency: 'JPY' }, status: 422, code: 'CURRENCY_MISMATCH' },
        { name: 'an unsupported currency', body: { ...valid(), currency: 'XYZ' }, status: 400, code: 'UNSUPPORTED_CURRENCY' },
        { name: 'more than the wallet holds', body: { ...valid(), amount: '100.51' }, status: 409, code: 'INSUFFICIENT_FUNDS' },
        { name: 'more yen than the wallet holds', body: { ...yenValid(), amount: '1501' }, status: 409, code: 'INSUFFICIENT_FUNDS' },
        { name: 'a transfer to itself', body: { ...valid(), creditAccountId: wallet.id }, status: 422, code: 'SAME_ACCOUNT' },
        { name: 'an unknown field', body: { ...valid(), memo: 'hi' }, status: 400, code: 'VALIDATION_FAILED', path: '/body/memo' },
        { name: 'an unknown code', body: { ...valid(), code: 'gift' }, status: 400, code: 'VALIDATION_FAILED', path: '/body/code' },
        { name: 'a NUL in the reference', body: { ...valid(), reference: 'order\u0000-1' }, status: 400, code: 'VALIDATION_FAILED', path: '/body/reference' },
        { name: 'an unpaired surrogate in metadata', body: { ...valid(), metadata: { note: 'caf\ud800' } }, status: 400, code: 'VALIDATION_FAILED', path: '/body/metadata/note' },
        { name: 'a NUL in an account id', body: { ...valid(), creditAccountId: `${funding.id}\u0000` }, status: 400, code: 'VALIDATION_FAILED', path: '/body/creditAccountId' },
        { name: 'no admin token', client: noToken, body: valid(), status: 401, code: 'UNAUTHORIZED' },
        { name: 'a wrong admin token', client: wrongToken, body: valid(), status: 401, code: 'UNAUTHORIZED' },
      ];

      for (const c of cases) {
        const response = await (c.client ?? api).transfer(c.body);
        const problem = assertProblem(response, c.status, c.code);
        if (c.path) {
          assert.ok(problem.errors?.some((e) => e.path === c.path), `${c.name}: the problem names ${c.path}: ${JSON.stringify(problem.errors)}`);
        }
        assertProblem(await api.getTransfer(String(c.body.id)), 404, 'TRANSFER_NOT_FOUND');
        assert.deepEqual(await snapshot(watched), initial, `${c.name}: no balance or entry changed`);
      }
      await assertBooksBalance(api);

      // The bodies refused for their credentials alone are good ones: with the token they go through.
      const good = cases.find((c) => c.name === 'no admin token')!.body;
      const accepted = await api.transfer(good);
      assert.equal(accepted.status, 201, JSON.stringify(accepted.body));
      assert.equal((await api.account(wallet.id)).balance, '90.50');
      // Ids in the path that the router or the database cannot take are problems too, not crashes.
      for (const path of ['/admin/ledger/accounts/%00', '/admin/ledger/transfers/%00', '/admin/ledger/accounts/%ED%A0%80', `/admin/ledger/transfers/${'x'.repeat(200)}`]) {
        const response = await api.get(path);
        assert.ok(response.status === 400, `${path}: ${response.status} ${JSON.stringify(response.body)}`);
        assertProblem(response, 400, (response.body as { code: string }).code);
        assert.match((response.body as { code: string }).code, /^(VALIDATION_FAILED|MALFORMED_REQUEST)$/);
      }

      const yenGood = await api.transfer(yenValid());
      assert.equal(yenGood.status, 201, JSON.stringify(yenGood.body));
      assert.equal(yenGood.body.amount, '100');
      assert.equal((await api.account(yen.wallet.id)).balance, '1400');
    });

    test('two-phase: a hold lowers the available balance only, and is posted in part or voided', async () => {
      const { wallet } = await fundedWallet('100.00');
      const clearing = await api.openAccount('PLATFORM', 'PAYOUT_CLEARING', 'CNY');
      const hold = (amount: string, pending: Record<string, unknown> = {}) =>
        api.ok<TransferView>('/admin/ledger/transfers', {
          id: unique('hold'),
          debitAccountId: wallet.id,
          creditAccountId: clearing.id,
          amount,
          currency: 'CNY',
          code: 'withdraw',
          pending,
        });

      const held = await hold('30.00');
      assert.equal(held.kind, 'PENDING');
      assert.equal(held.state, 'PENDING');
      assert.equal(held.timeoutAt, null);
      let account = await api.account(wallet.id);
      assert.deepEqual([account.balance, account.available, account.pendingDebits], ['100.00', '70.00', '30.00']);
      assert.equal((await api.account(clearing.id)).pendingCredits, '30.00');
      assert.equal((await api.entries(wallet.id)).data.length, 1, 'a hold writes no entry');

      // More than is available is refused while the hold stands.
      assertProblem(
        await api.transfer({ id: unique('t'), debitAccountId: wallet.id, creditAccountId: clearing.id, amount: '70.01', currency: 'CNY', code: 'withdraw' }),
        409,
        'INSUFFICIENT_FUNDS',
      );
      assertProblem(
        await api.post(`/admin/ledger/transfers/${held.id}/post`, { id: unique('post'), amount: '30.01' }),
        422,
        'POST_EXCEEDS_PENDING',
      );

      const postBody = { id: unique('post'), amount: '20.00' };
      const posted = await api.ok<TransferView>(`/admin/ledger/transfers/${held.id}/post`, postBody);
      assert.equal(posted.kind, 'POST_PENDING');
      assert.equal(posted.pendingId, held.id);
      assert.equal(posted.amount, '20.00');
      account = await api.account(wallet.id);
      assert.deepEqual([account.balance, account.available, account.pendingDebits], ['80.00', '80.00', '0.00'], 'the other 10.00 is released');
      const clearingAfter = await api.account(clearing.id);
      assert.deepEqual([clearingAfter.balance, clearingAfter.pendingCredits], ['20.00', '0.00']);
      const original = (await api.getTransfer(held.id)).body;
      assert.equal(original.state, 'POSTED');
      assert.equal(original.postedAmount, '20.00');
      const [newest] = (await api.entries(wallet.id)).data;
      assert.deepEqual([newest!.transferId, newest!.direction, newest!.balanceBefore, newest!.balanceAfter], [posted.id, 'DEBIT', '100.00', '80.00']);

      // Retrying the same post is safe; posting again under a new id is refused.
      assert.deepEqual(await api.ok<TransferView>(`/admin/ledger/transfers/${held.id}/post`, postBody), posted);
      assertProblem(await api.post(`/admin/ledger/transfers/${held.id}/post`, { id: unique('post') }), 409, 'PENDING_TRANSFER_ALREADY_FINAL');
      assertProblem(await api.post(`/admin/ledger/transfers/${held.id}/void`, { id: unique('void') }), 409, 'PENDING_TRANSFER_ALREADY_FINAL');
      assert.equal((await api.account(wallet.id)).balance, '80.00');

      const second = await hold('25.00');
      assert.equal((await api.account(wallet.id)).available, '55.00');
      const voided = await api.ok<TransferView>(`/admin/ledger/transfers/${second.id}/void`, { id: unique('void') });
      assert.equal(voided.kind, 'VOID_PENDING');
      assert.equal((await api.getTransfer(second.id)).body.state, 'VOIDED');
      account = await api.account(wallet.id);
      assert.deepEqual([account.balance, account.available, account.pendingDebits], ['80.00', '80.00', '0.00']);
      assertProblem(await api.post(`/admin/ledger/transfers/${second.id}/post`, { id: unique('post') }), 409, 'PENDING_TRANSFER_ALREADY_FINAL');
      assertProblem(await api.post(`/admin/ledger/transfers/nope-${unique('x')}/post`, { id: unique('post') }), 404, 'PENDING_TRANSFER_NOT_FOUND');
      assert.equal((await api.entries(wallet.id)).data.length, 2, 'only the recharge and the posted part wrote entries');
      await assertBooksBalance(api);
    });

    test('a hold with a timeout voids itself and frees the funds', async () => {
      const { wallet, funding } = await fundedWallet('10.00');
      const started = Date.now();
      const held = await api.ok<TransferView>('/admin/ledger/transfers', {
        id: unique('expiring'),
        debitAccountId: wallet.id,
        creditAccountId: funding.id,
        amount: '4.00',
        currency: 'CNY',
        code: 'withdraw',
        pending: { timeoutSeconds: 1 },
      });
      assert.ok(held.timeoutAt, 'the hold carries its timeout');
      const timeoutAt = Date.parse(held.timeoutAt);
      assert.ok(Math.abs(timeoutAt - Date.parse(held.createdAt) - 1000) < 5, 'timeout is one second after creation');
      assert.equal((await api.account(wallet.id)).available, '6.00');
      if (Date.now() < timeoutAt - 300) assert.equal((await api.getTransfer(held.id)).body.state, 'PENDING', 'not expired early');

      let state = 'PENDING';
      while (state === 'PENDING' && Date.now() - started < 5000) {
        await sleep(100);
        state = (await api.getTransfer(held.id)).body.state;
      }
      assert.equal(state, 'EXPIRED');
      assert.ok(Date.now() >= timeoutAt, 'expired no earlier than its timeout');
      const account = await api.account(wallet.id);
      assert.deepEqual([account.balance, account.available, account.pendingDebits], ['10.00', '10.00', '0.00']);
      assertProblem(await api.post(`/admin/ledger/transfers/${held.id}/post`, { id: unique('post') }), 409, 'PENDING_TRANSFER_EXPIRED');
      await assertBooksBalance(api);
    });

    test('linked transfers happen all together or not at all', async () => {
      const { wallet } = await fundedWallet('50.00');
      const merchant = await api.openAccount('MERCHANT', 'MERCHANT_SETTLEMENT', 'CNY');
      const fees = await api.openAccount('PLATFORM', 'FEE_INCOME', 'CNY');
      const pair = (payout: string, fee: string) => [
        { id: unique('payout'), debitAccountId: wallet.id, creditAccountId: merchant.id, amount: payout, currency: 'CNY', code: 'payout' },
        { id: unique('fee'), debitAccountId: wallet.id, creditAccountId: fees.id, amount: fee, currency: 'CNY', code: 'fee' },
      ];

      const tooMuch = pair('40.00', '20.00');
      const refused = await api.post('/admin/ledger/linked-transfers', { transfers: tooMuch });
      const problem = assertProblem(refused, 409, 'INSUFFICIENT_FUNDS');
      assert.equal(problem.failedTransferId, tooMuch[1]!.id, 'the problem names the transfer that failed');
      for (const t of tooMuch) assertProblem(await api.getTransfer(t.id), 404, 'TRANSFER_NOT_FOUND');
      assert.equal((await api.account(wallet.id)).balance, '50.00');
      assert.equal((await api.account(merchant.id)).balance, '0.00', 'the first transfer was not applied either');
      assert.equal((await api.entries(merchant.id)).data.length, 0);

      const fits = pair('40.00', '10.00');
      const done = await api.ok<TransferView[]>('/admin/ledger/linked-transfers', { transfers: fits });
      assert.deepEqual(done.map((t) => t.id), fits.map((t) => t.id));
      assert.ok(done.every((t) => t.linkedId === fits[0]!.id), 'both carry the group id');
      assert.deepEqual(
        await Promise.all([wallet.id, merchant.id, fees.id].map(async (id) => (await api.account(id)).balance)),
        ['0.00', '40.00', '10.00'],
      );
      // The group again is a replay.
      assert.deepEqual(await api.ok<TransferView[]>('/admin/ledger/linked-transfers', { transfers: fits }), done);
      assert.equal((await api.account(merchant.id)).balance, '40.00');
      await assertBooksBalance(api);
    });

    test('a frozen wallet cannot be debited but can be credited', async () => {
      const { wallet, funding } = await fundedWallet('50.00');
      const frozen = await api.ok<AccountView>(`/admin/ledger/accounts/${wallet.id}/freeze`, {}, 200);
      assert.equal(frozen.status, 'FROZEN');
      assert.equal((await api.account(wallet.id)).status, 'FROZEN');

      const debit = { id: unique('t'), debitAccountId: wallet.id, creditAccountId: funding.id, amount: '1.00', currency: 'CNY', code: 'withdraw' };
      assertProblem(await api.transfer(debit), 409, 'ACCOUNT_FROZEN');
      assertProblem(await api.transfer({ ...debit, id: unique('hold'), pending: {} }), 409, 'ACCOUNT_FROZEN');
      assertProblem(await api.getTransfer(debit.id), 404, 'TRANSFER_NOT_FOUND');
      assert.equal((await api.account(wallet.id)).balance, '50.00');

      await api.move(funding.id, wallet.id, '10.00', 'CNY', { code: 'recharge' });
      assert.equal((await api.account(wallet.id)).balance, '60.00');

      const thawed = await api.ok<AccountView>(`/admin/ledger/accounts/${wallet.id}/unfreeze`, {}, 200);
      assert.equal(thawed.status, 'ACTIVE');
      const accepted = await api.transfer(debit);
      assert.equal(accepted.status, 201, JSON.stringify(accepted.body));
      assert.equal((await api.account(wallet.id)).balance, '59.00');
      assertProblem(await api.post('/admin/ledger/accounts/acc_nope/freeze', {}), 404, 'ACCOUNT_NOT_FOUND');
      await assertBooksBalance(api);
    });

    test('entries page newest first, each exactly once, and filter by time', async () => {
      const funding = await api.openAccount('PLATFORM', 'PLATFORM_FUNDING', 'CNY');
      const wallet = await api.openAccount('USER', 'WALLET', 'CNY');
      const made: string[] = [];
      for (let i = 1; i <= 4; i++) {
        made.push((await api.move(funding.id, wallet.id, `${i}.00`)).id);
        await sleep(5);
      }
      await sleep(30);
      for (let i = 1; i <= 3; i++) {
        made.push((await api.move(wallet.id, funding.id, `0.${i}0`)).id);
        await sleep(5);
      }

      const walked: EntryView[] = [];
      const pages: number[] = [];
      let startingAfter: string | undefined;
      for (let guard = 0; guard < 20; guard++) {
        const page = await api.entries(wallet.id, { limit: 2, ...(startingAfter ? { startingAfter } : {}) });
        walked.push(...page.data);
        pages.push(page.data.length);
        if (!page.hasMore) break;
        startingAfter = page.data.at(-1)!.seq;
      }
      assert.deepEqual(pages, [2, 2, 2, 1]);
      assert.deepEqual(walked.map((e) => e.transferId), [...made].reverse(), 'newest first, each once');
      assert.deepEqual(walked.map((e) => e.seq), ['7', '6', '5', '4', '3', '2', '1']);
      assert.deepEqual(walked.map((e) => e.balanceAfter), ['9.40', '9.70', '9.90', '10.00', '6.00', '3.00', '1.00']);
      for (let i = 0; i < walked.length - 1; i++) {
        assert.equal(walked[i]!.balanceBefore, walked[i + 1]!.balanceAfter, 'each entry starts where the previous ended');
        assert.ok(walked[i]!.createdAt > walked[i + 1]!.createdAt, 'each entry was written at its own time');
      }
      assert.deepEqual((await api.entries(wallet.id, { limit: 5, startingAfter: '1' })).data, []);

      // Time filters: `from` is inclusive, `to` exclusive.
      const boundary = walked[2]!.createdAt; // the oldest debit
      assert.ok(walked[3]!.createdAt < boundary, 'the two groups were written at different times');
      const fromBoundary = await api.entries(wallet.id, { from: boundary });
      assert.deepEqual(fromBoundary.data.map((e) => e.seq), ['7', '6', '5']);
      const toBoundary = await api.entries(wallet.id, { to: boundary });
      assert.deepEqual(toBoundary.data.map((e) => e.seq), ['4', '3', '2', '1']);
      const window = await api.entries(wallet.id, { from: walked[5]!.createdAt, to: boundary, limit: 2 });
      assert.deepEqual(window.data.map((e) => e.seq), ['4', '3']);
      assert.equal(window.hasMore, true);
      const rest = await api.entries(wallet.id, { from: walked[5]!.createdAt, to: boundary, limit: 2, startingAfter: '3' });
      assert.deepEqual(rest.data.map((e) => e.seq), ['2']);
      assert.equal(rest.hasMore, false);

      assertProblem(await api.get(`/admin/ledger/accounts/${wallet.id}/entries?from=yesterday`), 400, 'VALIDATION_FAILED');
      assertProblem(await api.get(`/admin/ledger/accounts/${wallet.id}/entries?limit=0`), 400, 'VALIDATION_FAILED');
      assertProblem(await api.get('/admin/ledger/accounts/acc_nope/entries'), 404, 'ACCOUNT_NOT_FOUND');
    });

    test('the invariants endpoint checks every invariant and is admin-only', async () => {
      const response = await api.get<{ ok: boolean; checkedAt: string; checks: { name: string; ok: boolean; description: string; violations: unknown[] }[] }>(
        '/admin/ledger/invariants',
      );
      assert.equal(response.status, 200);
      assert.equal(response.body.ok, true);
      assert.deepEqual(response.body.checks.map((c) => c.name), INVARIANT_NAMES);
      for (const check of response.body.checks) {
        assert.equal(check.ok, true, check.name);
        assert.deepEqual(check.violations, []);
        assert.ok(check.description.length > 10);
      }
      assert.ok(Math.abs(Date.parse(response.body.checkedAt) - Date.now()) < 60_000);
      assertProblem(await api.withToken(null).get('/admin/ledger/invariants'), 401, 'UNAUTHORIZED');
    });

    test('200 concurrent transfers, with duplicates and overdrafts, move exactly what their answers say', async () => {
      const funding = await api.openAccount('PLATFORM', 'PLATFORM_FUNDING', 'CNY');
      const rich = await api.openAccount('USER', 'WALLET', 'CNY');
      const poor = await api.openAccount('USER', 'WALLET', 'CNY');
      const payee = await api.openAccount('MERCHANT', 'MERCHANT_SETTLEMENT', 'CNY');
      await api.move(funding.id, rich.id, '1000.00');
      await api.move(funding.id, poor.id, '100.00');

      const body = (id: string, from: string, amount: string) => ({ id, debitAccountId: from, creditAccountId: payee.id, amount, currency: 'CNY', code: 'payout' });
      type Body = ReturnType<typeof body>;
      const requests: Body[] = [];
      // 50 affordable transfers from `rich` (287.50 in all), each sent twice.
      for (let i = 0; i < 50; i++) {
        const b = body(`rich-${unique('c')}`, rich.id, `${(i % 10) + 1}.25`);
        requests.push(b, { ...b });
      }
      // 80 transfers of 5.00 from `poor`, which holds 100.00: only 20 can succeed; 20 are sent twice.
      for (let i = 0; i < 80; i++) {
        const b = body(`poor-${unique('c')}`, poor.id, '5.00');
        requests.push(b);
        if (i < 20) requests.push({ ...b });
      }
      assert.equal(requests.length, 200);
      // A fixed shuffle, so duplicates race each other and the overdrafts race the payments.
      for (let i = requests.length - 1; i > 0; i--) {
        const j = (i * 7919 + 13) % (i + 1);
        [requests[i], requests[j]] = [requests[j]!, requests[i]!];
      }

      const answers = await Promise.all(requests.map(async (b) => ({ body: b, response: await api.transfer(b) })));

      const byId = new Map<string, { body: Body; responses: typeof answers[number]['response'][] }>();
      for (const { body: b, response } of answers) {
        assert.ok(
          response.status === 201 || (response.status === 409 && response.body.code === 'INSUFFICIENT_FUNDS'),
          `unexpected answer ${response.status}: ${JSON.stringify(response.body)}`,
        );
        const seen = byId.get(b.id) ?? { body: b, responses: [] };
        seen.responses.push(response);
        byId.set(b.id, seen);
      }
      const succeeded: Body[] = [];
      for (const { body: b, responses } of byId.values()) {
        const statuses = responses.map((r) => r.status);
        assert.ok(statuses.every((s) => s === statuses[0]), `every attempt of ${b.id} got the same answer: ${statuses.join(', ')}`);
        if (statuses[0] !== 201) continue;
        for (const r of responses) assert.deepEqual(r.body, responses[0]!.body, 'a duplicate returns the first result');
        assert.equal(responses[0]!.body.amount, b.amount);
        succeeded.push(b);
      }

      const minor = (amount: string) => BigInt(amount.replace('.', ''));
      const format = (m: bigint) => `${m < 0n ? '-' : ''}${(m < 0n ? -m : m).toString().padStart(3, '0').replace(/(\d{2})$/, '.$1')}`;
      const sent = (from: string) => succeeded.filter((b) => b.debitAccountId === from).reduce((sum, b) => sum + minor(b.amount), 0n);

      const richSucceeded = succeeded.filter((b) => b.debitAccountId === rich.id);
      const poorSucceeded = succeeded.filter((b) => b.debitAccountId === poor.id);
      assert.equal(richSucceeded.length, 50, 'every affordable transfer went through');
      assert.equal(sent(rich.id), 28_750n);
      assert.equal(poorSucceeded.length, 20, 'exactly as many 5.00 payments as 100.00 covers');

      const [richNow, poorNow, payeeNow] = await Promise.all([rich.id, poor.id, payee.id].map((id) => api.account(id)));
      assert.equal(richNow!.balance, format(100_000n - sent(rich.id)));
      assert.equal(richNow!.balance, '712.50');
      assert.equal(poorNow!.balance, format(10_000n - sent(poor.id)));
      assert.equal(poorNow!.balance, '0.00');
      assert.equal(payeeNow!.balance, format(sent(rich.id) + sent(poor.id)));
      assert.equal(payeeNow!.balance, '387.50');

      // Each successful id is in the bill exactly once; no failed id is.
      const payeeBill = await api.allEntries(payee.id);
      assert.deepEqual(payeeBill.map((e) => e.transferId).sort(), succeeded.map((b) => b.id).sort());
      const richBill = await api.allEntries(rich.id);
      assert.equal(richBill.length, 51);
      assert.equal(new Set(richBill.map((e) => e.transferId)).size, 51);
      await assertBooksBalance(api);
    });

    test('/openapi.json describes every /admin/ledger path', async () => {
      const response = await fetch(`${coffer.url}/openapi.json`);
      assert.equal(response.status, 200);
      const spec = (await response.json()) as { paths: Record<string, Record<string, { security?: unknown }>> };
      const ledgerPaths = Object.fromEntries(
        Object.entries(spec.paths)
          .filter(([p]) => p.startsWith('/admin/ledger/'))
          .map(([p, methods]) => [p, Object.keys(methods).sort()]),
      );
      assert.deepEqual(ledgerPaths, {
        '/admin/ledger/accounts': ['post'],
        '/admin/ledger/accounts/{id}': ['get'],
        '/admin/ledger/accounts/{id}/freeze': ['post'],
        '/admin/ledger/accounts/{id}/unfreeze': ['post'],
        '/admin/ledger/accounts/{id}/entries': ['get'],
        '/admin/ledger/transfers': ['post'],
        '/admin/ledger/linked-transfers': ['post'],
        '/admin/ledger/transfers/{id}/post': ['post'],
        '/admin/ledger/transfers/{id}/void': ['post'],
        '/admin/ledger/transfers/{id}': ['get'],
        '/admin/ledger/invariants': ['get'],
        '/admin/ledger/chain': ['get'],
      });
      assert.deepEqual(spec.paths['/admin/ledger/transfers']!.post!.security, [{ adminToken: [] }]);
    });
  });
}
