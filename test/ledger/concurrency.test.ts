/**
 * The ledger under real concurrency: several LedgerService instances, each on
 * its own connection pool to one PostgreSQL database (as several Coffer
 * processes would be), mixing group and single commit, all at once. Only the
 * server store can run this; without a server the suite is skipped loudly (and
 * fails in CI, see testStoreKinds).
 *
 * What must hold: money moves exactly as the successful calls say; a balance
 * that may not overdraw is never overdrawn (not even in one entry); an id moves
 * money once however many processes submit it; a hold is finished exactly once;
 * and no database conflict (deadlock, serialization failure, stale plan) ever
 * reaches a caller: every refusal is a DomainError with a business code.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openTestStore, testStoreKinds } from '../support/stores.ts';
import {
  type Account,
  balancesOf,
  formatReport,
  LedgerService,
  type Transfer,
  type TransferRequest,
} from '../../src/modules/ledger/index.ts';
import type { Clock } from '../../src/platform/clock.ts';
import { openStore, type Store } from '../../src/platform/db/store.ts';
import { DomainError, type ErrorCode } from '../../src/platform/errors.ts';

class FixedClock implements Clock {
  constructor(private readonly ms: number) {}
  now(): Date {
    return new Date(this.ms);
  }
}

/** A small seeded generator (mulberry32), so the workload of a failing run can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Instance {
  name: string;
  ledger: LedgerService;
  store: Store;
  grouped: boolean;
}

/** Asserts every rejection is a DomainError with one of the expected codes; returns the outcomes. */
function outcomes<T>(settled: PromiseSettledResult<T>[], expected: ErrorCode[], what: string): (T | DomainError)[] {
  return settled.map((s) => {
    if (s.status === 'fulfilled') return s.value;
    const err = s.reason;
    assert.ok(err instanceof DomainError, `${what}: a caller got something other than a DomainError: ${(err as Error)?.stack ?? String(err)}`);
    assert.ok(expected.includes(err.code), `${what}: unexpected ${err.code}: ${err.message}`);
    return err;
  });
}

const server = (await testStoreKinds()).find((k) => k.kind === 'postgres')!;
const seed = Number(process.env.LEDGER_CONCURRENCY_SEED ?? Math.floor(Math.random() * 2 ** 31));

describe('ledger under concurrency: several processes on one PostgreSQL database', { skip: server.skip }, () => {
  const clock = new FixedClock(Date.parse('2026-06-01T12:00:00.000Z'));
  let base: Awaited<ReturnType<typeof openTestStore>>;
  /** Arranges and reads the books; not one of the "processes" under test. */
  let admin: LedgerService;
  const instances: Instance[] = [];
  let counter = 0;
  const nextId = (prefix: string) => `${prefix}-${++counter}`;

  before(async () => {
    console.log(`# ledger concurrency: workload seed ${seed} (replay with LEDGER_CONCURRENCY_SEED=${seed})`);
    base = await openTestStore('postgres', 4);
    admin = new LedgerService({ db: base.db, clock, writer: { mode: 'group', maxBatchSize: 500, concurrency: 1 } });
    const shapes = [
      { grouped: true, concurrency: 2 },
      { grouped: false, concurrency: 1 },
      { grouped: true, concurrency: 1 },
      { grouped: false, concurrency: 1 },
    ];
    for (const [i, shape] of shapes.entries()) {
      const store = await openStore({ databaseUrl: base.url, poolSize: 5 });
      const ledger = new LedgerService({
        db: store.db,
        clock,
        writer: { mode: shape.grouped ? 'group' : 'single', maxBatchSize: 500, concurrency: shape.concurrency },
      });
      instances.push({ name: `process ${i} (${shape.grouped ? 'group' : 'single'})`, ledger, store, grouped: shape.grouped });
    }
  });

  after(async () => {
    for (const instance of instances) await instance.store.close();
    await base?.dispose();
  });

  async function users(count: number, fundedWith: bigint): Promise<Account[]> {
    const funding = await admin.openAccount({ ownerKind: 'PLATFORM', ownerId: nextId('funding'), type: 'PLATFORM_FUNDING', currency: 'CNY' });
    const opened = await Promise.all(
      Array.from({ length: count }, () => admin.openAccount({ ownerKind: 'USER', ownerId: nextId('user'), type: 'WALLET', currency: 'CNY' })),
    );
    if (fundedWith > 0n) {
      await Promise.all(
        opened.map((u) =>
          admin.transfer({ id: nextId('fund'), debitAccountId: funding.id, creditAccountId: u.id, amountMinor: fundedWith, currency: 'CNY', code: 'recharge' }),
        ),
      );
    }
    return opened;
  }

  function platform(type: Account['type']): Promise<Account> {
    return admin.openAccount({ ownerKind: 'PLATFORM', ownerId: nextId('platform'), type, currency: 'CNY' });
  }

  async function balance(account: Account): Promise<bigint> {
    return balancesOf(await admin.getAccount(account.id)).balance;
  }

  async function expectInvariants(): Promise<void> {
    const report = await admin.checkInvariants();
    assert.ok(report.ok, formatReport(report));
  }

  test('20,000 transfers from four processes through one hot account and 50 users: every balance is what the successful transfers say', async () => {
    const TOTAL = 20_000;
    const START = 2_000n;
    const people = await users(50, START);
    const hot = await admin.platformAccount('DEPOSITORY_CLEARING', 'CNY');
    const hotBefore = await balance(hot);
    const hotSeqBefore = (await admin.entries(hot.id, { limit: 1 })).data[0]?.seq ?? 0n;
    let hotMoves = 0n;
    const next = random(seed);
    const pick = () => people[Math.floor(next() * people.length)]!;
    const requests: TransferRequest[] = Array.from({ length: TOTAL }, (_, n) => {
      const r = next();
      let debit: Account;
      let credit: Account;
      // More goes out than comes in, so users run dry and some transfers are refused.
      if (r < 0.3) [debit, credit] = [hot, pick()]; // a top-up through the clearing account
      else if (r < 0.65) [debit, credit] = [pick(), hot]; // a withdrawal
      else {
        debit = pick();
        credit = pick();
        if (credit.id === debit.id) credit = people[(people.indexOf(debit) + 1) % people.length]!;
      }
      return {
        id: `hammer-${seed}-${n}`,
        debitAccountId: debit.id,
        creditAccountId: credit.id,
        amountMinor: BigInt(1 + Math.floor(next() * 400)),
        currency: 'CNY',
        code: 'transfer',
      };
    });

    const delta = new Map<string, bigint>();
    let issued = 0;
    let refused = 0;
    const byInstance = new Map<string, number>();
    const lane = async (instance: Instance) => {
      while (issued < TOTAL) {
        const request = requests[issued++]!;
        const [settled] = await Promise.allSettled([instance.ledger.transfer(request)]);
        const [outcome] = outcomes([settled!], ['INSUFFICIENT_FUNDS'], instance.name);
        byInstance.set(instance.name, (byInstance.get(instance.name) ?? 0) + 1);
        if (outcome instanceof DomainError) {
          assert.notEqual(request.debitAccountId, hot.id, 'the platform account may go negative');
          refused++;
          continue;
        }
        if (request.debitAccountId === hot.id || request.creditAccountId === hot.id) hotMoves++;
        delta.set(request.debitAccountId, (delta.get(request.debitAccountId) ?? 0n) - request.amountMinor);
        delta.set(request.creditAccountId, (delta.get(request.creditAccountId) ?? 0n) + request.amountMinor);
      }
    };
    const started = performance.now();
    await Promise.all(instances.flatMap((instance) => Array.from({ length: instance.grouped ? 48 : 5 }, () => lane(instance))));
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `# ${TOTAL} transfers in ${seconds.toFixed(1)} s (${Math.round(TOTAL / seconds)}/s), ${refused} refused for insufficient funds; ` +
        [...byInstance].map(([name, n]) => `${name}: ${n}`).join(', '),
    );

    assert.ok(refused < TOTAL / 2, 'most transfers went through');
    assert.equal(await balance(hot), hotBefore + (delta.get(hot.id) ?? 0n));
    for (const person of people) {
      const stored = balancesOf(await admin.getAccount(person.id));
      assert.equal(stored.balance, START + (delta.get(person.id) ?? 0n));
      assert.ok(stored.balance >= 0n);
    }
    // The hot account's bill has one entry per successful transfer through it, the newest showing its balance.
    const [newest] = (await admin.entries(hot.id, { limit: 1 })).data;
    assert.equal(newest!.balanceAfterMinor, await balance(hot));
    assert.equal(newest!.seq, hotSeqBefore + hotMoves);
    await expectInvariants();
  });

  test('hundreds of concurrent debits of one small balance from four processes: exactly floor(balance / amount) succeed, never below zero', async () => {
    const [payer] = await users(1, 1_000n);
    const sink = await platform('PAYOUT_CLEARING');
    const AMOUNT = 7n;
    const calls: Promise<unknown>[] = [];
    const kinds: ('transfer' | 'hold' | 'roundTrip')[] = [];
    for (const instance of instances) {
      for (let i = 0; i < 100; i++) {
        const kind = i % 5 === 0 ? 'roundTrip' : i % 2 === 0 ? 'hold' : 'transfer';
        kinds.push(kind);
        const base = { debitAccountId: payer!.id, creditAccountId: sink.id, amountMinor: AMOUNT, currency: 'CNY' as const, code: 'payout' as const };
        if (kind === 'roundTrip') {
          // Takes the money out and puts it back in one linked group: net zero, but it needs the money to be there.
          calls.push(
            instance.ledger.linkedTransfers([
              { ...base, id: nextId('out') },
              { ...base, id: nextId('back'), debitAccountId: sink.id, creditAccountId: payer!.id },
            ]),
          );
        } else {
          calls.push(instance.ledger.transfer({ ...base, id: nextId(kind), ...(kind === 'hold' ? { pending: {} } : {}) }));
        }
      }
    }
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const seen = balancesOf(await admin.getAccount(payer!.id));
        assert.ok(seen.balance >= 0n && seen.available >= 0n, `the payer went below zero: ${seen.balance} / ${seen.available}`);
      }
    })();
    const settled = await Promise.allSettled(calls);
    watching = false;
    await watcher;

    const results = outcomes(settled, ['INSUFFICIENT_FUNDS'], 'debits of one balance');
    const debits = results.filter((r, i) => kinds[i] !== 'roundTrip' && !(r instanceof DomainError));
    assert.equal(debits.length, Math.floor(1_000 / 7));
    const moved = results.filter((r, i) => kinds[i] === 'transfer' && !(r instanceof DomainError)).length;
    const held = results.filter((r, i) => kinds[i] === 'hold' && !(r instanceof DomainError)).length;
    assert.deepEqual(balancesOf(await admin.getAccount(payer!.id)), {
      balance: 1_000n - BigInt(moved) * AMOUNT,
      available: 1_000n % AMOUNT,
      pendingDebits: BigInt(held) * AMOUNT,
      pendingCredits: 0n,
    });
    await expectInvariants();
  });

  test('one transfer id submitted five times by each of four processes at once moves money once; every caller gets the same transfer', async () => {
    const payers = await users(10, 1_000n);
    const payee = (await users(1, 0n))[0]!;
    const requests = payers.map((p, i) => ({
      id: nextId('same'),
      debitAccountId: p.id,
      creditAccountId: payee.id,
      amountMinor: BigInt(100 + i),
      currency: 'CNY' as const,
      code: 'transfer' as const,
      reference: `order-${i}`,
      metadata: { attempt: 'any' },
    }));
    const calls: { request: TransferRequest; promise: Promise<Transfer> }[] = [];
    for (let round = 0; round < 5; round++) {
      for (const instance of instances) for (const request of requests) calls.push({ request, promise: instance.ledger.transfer({ ...request }) });
    }
    const results = outcomes(await Promise.allSettled(calls.map((c) => c.promise)), [], 'replays') as Transfer[];
    for (const request of requests) {
      const answers = results.filter((_, i) => calls[i]!.request === request);
      assert.equal(answers.length, 20);
      for (const answer of answers) assert.deepEqual(answer, answers[0], `every caller of ${request.id} gets the same transfer`);
      assert.deepEqual(await admin.getTransfer(request.id), answers[0]);
    }
    for (const [i, payer] of payers.entries()) assert.equal(await balance(payer), 1_000n - BigInt(100 + i));
    assert.equal(await balance(payee), requests.reduce((sum, r) => sum + r.amountMinor, 0n));
    assert.equal((await admin.entries(payee.id, { limit: 200 })).data.length, requests.length);
    await expectInvariants();
  });

  test('one id with different content from each process at once: exactly one content wins, the others are TRANSFER_ID_CONFLICT', async () => {
    const [payer] = await users(1, 1_000n);
    const payee = (await users(1, 0n))[0]!;
    const id = nextId('contested');
    const calls = instances.flatMap((instance, i) =>
      Array.from({ length: 3 }, () =>
        instance.ledger.transfer({ id, debitAccountId: payer!.id, creditAccountId: payee.id, amountMinor: BigInt(10 + i), currency: 'CNY', code: 'transfer' }),
      ),
    );
    const results = outcomes(await Promise.allSettled(calls), ['TRANSFER_ID_CONFLICT'], 'contested id');
    const winners = results.filter((r): r is Transfer => !(r instanceof DomainError));
    assert.ok(winners.length >= 3, 'at least the winning process gets its three calls through');
    assert.equal(new Set(winners.map((w) => w.amountMinor)).size, 1, 'one content won');
    const won = winners[0]!.amountMinor;
    assert.equal(results.filter((r) => r instanceof DomainError).length, 12 - winners.length);
    assert.equal(winners.length, 3, 'only the calls with the winning content succeed');
    assert.equal(await balance(payee), won);
    assert.equal(await balance(payer!), 1_000n - won);
    await expectInvariants();
  });

  test('posts and voids of the same holds from four processes at once: every hold is finished exactly once', async () => {
    const HOLDS = 40;
    const [payer] = await users(1, 1_000n);
    const merchant = await platform('PAYOUT_CLEARING');
    const holds = await Promise.all(
      Array.from({ length: HOLDS }, () =>
        admin.transfer({ id: nextId('hold'), debitAccountId: payer!.id, creditAccountId: merchant.id, amountMinor: 10n, currency: 'CNY', code: 'payout', pending: {} }),
      ),
    );
    const calls: { holdId: string; op: 'post' | 'void'; id: string; promise: Promise<Transfer> }[] = [];
    for (const hold of holds) {
      for (const [i, instance] of instances.entries()) {
        const postId = `post-${hold.id}-${i}`;
        const voidId = `void-${hold.id}-${i}`;
        // Each process sends its post twice (a retry) and its void once; a third of posts are partial.
        const amountMinor = holds.indexOf(hold) % 3 === 0 ? 4n : undefined;
        for (let n = 0; n < 2; n++) {
          calls.push({ holdId: hold.id, op: 'post', id: postId, promise: instance.ledger.postPending({ id: postId, pendingId: hold.id, ...(amountMinor ? { amountMinor } : {}) }) });
        }
        calls.push({ holdId: hold.id, op: 'void', id: voidId, promise: instance.ledger.voidPending({ id: voidId, pendingId: hold.id }) });
      }
    }
    const results = outcomes(await Promise.allSettled(calls.map((c) => c.promise)), ['PENDING_TRANSFER_ALREADY_FINAL'], 'posts and voids');
    let postedTotal = 0n;
    for (const hold of holds) {
      const winners = new Set(calls.filter((c, i) => c.holdId === hold.id && !(results[i] instanceof DomainError)).map((c) => c.id));
      assert.equal(winners.size, 1, `hold ${hold.id} was finished by ${[...winners].join(', ') || 'nobody'}`);
      const [winner] = [...winners];
      const stored = await admin.getTransfer(hold.id);
      if (winner!.startsWith('post-')) {
        assert.equal(stored.state, 'POSTED');
        postedTotal += stored.postedAmountMinor!;
      } else {
        assert.equal(stored.state, 'VOIDED');
      }
      // A retried post got the same answer both times.
      const answers = calls.map((c, i) => ({ c, r: results[i] })).filter(({ c }) => c.id === winner);
      for (const { r } of answers) assert.deepEqual(r, answers[0]!.r);
    }
    assert.deepEqual(balancesOf(await admin.getAccount(payer!.id)), {
      balance: 1_000n - postedTotal,
      available: 1_000n - postedTotal,
      pendingDebits: 0n,
      pendingCredits: 0n,
    });
    assert.equal(await balance(merchant), postedTotal);
    await expectInvariants();
  });
});
