/**
 * The ledger's behaviour, proved through its public service on both stores
 * (the embedded one and a PostgreSQL server). Every test opens its own
 * accounts, so tests share a store without depending on each other; every
 * refusal is checked to have changed nothing.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { openTestStore, testStoreKinds } from '../../../test/support/stores.ts';
import type { Clock } from '../../platform/clock.ts';
import { DomainError, type ErrorCode } from '../../platform/errors.ts';
import { type CurrencyCode, MAX_AMOUNT_MINOR } from '../../platform/money/index.ts';
import {
  type Account,
  type AccountType,
  balancesOf,
  type Entry,
  formatReport,
  type InvariantReport,
  LedgerService,
  PLATFORM_OWNER_ID,
  type Transfer,
  type TransferRequest,
} from './index.ts';

type TestStore = Awaited<ReturnType<typeof openTestStore>>;

/** A business clock the test moves by hand (timeouts, entry dates). */
class ManualClock implements Clock {
  constructor(private ms: number) {}
  now(): Date {
    return new Date(this.ms);
  }
  advance(ms: number): Date {
    this.ms += ms;
    return this.now();
  }
}

let counter = 0;
function uniq(prefix: string): string {
  return `${prefix}-${++counter}-${randomBytes(4).toString('hex')}`;
}

/** Awaits a call that must fail with a DomainError of this code; returns the error. */
async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<DomainError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught !== undefined, `expected ${code}, but the call succeeded`);
  assert.ok(caught instanceof DomainError, `expected DomainError ${code}, got ${(caught as Error)?.stack ?? String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

function assertInvariantsHold(report: InvariantReport): void {
  assert.ok(report.ok, formatReport(report));
}

function failingChecks(report: InvariantReport): string[] {
  return report.checks.filter((c) => !c.ok).map((c) => c.name).sort();
}

/** Arranges books through the public service; reads raw counts only to prove that nothing moved. */
class Books {
  constructor(
    readonly store: TestStore,
    readonly clock: ManualClock,
    readonly ledger: LedgerService,
  ) {}

  user(currency: CurrencyCode = 'CNY', type: AccountType = 'WALLET'): Promise<Account> {
    return this.ledger.openAccount({ ownerKind: 'USER', ownerId: uniq('user'), type, currency });
  }

  /** A platform-owned account of its own (platformAccount() is shared by every test). */
  platform(currency: CurrencyCode = 'CNY', type: AccountType = 'PLATFORM_FUNDING'): Promise<Account> {
    return this.ledger.openAccount({ ownerKind: 'PLATFORM', ownerId: uniq('platform'), type, currency });
  }

  /** A user account holding `amountMinor`, funded from a platform account of its own. */
  async funded(amountMinor: bigint, currency: CurrencyCode = 'CNY'): Promise<Account> {
    const source = await this.platform(currency);
    const user = await this.user(currency);
    if (amountMinor > 0n) await this.move(source, user, amountMinor, { code: 'recharge' });
    return this.ledger.getAccount(user.id);
  }

  request(from: Account, to: Account, amountMinor: bigint, extra: Partial<TransferRequest> = {}): TransferRequest {
    return { id: uniq('tr'), debitAccountId: from.id, creditAccountId: to.id, amountMinor, currency: from.currency, code: 'transfer', ...extra };
  }

  move(from: Account, to: Account, amountMinor: bigint, extra: Partial<TransferRequest> = {}): Promise<Transfer> {
    return this.ledger.transfer(this.request(from, to, amountMinor, extra));
  }

  hold(from: Account, to: Account, amountMinor: bigint, timeoutSeconds?: number): Promise<Transfer> {
    return this.move(from, to, amountMinor, { pending: timeoutSeconds === undefined ? {} : { timeoutSeconds } });
  }

  async balances(account: Account) {
    return balancesOf(await this.ledger.getAccount(account.id));
  }

  async allEntries(account: Account): Promise<Entry[]> {
    const all: Entry[] = [];
    let startingAfter: string | undefined;
    for (;;) {
      const page = await this.ledger.entries(account.id, { limit: 200, ...(startingAfter ? { startingAfter } : {}) });
      all.push(...page.data);
      if (!page.hasMore) return all;
      startingAfter = String(page.data.at(-1)!.seq);
    }
  }

  /** The named accounts as stored, plus how many transfers and entries the books hold. */
  async snapshot(...accounts: Account[]) {
    const { rows } = await sql<{ transfers: string; entries: string }>`
      select (select count(*) from ledger_transfers)::text as transfers, (select count(*) from ledger_entries)::text as entries`.execute(
      this.store.db,
    );
    return { accounts: await Promise.all(accounts.map((a) => this.ledger.getAccount(a.id))), ...rows[0]! };
  }

  async expectNothingChanged(before: Awaited<ReturnType<Books['snapshot']>>, what: string): Promise<void> {
    const now = await this.snapshot(...before.accounts);
    assert.deepEqual(now, before, `${what} changed the books`);
  }

  async expectInvariants(): Promise<void> {
    assertInvariantsHold(await this.ledger.checkInvariants());
  }
}

const START = Date.parse('2026-03-15T09:30:00.000Z');

for (const { kind, skip } of await testStoreKinds()) {
  describe(`ledger on ${kind}`, { skip }, () => {
    let store: TestStore;
    const clock = new ManualClock(START);
    let books: Books;
    let ledger: LedgerService;

    before(async () => {
      store = await openTestStore(kind);
      ledger = new LedgerService({ db: store.db, clock, writer: { mode: 'group', maxBatchSize: 500, concurrency: 1 } });
      books = new Books(store, clock, ledger);
    });
    after(async () => {
      if (books) await books.expectInvariants();
      await store?.dispose();
    });

    describe('opening accounts', () => {
      test('an account number is the opening date then 10 digits, different for every account; a new account is empty and ACTIVE', async () => {
        const opened = await Promise.all(Array.from({ length: 40 }, () => books.user()));
        const day = clock.now().toISOString().slice(0, 10).replaceAll('-', '');
        for (const account of opened) {
          assert.match(account.accountNo, /^\d{18}$/);
          assert.equal(account.accountNo.slice(0, 8), day);
          assert.equal(account.status, 'ACTIVE');
          assert.equal(account.noOverdraft, true);
          assert.deepEqual(balancesOf(account), { balance: 0n, available: 0n, pendingDebits: 0n, pendingCredits: 0n });
          const stored = await ledger.findAccountByNo(account.accountNo);
          assert.equal(stored?.id, account.id);
        }
        assert.equal(new Set(opened.map((a) => a.accountNo)).size, opened.length);
        assert.equal(new Set(opened.map((a) => a.id)).size, opened.length);
      });

      test('a second account for the same owner, type and currency is ACCOUNT_ALREADY_EXISTS; another type or currency is a new account', async () => {
        const ownerId = uniq('user');
        const first = await ledger.openAccount({ ownerKind: 'USER', ownerId, type: 'WALLET', currency: 'CNY' });
        await rejectsWith(ledger.openAccount({ ownerKind: 'USER', ownerId, type: 'WALLET', currency: 'CNY' }), 'ACCOUNT_ALREADY_EXISTS');
        const usd = await ledger.openAccount({ ownerKind: 'USER', ownerId, type: 'WALLET', currency: 'USD' });
        const holding = await ledger.openAccount({ ownerKind: 'USER', ownerId, type: 'PRODUCT_HOLDING', currency: 'CNY' });
        const ofOwner = await ledger.accountsOf('USER', ownerId);
        assert.deepEqual(ofOwner.map((a) => a.id).sort(), [first.id, usd.id, holding.id].sort());
        // The same owner id under another owner kind is another owner.
        await ledger.openAccount({ ownerKind: 'MERCHANT', ownerId, type: 'WALLET', currency: 'CNY' });
      });

      test('an unknown account type is VALIDATION_FAILED, an unknown currency UNSUPPORTED_CURRENCY, a missing owner VALIDATION_FAILED', async () => {
        const before = await books.snapshot();
        const ownerId = uniq('user');
        await rejectsWith(ledger.openAccount({ ownerKind: 'USER', ownerId, type: 'PIGGY_BANK' as AccountType, currency: 'CNY' }), 'VALIDATION_FAILED');
        await rejectsWith(ledger.openAccount({ ownerKind: 'USER', ownerId, type: 'WALLET', currency: 'XBT' as CurrencyCode }), 'UNSUPPORTED_CURRENCY');
        await rejectsWith(ledger.openAccount({ ownerKind: 'USER', ownerId: '', type: 'WALLET', currency: 'CNY' }), 'VALIDATION_FAILED');
        await rejectsWith(ledger.openAccount({ ownerKind: 'USER', ownerId: 'x'.repeat(65), type: 'WALLET', currency: 'CNY' }), 'VALIDATION_FAILED');
        assert.deepEqual(await ledger.accountsOf('USER', ownerId), []);
        await books.expectNothingChanged(before, 'refused account openings');
      });

      test('platformAccount opens the platform account once, even when many callers ask at the same time', async () => {
        const concurrent = await Promise.all(Array.from({ length: 12 }, () => ledger.platformAccount('SUSPENSE', 'KRW')));
        assert.equal(new Set(concurrent.map((a) => a.id)).size, 1);
        const again = await ledger.platformAccount('SUSPENSE', 'KRW');
        assert.equal(again.id, concurrent[0]!.id);
        assert.equal(again.ownerKind, 'PLATFORM');
        assert.equal(again.ownerId, PLATFORM_OWNER_ID);
        assert.equal(again.noOverdraft, false, 'platform accounts may go negative');
        const suspense = (await ledger.accountsOf('PLATFORM', PLATFORM_OWNER_ID)).filter((a) => a.type === 'SUSPENSE' && a.currency === 'KRW');
        assert.equal(suspense.length, 1);
      });

      test('reading an account that does not exist is ACCOUNT_NOT_FOUND', async () => {
        await rejectsWith(ledger.getAccount('acc_missing'), 'ACCOUNT_NOT_FOUND');
        await rejectsWith(ledger.entries('acc_missing'), 'ACCOUNT_NOT_FOUND');
        assert.equal(await ledger.findAccountByNo('000000000000000000'), undefined);
      });
    });

    describe('transfers', () => {
      test('a transfer lowers the debit balance and raises the credit balance; available follows, nothing is pending', async () => {
        const alice = await books.funded(10_000n);
        const bob = await books.user();
        const transfer = await books.move(alice, bob, 2_550n, { code: 'payout', reference: 'order-42', metadata: { note: 'rent', urgent: true } });
        assert.equal(transfer.kind, 'POSTED');
        assert.equal(transfer.state, 'POSTED');
        assert.equal(transfer.amountMinor, 2_550n);
        assert.equal(transfer.currency, 'CNY');
        assert.equal(transfer.code, 'payout');
        assert.equal(transfer.reference, 'order-42');
        assert.deepEqual(transfer.metadata, { note: 'rent', urgent: true });
        assert.deepEqual(transfer.createdAt, clock.now());
        assert.deepEqual(await books.balances(alice), { balance: 7_450n, available: 7_450n, pendingDebits: 0n, pendingCredits: 0n });
        assert.deepEqual(await books.balances(bob), { balance: 2_550n, available: 2_550n, pendingDebits: 0n, pendingCredits: 0n });
        assert.deepEqual(await ledger.getTransfer(transfer.id), transfer);
        await books.expectInvariants();
      });

      test("every posted transfer writes one debit and one credit entry with the account's balance before and after", async () => {
        const alice = await books.funded(1_000n);
        const bob = await books.user();
        const first = await books.move(alice, bob, 300n, { code: 'payout' });
        const second = await books.move(bob, alice, 100n, { code: 'reversal' });
        const aliceEntries = await books.allEntries(alice);
        const bobEntries = await books.allEntries(bob);
        const view = (e: Entry) => [e.seq, e.transferId, e.direction, e.amountMinor, e.balanceBeforeMinor, e.balanceAfterMinor, e.code, e.currency];
        assert.deepEqual(aliceEntries.map(view), [
          [3n, second.id, 'CREDIT', 100n, 700n, 800n, 'reversal', 'CNY'],
          [2n, first.id, 'DEBIT', 300n, 1_000n, 700n, 'payout', 'CNY'],
          [1n, aliceEntries[2]!.transferId, 'CREDIT', 1_000n, 0n, 1_000n, 'recharge', 'CNY'],
        ]);
        assert.deepEqual(bobEntries.map(view), [
          [2n, second.id, 'DEBIT', 100n, 300n, 200n, 'reversal', 'CNY'],
          [1n, first.id, 'CREDIT', 300n, 0n, 300n, 'payout', 'CNY'],
        ]);
        for (const entry of [...aliceEntries, ...bobEntries]) assert.deepEqual(entry.createdAt, clock.now());
      });

      test('a refused transfer names its reason with a stable code and changes nothing', async () => {
        const alice = await books.funded(100n);
        const bob = await books.user();
        const dollars = await books.user('USD');
        const valid = () => books.request(alice, bob, 10n);
        const cases: [string, Partial<TransferRequest>, ErrorCode][] = [
          ['an unknown debit account', { debitAccountId: 'acc_nobody' as Account['id'] }, 'ACCOUNT_NOT_FOUND'],
          ['an unknown credit account', { creditAccountId: 'acc_nobody' as Account['id'] }, 'ACCOUNT_NOT_FOUND'],
          ['a currency the accounts do not hold', { currency: 'USD' }, 'CURRENCY_MISMATCH'],
          ['accounts in different currencies', { creditAccountId: dollars.id }, 'CURRENCY_MISMATCH'],
          ['an unsupported currency', { currency: 'XBT' as CurrencyCode }, 'UNSUPPORTED_CURRENCY'],
          ['a zero amount', { amountMinor: 0n }, 'INVALID_AMOUNT'],
          ['a negative amount', { amountMinor: -5n }, 'INVALID_AMOUNT'],
          ['an amount above the largest accepted', { amountMinor: MAX_AMOUNT_MINOR + 1n }, 'INVALID_AMOUNT'],
          ['an amount that is a number, not a bigint', { amountMinor: 5 as unknown as bigint }, 'INVALID_AMOUNT'],
          ['more than the user account has available', { amountMinor: 101n }, 'INSUFFICIENT_FUNDS'],
          ['a hold of more than the user account has available', { amountMinor: 101n, pending: {} }, 'INSUFFICIENT_FUNDS'],
          ['the same account on both sides', { creditAccountId: alice.id }, 'SAME_ACCOUNT'],
          ['an empty id', { id: '' }, 'VALIDATION_FAILED'],
          ['an id with a space', { id: 'order 1' }, 'VALIDATION_FAILED'],
          ['an id starting with punctuation', { id: '-order-1' }, 'VALIDATION_FAILED'],
          ['an id of 129 characters', { id: 'x'.repeat(129) }, 'VALIDATION_FAILED'],
          ['an id with non-ASCII letters', { id: 'zahlung-ü' }, 'VALIDATION_FAILED'],
          ['an unknown business code', { code: 'gift' as TransferRequest['code'] }, 'VALIDATION_FAILED'],
          ['a reference of 129 characters', { reference: 'r'.repeat(129) }, 'VALIDATION_FAILED'],
          ['a zero timeout', { pending: { timeoutSeconds: 0 } }, 'VALIDATION_FAILED'],
          ['a fractional timeout', { pending: { timeoutSeconds: 1.5 } }, 'VALIDATION_FAILED'],
          ['a timeout longer than a year', { pending: { timeoutSeconds: 366 * 86_400 + 1 } }, 'VALIDATION_FAILED'],
        ];
        for (const [what, change, code] of cases) {
          const before = await books.snapshot(alice, bob, dollars);
          const error = await rejectsWith(ledger.transfer({ ...valid(), ...change }), code);
          assert.ok(error.message.length > 0, `${what}: the error explains itself`);
          await books.expectNothingChanged(before, what);
        }
        const overdraft = await rejectsWith(ledger.transfer({ ...valid(), amountMinor: 101n }), 'INSUFFICIENT_FUNDS');
        assert.equal(overdraft.extra?.accountId, alice.id);
        // The longest valid id and timeout are fine.
        await ledger.transfer({ ...valid(), id: `A${'x'.repeat(127)}`, pending: { timeoutSeconds: 366 * 86_400 } });
        await books.expectInvariants();
      });

      test('a refused transfer is not recorded: the same id succeeds once the money is there', async () => {
        const alice = await books.funded(50n);
        const bob = await books.user();
        const request = books.request(alice, bob, 80n);
        await rejectsWith(ledger.transfer(request), 'INSUFFICIENT_FUNDS');
        await rejectsWith(ledger.getTransfer(request.id), 'TRANSFER_NOT_FOUND');
        await books.move(await books.platform(), alice, 30n);
        const transfer = await ledger.transfer(request);
        assert.equal(transfer.amountMinor, 80n);
        assert.deepEqual(await books.balances(alice), { balance: 0n, available: 0n, pendingDebits: 0n, pendingCredits: 0n });
      });

      test('a user account may spend exactly its available balance, not one unit more; a platform account may go negative', async () => {
        const source = await books.platform();
        const alice = await books.user();
        await books.move(source, alice, 500n);
        const bob = await books.user();
        await books.move(alice, bob, 500n);
        assert.equal((await books.balances(alice)).balance, 0n);
        const before = await books.snapshot(alice, bob);
        await rejectsWith(books.move(alice, bob, 1n), 'INSUFFICIENT_FUNDS');
        await books.expectNothingChanged(before, 'an overdraft of one unit');
        assert.equal((await books.balances(source)).balance, -500n);
        await books.move(source, bob, MAX_AMOUNT_MINOR);
        assert.equal((await books.balances(source)).balance, -500n - MAX_AMOUNT_MINOR);
        assert.equal((await books.balances(bob)).balance, 500n + MAX_AMOUNT_MINOR);
        await books.expectInvariants();
      });

      test('a frozen account refuses debits and holds but still receives credits; unfreezing lets it pay again', async () => {
        const alice = await books.funded(1_000n);
        const bob = await books.funded(1_000n);
        const frozen = await ledger.freezeAccount(alice.id);
        assert.equal(frozen.status, 'FROZEN');
        assert.equal((await ledger.getAccount(alice.id)).status, 'FROZEN');
        const before = await books.snapshot(alice, bob);
        await rejectsWith(books.move(alice, bob, 10n), 'ACCOUNT_FROZEN');
        await rejectsWith(books.hold(alice, bob, 10n), 'ACCOUNT_FROZEN');
        await books.expectNothingChanged(before, 'debits of a frozen account');
        await books.move(bob, alice, 250n);
        assert.equal((await books.balances(alice)).balance, 1_250n);
        const unfrozen = await ledger.unfreezeAccount(alice.id);
        assert.equal(unfrozen.status, 'ACTIVE');
        await books.move(alice, bob, 1_250n);
        assert.equal((await books.balances(alice)).balance, 0n);
        assert.equal((await books.balances(bob)).balance, 2_000n);
        await rejectsWith(ledger.freezeAccount('acc_missing'), 'ACCOUNT_NOT_FOUND');
        await books.expectInvariants();
      });
    });

    describe('idempotency', () => {
      test('the same id with the same content returns the first transfer and moves nothing, even after other transfers', async () => {
        const alice = await books.funded(1_000n);
        const bob = await books.user();
        const request = books.request(alice, bob, 300n, { code: 'payout', reference: 'po_1', metadata: { a: 1, b: 'two', c: null } });
        const first = await ledger.transfer(request);
        clock.advance(1_000);
        await books.move(alice, bob, 100n);
        await books.move(bob, alice, 50n);
        const before = await books.snapshot(alice, bob);
        // Metadata keys in another order are the same metadata.
        const again = await ledger.transfer({ ...request, metadata: { c: null, b: 'two', a: 1 } });
        assert.deepEqual(again, first);
        await books.expectNothingChanged(before, 'a replayed transfer');
        assert.equal((await books.balances(alice)).balance, 650n);
      });

      test('the same id with any other content is TRANSFER_ID_CONFLICT and moves nothing', async () => {
        const alice = await books.funded(1_000n);
        const bob = await books.user();
        const carol = await books.user();
        const request = books.request(alice, bob, 300n, { code: 'payout', reference: 'po_2', metadata: { batch: 7 } });
        await ledger.transfer(request);
        const variants: [string, Partial<TransferRequest>][] = [
          ['another amount', { amountMinor: 301n }],
          ['another debit account', { debitAccountId: carol.id }],
          ['another credit account', { creditAccountId: carol.id }],
          ['another code', { code: 'fee' }],
          ['another reference', { reference: 'po_3' }],
          ['no reference', { reference: undefined }],
          ['other metadata', { metadata: { batch: 8 } }],
          ['more metadata', { metadata: { batch: 7, extra: true } }],
          ['no metadata', { metadata: undefined }],
          ['a hold instead of a transfer', { pending: {} }],
          ['another currency', { currency: 'USD' }],
        ];
        for (const [what, change] of variants) {
          const before = await books.snapshot(alice, bob, carol);
          await rejectsWith(ledger.transfer({ ...request, ...change }), 'TRANSFER_ID_CONFLICT');
          await books.expectNothingChanged(before, `a conflicting replay with ${what}`);
        }
        assert.equal((await books.balances(bob)).balance, 300n);
      });

      test('a hold replayed with the same timeout is the same hold, even later; another timeout or none is TRANSFER_ID_CONFLICT', async () => {
        const alice = await books.funded(1_000n);
        const bob = await books.user();
        const request = books.request(alice, bob, 300n, { pending: { timeoutSeconds: 600 } });
        const hold = await ledger.transfer(request);
        clock.advance(5_000);
        const before = await books.snapshot(alice, bob);
        assert.deepEqual(await ledger.transfer({ ...request, pending: { timeoutSeconds: 600 } }), hold);
        await rejectsWith(ledger.transfer({ ...request, pending: { timeoutSeconds: 601 } }), 'TRANSFER_ID_CONFLICT');
        await rejectsWith(ledger.transfer({ ...request, pending: {} }), 'TRANSFER_ID_CONFLICT');
        await rejectsWith(ledger.transfer({ ...request, pending: undefined }), 'TRANSFER_ID_CONFLICT');
        await books.expectNothingChanged(before, 'replayed holds');
        const untimed = books.request(alice, bob, 100n, { pending: {} });
        await ledger.transfer(untimed);
        await rejectsWith(ledger.transfer({ ...untimed, pending: { timeoutSeconds: 60 } }), 'TRANSFER_ID_CONFLICT');
        await ledger.voidPending({ id: uniq('void'), pendingId: hold.id });
        await ledger.voidPending({ id: uniq('void'), pendingId: untimed.id });
      });

      test('the same transfer submitted 20 times at once moves money once and every caller gets the same transfer', async () => {
        const alice = await books.funded(1_000n);
        const bob = await books.user();
        const request = books.request(alice, bob, 700n);
        const before = await books.snapshot(alice, bob);
        const results = await Promise.all(Array.from({ length: 20 }, () => ledger.transfer({ ...request })));
        for (const result of results) assert.deepEqual(result, results[0]);
        assert.equal(results[0]!.id, request.id);
        const now = await books.snapshot(alice, bob);
        assert.equal(Number(now.transfers) - Number(before.transfers), 1);
        assert.equal(Number(now.entries) - Number(before.entries), 2);
        assert.equal((await books.balances(alice)).balance, 300n);
        assert.equal((await books.balances(bob)).balance, 700n);
        await books.expectInvariants();
      });
    });

    describe('two-phase transfers', () => {
      test('a hold lowers the available balance, not the balance, and writes no entries', async () => {
        const alice = await books.funded(1_000n);
        const merchant = await books.user('CNY', 'MERCHANT_SETTLEMENT');
        const entriesBefore = (await books.allEntries(alice)).length;
        const hold = await books.hold(alice, merchant, 400n);
        assert.equal(hold.kind, 'PENDING');
        assert.equal(hold.state, 'PENDING');
        assert.equal(hold.timeoutAt, null);
        assert.deepEqual(await books.balances(alice), { balance: 1_000n, available: 600n, pendingDebits: 400n, pendingCredits: 0n });
        assert.deepEqual(await books.balances(merchant), { balance: 0n, available: 0n, pendingDebits: 0n, pendingCredits: 400n });
        assert.equal((await books.allEntries(alice)).length, entriesBefore);
        assert.equal((await books.allEntries(merchant)).length, 0);
        // Held money cannot be spent twice.
        await rejectsWith(books.move(alice, merchant, 601n), 'INSUFFICIENT_FUNDS');
        await rejectsWith(books.hold(alice, merchant, 601n), 'INSUFFICIENT_FUNDS');
        await books.hold(alice, merchant, 600n);
        assert.equal((await books.balances(alice)).available, 0n);
        await books.expectInvariants();
      });

      test('posting a hold in full moves the held amount and releases the hold', async () => {
        const alice = await books.funded(1_000n);
        const bob = await books.user();
        const hold = await books.hold(alice, bob, 400n);
        const post = await ledger.postPending({ id: uniq('post'), pendingId: hold.id, reference: 'bank-ok' });
        assert.equal(post.kind, 'POST_PENDING');
        assert.equal(post.pendingId, hold.id);
        assert.equal(post.amountMinor, 400n);
        assert.equal(post.debitAccountId, alice.id);
        assert.equal(post.creditAccountId, bob.id);
        assert.deepEqual(await books.balances(alice), { balance: 600n, available: 600n, pendingDebits: 0n, pendingCredits: 0n });
        assert.deepEqual(await books.balances(bob), { balance: 400n, available: 400n, pendingDebits: 0n, pendingCredits: 0n });
        const stored = await ledger.getTransfer(hold.id);
        assert.equal(stored.state, 'POSTED');
        assert.equal(stored.postedAmountMinor, 400n);
        const [latest] = await books.allEntries(alice);
        assert.equal(latest!.transferId, post.id);
        assert.equal(latest!.direction, 'DEBIT');
        assert.equal(latest!.balanceAfterMinor, 600n);
        await books.expectInvariants();
      });

      test('posting part of a hold moves that part and releases the rest', async () => {
        const alice = await books.funded(1_000n);
        const bob = await books.user();
        const hold = await books.hold(alice, bob, 400n);
        const post = await ledger.postPending({ id: uniq('post'), pendingId: hold.id, amountMinor: 150n });
        assert.equal(post.amountMinor, 150n);
        assert.deepEqual(await books.balances(alice), { balance: 850n, available: 850n, pendingDebits: 0n, pendingCredits: 0n });
        assert.deepEqual(await books.balances(bob), { balance: 150n, available: 150n, pendingDebits: 0n, pendingCredits: 0n });
        const stored = await ledger.getTransfer(hold.id);
        assert.equal(stored.state, 'POSTED');
        assert.equal(stored.postedAmountMinor, 150n);
        await books.expectInvariants();
      });

      test('voiding a hold gives the whole amount back and writes no entries', async () => {
        const alice = await books.funded(1_000n);
        const bob = await books.user();
        const hold = await books.hold(alice, bob, 400n);
        const entriesBefore = (await books.allEntries(alice)).length;
        const voided = await ledger.voidPending({ id: uniq('void'), pendingId: hold.id });
        assert.equal(voided.kind, 'VOID_PENDING');
        assert.equal(voided.amountMinor, 400n);
        assert.deepEqual(await books.balances(alice), { balance: 1_000n, available: 1_000n, pendingDebits: 0n, pendingCredits: 0n });
        assert.deepEqual(await books.balances(bob), { balance: 0n, available: 0n, pendingDebits: 0n, pendingCredits: 0n });
        assert.equal((await ledger.getTransfer(hold.id)).state, 'VOIDED');
        assert.equal((await books.allEntries(alice)).length, entriesBefore);
        await books.expectInvariants();
      });

      test('posting or voiding something that is not an open hold is refused with a stable code and changes nothing', async () => {
        const alice = await books.funded(1_000n);
        const bob = await books.user();
        const plain = await books.move(alice, bob, 10n);
        const posted = await books.hold(alice, bob, 100n);
        await ledger.postPending({ id: uniq('post'), pendingId: posted.id });
        const voided = await books.hold(alice, bob, 100n);
        await ledger.voidPending({ id: uniq('void'), pendingId: voided.id });
        const open = await books.hold(alice, bob, 100n);
        const cases: [string, () => Promise<unknown>, ErrorCode][] = [
          ['posting an unknown hold', () => ledger.postPending({ id: uniq('p'), pendingId: 'no-such-hold' }), 'PENDING_TRANSFER_NOT_FOUND'],
          ['voiding an unknown hold', () => ledger.voidPending({ id: uniq('v'), pendingId: 'no-such-hold' }), 'PENDING_TRANSFER_NOT_FOUND'],
          ['posting a transfer that is no hold', () => ledger.postPending({ id: uniq('p'), pendingId: plain.id }), 'PENDING_TRANSFER_NOT_FOUND'],
          ['posting a posted hold again', () => ledger.postPending({ id: uniq('p'), pendingId: posted.id }), 'PENDING_TRANSFER_ALREADY_FINAL'],
          ['voiding a posted hold', () => ledger.voidPending({ id: uniq('v'), pendingId: posted.id }), 'PENDING_TRANSFER_ALREADY_FINAL'],
          ['posting a voided hold', () => ledger.postPending({ id: uniq('p'), pendingId: voided.id }), 'PENDING_TRANSFER_ALREADY_FINAL'],
          ['voiding a voided hold again', () => ledger.voidPending({ id: uniq('v'), pendingId: voided.id }), 'PENDING_TRANSFER_ALREADY_FINAL'],
          ['posting more than the hold', () => ledger.postPending({ id: uniq('p'), pendingId: open.id, amountMinor: 101n }), 'POST_EXCEEDS_PENDING'],
          ['posting zero', () => ledger.postPending({ id: uniq('p'), pendingId: open.id, amountMinor: 0n }), 'INVALID_AMOUNT'],
          ['posting with a bad id', () => ledger.postPending({ id: 'bad id', pendingId: open.id }), 'VALIDATION_FAILED'],
          ['voiding with a bad pending id', () => ledger.voidPending({ id: uniq('v'), pendingId: '' }), 'VALIDATION_FAILED'],
        ];
        for (const [what, call, code] of cases) {
          const before = await books.snapshot(alice, bob);
          await rejectsWith(call(), code);
          await books.expectNothingChanged(before, what);
        }
        // The hold the refused post named is still open and can be posted in full.
        await ledger.postPending({ id: uniq('post'), pendingId: open.id, amountMinor: 100n });
        assert.deepEqual(await books.balances(alice), { balance: 790n, available: 790n, pendingDebits: 0n, pendingCredits: 0n });
        await books.expectInvariants();
      });

      test('replaying a post or a void with the same id returns the same result; other content under its id is a conflict', async () => {
        const alice = await books.funded(1_000n);
        const bob = await books.user();
        const hold = await books.hold(alice, bob, 300n);
        const postRequest = { id: uniq('post'), pendingId: hold.id, amountMinor: 200n, reference: 'settle-1' };
        const post = await ledger.postPending(postRequest);
        const before = await books.snapshot(alice, bob);
        assert.deepEqual(await ledger.postPending(postRequest), post);
        assert.deepEqual(await ledger.postPending({ ...postRequest, amountMinor: undefined }), post, 'no amount means "whatever was posted"');
        await rejectsWith(ledger.postPending({ ...postRequest, amountMinor: 250n }), 'TRANSFER_ID_CONFLICT');
        await rejectsWith(ledger.postPending({ ...postRequest, reference: 'settle-2' }), 'TRANSFER_ID_CONFLICT');
        await rejectsWith(ledger.voidPending({ id: postRequest.id, pendingId: hold.id, reference: 'settle-1' }), 'TRANSFER_ID_CONFLICT');
        await books.expectNothingChanged(before, 'replayed posts');

        const other = await books.hold(alice, bob, 100n);
        const voidRequest = { id: uniq('void'), pendingId: other.id };
        const voided = await ledger.voidPending(voidRequest);
        const afterVoid = await books.snapshot(alice, bob);
        assert.deepEqual(await ledger.voidPending(voidRequest), voided);
        await books.expectNothingChanged(afterVoid, 'a replayed void');
        assert.deepEqual(await books.balances(alice), { balance: 800n, available: 800n, pendingDebits: 0n, pendingCredits: 0n });
      });

      test('a hold with a timeout can be posted before it; after it, posting is PENDING_TRANSFER_EXPIRED and expireDuePendings voids it, once', async () => {
        const alice = await books.funded(1_000n);
        const bob = await books.user();
        const expiring = await books.hold(alice, bob, 300n, 60);
        assert.deepEqual(expiring.timeoutAt, new Date(clock.now().getTime() + 60_000));
        const postedInTime = await books.hold(alice, bob, 200n, 60);
        clock.advance(59_000);
        await ledger.postPending({ id: uniq('post'), pendingId: postedInTime.id });
        assert.equal(await ledger.expireDuePendings(), 0, 'nothing is due yet');

        clock.advance(1_000);
        const before = await books.snapshot(alice, bob);
        await rejectsWith(ledger.postPending({ id: uniq('post'), pendingId: expiring.id }), 'PENDING_TRANSFER_EXPIRED');
        await rejectsWith(ledger.voidPending({ id: uniq('void'), pendingId: expiring.id }), 'PENDING_TRANSFER_EXPIRED');
        await books.expectNothingChanged(before, 'posting a timed-out hold');
        // Until the job runs the money stays held.
        assert.equal((await books.balances(alice)).available, 500n);

        assert.equal(await ledger.expireDuePendings(), 1);
        const expired = await ledger.getTransfer(expiring.id);
        assert.equal(expired.state, 'EXPIRED');
        assert.equal(expired.postedAmountMinor, null);
        assert.deepEqual(await books.balances(alice), { balance: 800n, available: 800n, pendingDebits: 0n, pendingCredits: 0n });
        assert.deepEqual(await books.balances(bob), { balance: 200n, available: 200n, pendingDebits: 0n, pendingCredits: 0n });
        const afterExpiry = await books.snapshot(alice, bob);
        assert.equal(await ledger.expireDuePendings(), 0, 'expiring again does nothing');
        clock.advance(3_600_000);
        assert.equal(await ledger.expireDuePendings(), 0);
        await books.expectNothingChanged(afterExpiry, 'running the expiry job again');
        await rejectsWith(ledger.postPending({ id: uniq('post'), pendingId: expiring.id }), 'PENDING_TRANSFER_EXPIRED');
        assert.equal((await ledger.getTransfer(postedInTime.id)).state, 'POSTED', 'a hold posted in time never expires');
        await books.expectInvariants();
      });
    });

    describe('linked transfers', () => {
      test('linked transfers all happen together and carry the id of the group', async () => {
        const alice = await books.funded(1_000n);
        const clearing = await books.platform('CNY', 'PAYOUT_CLEARING');
        const fees = await books.platform('CNY', 'FEE_INCOME');
        const payout = books.request(alice, clearing, 900n, { code: 'payout' });
        const fee = books.request(alice, fees, 100n, { code: 'fee' });
        const [first, second] = await ledger.linkedTransfers([payout, fee]);
        assert.equal(first!.id, payout.id);
        assert.equal(second!.id, fee.id);
        assert.equal(first!.linkedId, payout.id);
        assert.equal(second!.linkedId, payout.id);
        assert.deepEqual(await books.balances(alice), { balance: 0n, available: 0n, pendingDebits: 0n, pendingCredits: 0n });
        assert.equal((await books.balances(clearing)).balance, 900n);
        assert.equal((await books.balances(fees)).balance, 100n);
        // Replaying the group moves nothing; changing one member is a conflict.
        const before = await books.snapshot(alice, clearing, fees);
        assert.deepEqual(await ledger.linkedTransfers([payout, fee]), [first, second]);
        await rejectsWith(ledger.linkedTransfers([payout, { ...fee, amountMinor: 99n }]), 'TRANSFER_ID_CONFLICT');
        await rejectsWith(ledger.linkedTransfers([payout, books.request(alice, fees, 1n)]), 'TRANSFER_ID_CONFLICT');
        await books.expectNothingChanged(before, 'replayed linked transfers');
        await books.expectInvariants();
      });

      test('if one linked transfer fails none is applied, and the error names the failing transfer', async () => {
        const alice = await books.funded(1_000n);
        const clearing = await books.platform('CNY', 'PAYOUT_CLEARING');
        const fees = await books.platform('CNY', 'FEE_INCOME');
        const payout = books.request(alice, clearing, 950n, { code: 'payout' });
        const fee = books.request(alice, fees, 100n, { code: 'fee' });
        const before = await books.snapshot(alice, clearing, fees);
        const error = await rejectsWith(ledger.linkedTransfers([payout, fee]), 'INSUFFICIENT_FUNDS');
        assert.equal(error.extra?.failedTransferId, fee.id);
        assert.match(error.message, new RegExp(fee.id));
        await books.expectNothingChanged(before, 'a failed linked group');
        await rejectsWith(ledger.getTransfer(payout.id), 'TRANSFER_NOT_FOUND');

        // A failing first member is named too.
        const first = await rejectsWith(ledger.linkedTransfers([books.request(alice, fees, 1n, { currency: 'USD' }), fee]), 'CURRENCY_MISMATCH');
        assert.ok(typeof first.extra?.failedTransferId === 'string');
        await books.expectNothingChanged(before, 'a linked group failing at its first member');
        await books.expectInvariants();
      });

      test('a linked group that uses one id twice is TRANSFER_ID_CONFLICT; an empty or invalid group is VALIDATION_FAILED', async () => {
        const alice = await books.funded(1_000n);
        const bob = await books.user();
        const one = books.request(alice, bob, 10n);
        const before = await books.snapshot(alice, bob);
        await rejectsWith(ledger.linkedTransfers([one, { ...one, amountMinor: 20n }]), 'TRANSFER_ID_CONFLICT');
        // Bad input to a promise-returning method is a rejected promise, not a synchronous throw.
        const calls: Promise<unknown>[] = [];
        assert.doesNotThrow(() => calls.push(ledger.linkedTransfers([])));
        assert.doesNotThrow(() => calls.push(ledger.linkedTransfers([one, { ...books.request(alice, bob, 1n), id: 'bad id' }])));
        for (const call of calls) await rejectsWith(call, 'VALIDATION_FAILED');
        await books.expectNothingChanged(before, 'invalid linked groups');
      });

      test('a failing linked group in the same batch as good transfers does not affect them', async () => {
        const alice = await books.funded(100n);
        const bob = await books.funded(100n);
        const sink = await books.user();
        const fees = await books.platform('CNY', 'FEE_INCOME');
        const sizes: number[] = [];
        const observed = new LedgerService({
          db: store.db,
          clock,
          writer: { mode: 'group', maxBatchSize: 500, concurrency: 1, onBatch: (size) => sizes.push(size) },
        });
        const failingGroup = [books.request(bob, sink, 60n), books.request(bob, fees, 60n)];
        const results = await Promise.allSettled([
          observed.transfer(books.request(alice, sink, 30n)),
          observed.linkedTransfers(failingGroup),
          observed.transfer(books.request(bob, sink, 50n)),
          observed.transfer(books.request(alice, sink, 70n)),
        ]);
        assert.deepEqual(sizes, [4], 'the four units went to the database as one batch');
        assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
        const error = (results[1] as PromiseRejectedResult).reason as DomainError;
        assert.equal(error.code, 'INSUFFICIENT_FUNDS');
        assert.equal(error.extra?.failedTransferId, failingGroup[1]!.id);
        assert.equal((await books.balances(alice)).balance, 0n);
        assert.equal((await books.balances(bob)).balance, 50n);
        assert.equal((await books.balances(sink)).balance, 150n);
        assert.equal((await books.balances(fees)).balance, 0n);
        await rejectsWith(ledger.getTransfer(failingGroup[0]!.id), 'TRANSFER_NOT_FOUND');
        await books.expectInvariants();
      });
    });

    describe('batches', () => {
      test('in a batch of 50 concurrent transfers exactly the ones that overdraw fail, alone; the rest apply', async () => {
        const payers = await Promise.all(Array.from({ length: 10 }, () => books.funded(100n)));
        const sink = await books.user();
        const sizes: number[] = [];
        const observed = new LedgerService({
          db: store.db,
          clock,
          writer: { mode: 'group', maxBatchSize: 500, concurrency: 1, onBatch: (size) => sizes.push(size) },
        });
        // Every payer sends 20 five times (exactly its 100), except payers 5-9 whose fifth transfer is 21.
        const requests = Array.from({ length: 50 }, (_, j) => books.request(payers[j % 10]!, sink, j >= 45 ? 21n : 20n));
        const results = await Promise.allSettled(requests.map((r) => observed.transfer(r)));
        assert.deepEqual(sizes, [50], 'all 50 transfers went to the database as one batch');
        results.forEach((result, j) => {
          if (j < 45) {
            assert.equal(result.status, 'fulfilled', `transfer ${j} should apply`);
          } else {
            assert.equal(result.status, 'rejected', `transfer ${j} should fail`);
            const reason = (result as PromiseRejectedResult).reason as DomainError;
            assert.ok(reason instanceof DomainError);
            assert.equal(reason.code, 'INSUFFICIENT_FUNDS');
            assert.equal(reason.extra?.accountId, payers[j % 10]!.id);
          }
        });
        for (const [i, payer] of payers.entries()) assert.equal((await books.balances(payer)).balance, i < 5 ? 0n : 20n);
        assert.equal((await books.balances(sink)).balance, 45n * 20n);
        for (const request of requests.slice(45)) await rejectsWith(ledger.getTransfer(request.id), 'TRANSFER_NOT_FOUND');
        await books.expectInvariants();
      });
    });

    describe('entries (the bill)', () => {
      test('entries come newest first and limit + startingAfter walk every entry exactly once', async () => {
        const source = await books.platform();
        const alice = await books.user();
        for (let amount = 1n; amount <= 25n; amount++) await books.move(source, alice, amount);
        const pages: Entry[][] = [];
        const hasMore: boolean[] = [];
        let startingAfter: string | undefined;
        for (;;) {
          const page = await ledger.entries(alice.id, { limit: 7, ...(startingAfter ? { startingAfter } : {}) });
          pages.push(page.data);
          hasMore.push(page.hasMore);
          if (!page.hasMore) break;
          startingAfter = String(page.data.at(-1)!.seq);
        }
        assert.deepEqual(pages.map((p) => p.length), [7, 7, 7, 4]);
        assert.deepEqual(hasMore, [true, true, true, false]);
        const walked = pages.flat();
        assert.deepEqual(walked.map((e) => e.seq), Array.from({ length: 25 }, (_, i) => BigInt(25 - i)));
        assert.deepEqual(walked.map((e) => e.amountMinor), Array.from({ length: 25 }, (_, i) => BigInt(25 - i)));
        assert.equal(walked[0]!.balanceAfterMinor, 325n);
        const exact = await ledger.entries(alice.id, { limit: 25 });
        assert.equal(exact.data.length, 25);
        assert.equal(exact.hasMore, false);
        const defaults = await ledger.entries(alice.id);
        assert.equal(defaults.data.length, 20);
        assert.equal(defaults.hasMore, true);
        const past = await ledger.entries(alice.id, { startingAfter: '1' });
        assert.deepEqual(past, { data: [], hasMore: false });
        await rejectsWith(ledger.entries(alice.id, { startingAfter: 'abc' }), 'VALIDATION_FAILED');
        await rejectsWith(ledger.entries(alice.id, { startingAfter: '-1' }), 'VALIDATION_FAILED');
      });

      test('from (inclusive) and to (exclusive) select the entries made in a time window, and page within it', async () => {
        const source = await books.platform();
        const alice = await books.user();
        const t0 = clock.now();
        for (let i = 0; i < 3; i++) await books.move(source, alice, 1n);
        const t1 = clock.advance(3_600_000);
        for (let i = 0; i < 5; i++) await books.move(source, alice, 10n);
        const t2 = clock.advance(3_600_000);
        for (let i = 0; i < 2; i++) await books.move(source, alice, 100n);
        clock.advance(1_000);

        const window = await ledger.entries(alice.id, { from: t1, to: t2 });
        assert.deepEqual(window.data.map((e) => e.amountMinor), [10n, 10n, 10n, 10n, 10n]);
        assert.ok(window.data.every((e) => e.createdAt.getTime() === t1.getTime()));
        assert.equal((await ledger.entries(alice.id, { from: t2 })).data.length, 2);
        assert.equal((await ledger.entries(alice.id, { to: t1 })).data.length, 3);
        assert.equal((await ledger.entries(alice.id, { from: t0 })).data.length, 10);
        assert.equal((await ledger.entries(alice.id, { from: clock.now() })).data.length, 0);

        const first = await ledger.entries(alice.id, { from: t1, to: t2, limit: 3 });
        assert.equal(first.hasMore, true);
        const second = await ledger.entries(alice.id, { from: t1, to: t2, limit: 3, startingAfter: String(first.data.at(-1)!.seq) });
        assert.equal(second.hasMore, false);
        assert.deepEqual([...first.data, ...second.data].map((e) => e.seq), window.data.map((e) => e.seq));
      });
    });

    describe('single-commit mode', () => {
      let single: LedgerService;
      before(() => {
        single = new LedgerService({ db: store.db, clock, writer: { mode: 'single', maxBatchSize: 1, concurrency: 1 } });
      });

      test('transfers, holds, posts and voids work the same with one commit per transfer', async () => {
        const alice = await books.funded(1_000n);
        const bob = await books.user();
        await single.transfer(books.request(alice, bob, 100n));
        const hold = await single.transfer(books.request(alice, bob, 300n, { pending: {} }));
        await single.postPending({ id: uniq('post'), pendingId: hold.id, amountMinor: 200n });
        const other = await single.transfer(books.request(alice, bob, 50n, { pending: {} }));
        await single.voidPending({ id: uniq('void'), pendingId: other.id });
        assert.deepEqual(await books.balances(alice), { balance: 700n, available: 700n, pendingDebits: 0n, pendingCredits: 0n });
        assert.deepEqual(await books.balances(bob), { balance: 300n, available: 300n, pendingDebits: 0n, pendingCredits: 0n });
        await books.expectInvariants();
      });

      test('concurrent debits of one balance: exactly as many succeed as it covers, the rest are INSUFFICIENT_FUNDS', async () => {
        const alice = await books.funded(100n);
        const bob = await books.user();
        const results = await Promise.allSettled(Array.from({ length: 20 }, () => single.transfer(books.request(alice, bob, 7n))));
        const succeeded = results.filter((r) => r.status === 'fulfilled').length;
        assert.equal(succeeded, 14);
        for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as DomainError).code, 'INSUFFICIENT_FUNDS');
        assert.equal((await books.balances(alice)).balance, 2n);
        await books.expectInvariants();
      });

      test('the same id submitted 20 times at once moves money once', async () => {
        const alice = await books.funded(1_000n);
        const bob = await books.user();
        const request = books.request(alice, bob, 400n);
        const results = await Promise.all(Array.from({ length: 20 }, () => single.transfer({ ...request })));
        for (const r of results) assert.deepEqual(r, results[0]);
        assert.equal((await books.balances(alice)).balance, 600n);
        assert.equal((await books.allEntries(bob)).length, 1);
      });

      test('a failing linked group changes nothing', async () => {
        const alice = await books.funded(100n);
        const bob = await books.user();
        const before = await books.snapshot(alice, bob);
        const group = [books.request(alice, bob, 60n), books.request(alice, bob, 60n)];
        const error = await rejectsWith(single.linkedTransfers(group), 'INSUFFICIENT_FUNDS');
        assert.equal(error.extra?.failedTransferId, group[1]!.id);
        await books.expectNothingChanged(before, 'a failed linked group');
      });
    });

    describe('several writers on one database', () => {
      // Another LedgerService on the same database stands for another process.
      let other: LedgerService;
      before(() => {
        other = new LedgerService({ db: store.db, clock, writer: { mode: 'group', maxBatchSize: 500, concurrency: 1 } });
      });

      test('money another writer already spent is not spent again, even inside a linked group that gives it back', async () => {
        const alice = await books.funded(10n); // this writer now knows alice holds 10
        const bob = await books.user();
        const clearing = await books.platform();
        await other.transfer(books.request(alice, bob, 5n)); // alice really holds 5
        const before = await books.snapshot(alice, bob, clearing);
        await rejectsWith(ledger.linkedTransfers([books.request(alice, clearing, 10n), books.request(clearing, alice, 10n)]), 'INSUFFICIENT_FUNDS');
        await books.expectNothingChanged(before, 'a linked group spending money that is gone');
        await books.expectInvariants();
      });

      test('a batch never lets an account dip below zero on money another writer spent meanwhile', async () => {
        const alice = await books.funded(10n);
        const bob = await books.user();
        const clearing = await books.platform();
        await other.transfer(books.request(alice, bob, 5n));
        // One batch: alice pays 10 (she has 5: refused), then receives 10.
        const [pay, receive] = await Promise.allSettled([
          ledger.transfer(books.request(alice, clearing, 10n)),
          ledger.transfer(books.request(clearing, alice, 10n)),
        ]);
        assert.equal(pay.status, 'rejected');
        assert.equal(((pay as PromiseRejectedResult).reason as DomainError).code, 'INSUFFICIENT_FUNDS');
        assert.equal(receive.status, 'fulfilled');
        assert.equal((await books.balances(alice)).balance, 15n);
        for (const entry of await books.allEntries(alice)) assert.ok(entry.balanceAfterMinor >= 0n, `entry ${entry.seq} is negative`);
        await books.expectInvariants();
      });

      test('a hold placed by another writer can be posted and voided here', async () => {
        const alice = await books.funded(100n); // this writer knows alice has nothing pending
        const bob = await books.user();
        const first = await other.transfer(books.request(alice, bob, 30n, { pending: {} }));
        const second = await other.transfer(books.request(alice, bob, 20n, { pending: {} }));
        await ledger.postPending({ id: uniq('post'), pendingId: first.id });
        await ledger.voidPending({ id: uniq('void'), pendingId: second.id });
        assert.deepEqual(await books.balances(alice), { balance: 70n, available: 70n, pendingDebits: 0n, pendingCredits: 0n });
        assert.deepEqual(await books.balances(bob), { balance: 30n, available: 30n, pendingDebits: 0n, pendingCredits: 0n });
        await books.expectInvariants();
      });

      test('freezing and unfreezing through another writer is honoured here', async () => {
        const alice = await books.funded(100n);
        const bob = await books.user();
        await books.move(alice, bob, 1n);
        await other.freezeAccount(alice.id);
        await rejectsWith(books.move(alice, bob, 1n), 'ACCOUNT_FROZEN');
        await other.unfreezeAccount(alice.id);
        await books.move(alice, bob, 1n);
        assert.equal((await books.balances(alice)).balance, 98n);
      });
    });

    test('the invariant checker names the check a corrupted database breaks', async () => {
      // A throwaway store: the test corrupts it on purpose, bypassing the append-only triggers.
      const scratch = await openTestStore(kind, 2);
      try {
        const scratchLedger = new LedgerService({ db: scratch.db, clock, writer: { mode: 'group', maxBatchSize: 500, concurrency: 1 } });
        const scratchBooks = new Books(scratch, clock, scratchLedger);
        const source = await scratchBooks.platform();
        const alice = await scratchBooks.user();
        const bob = await scratchBooks.user();
        await scratchBooks.move(source, alice, 100n);
        const aliceToBob = await scratchBooks.move(alice, bob, 30n);
        await scratchBooks.hold(alice, bob, 10n);
        assertInvariantsHold(await scratchLedger.checkInvariants());

        const run = (query: string) => sql.raw(query).execute(scratch.db);
        await run('alter table ledger_entries disable trigger user');
        const { rows } = await sql<{ conname: string }>`
          select conname from pg_constraint
          where conrelid = 'ledger_accounts'::regclass and contype = 'c' and pg_get_constraintdef(oid) like '%no_overdraft%'`.execute(scratch.db);
        assert.equal(rows.length, 1, 'the overdraft check constraint exists');
        await run(`alter table ledger_accounts drop constraint ${rows[0]!.conname}`);

        const corruptions: { what: string; corrupt: string; repair: string; broken: string[]; account?: string }[] = [
          {
            what: "an account's posted credits without an entry",
            corrupt: `update ledger_accounts set posted_credits = posted_credits + 1 where id = '${alice.id}'`,
            repair: `update ledger_accounts set posted_credits = posted_credits - 1 where id = '${alice.id}'`,
            broken: ['account_totals_match_entries', 'accounts_balance_per_currency'],
            account: alice.id,
          },
          {
            what: "an entry's balance after",
            corrupt: `update ledger_entries set balance_after = balance_after + 1 where account_id = '${alice.id}' and seq = 1`,
            repair: `update ledger_entries set balance_after = balance_after - 1 where account_id = '${alice.id}' and seq = 1`,
            broken: ['entry_chain'],
            account: alice.id,
          },
          {
            what: "an entry's amount",
            corrupt: `update ledger_entries set amount = amount + 1 where account_id = '${bob.id}' and seq = 1`,
            repair: `update ledger_entries set amount = amount - 1 where account_id = '${bob.id}' and seq = 1`,
            broken: ['account_totals_match_entries', 'entries_balance_per_currency', 'entry_chain', 'transfers_have_their_entries'],
          },
          {
            what: 'a pending total without a hold',
            corrupt: `update ledger_accounts set pending_credits = pending_credits + 5 where id = '${bob.id}'`,
            repair: `update ledger_accounts set pending_credits = pending_credits - 5 where id = '${bob.id}'`,
            broken: ['pending_totals_match_open_holds'],
            account: bob.id,
          },
          {
            what: 'a negative account that may not overdraw',
            corrupt: `update ledger_accounts set no_overdraft = true where id = '${source.id}'`,
            repair: `update ledger_accounts set no_overdraft = false where id = '${source.id}'`,
            broken: ['no_overdraft_never_negative'],
            account: source.id,
          },
          {
            what: 'a transfer naming an account that does not exist',
            corrupt: `update ledger_transfers set credit_account_id = 'acc_ghost' where id = '${aliceToBob.id}'`,
            repair: `update ledger_transfers set credit_account_id = '${bob.id}' where id = '${aliceToBob.id}'`,
            broken: ['references_exist'],
          },
        ];
        for (const { what, corrupt, repair, broken, account } of corruptions) {
          await run(corrupt);
          const report = await scratchLedger.checkInvariants();
          assert.equal(report.ok, false, `${what} goes unnoticed`);
          assert.deepEqual(failingChecks(report), broken, `${what}:\n${formatReport(report)}`);
          if (account) {
            const check = report.checks.find((c) => c.name === broken[0])!;
            assert.ok(
              check.violations.some((v) => v.account === account),
              `${what}: the violation names the account\n${formatReport(report)}`,
            );
          }
          await run(repair);
          assertInvariantsHold(await scratchLedger.checkInvariants());
        }
      } finally {
        await scratch.dispose();
      }
    });
  });
}
