/**
 * The journal's hash chains on both stores: what the database chains inside
 * ledger_write_batch (several entries of one account in one group-committed
 * batch included) verifies with the independent implementation in
 * ledger.chain.ts; an entry altered, re-hashed by a forger, or removed behind
 * the ledger's back is named as the first broken link; entries written before
 * the chain existed are chained by the migration.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Kysely, sql } from 'kysely';
import { Migrator } from 'kysely/migration';
import { openStore } from '../../platform/db/store.ts';
import { migrations } from '../../migrations.ts';
import { openTestStore, testStoreKinds } from '../../../test/support/stores.ts';
import { SystemClock } from '../../platform/clock.ts';
import { type AccountId, LedgerService } from './index.ts';

type TestStore = Awaited<ReturnType<typeof openTestStore>>;

function ledgerOn(db: Kysely<unknown>, mode: 'single' | 'group' = 'group'): LedgerService {
  return new LedgerService({ db: db as never, clock: new SystemClock(), writer: { mode, maxBatchSize: 200, concurrency: 1 } });
}

let counter = 0;
const uniq = (prefix: string) => `${prefix}-${++counter}-${Date.now()}`;

/** A funding account and three wallets with some history; several transfers share each batch. */
async function writeHistory(ledger: LedgerService): Promise<{ wallet: AccountId; wallets: AccountId[] }> {
  const owner = uniq('u');
  const funding = await ledger.openAccount({ ownerKind: 'PLATFORM', ownerId: uniq('platform'), type: 'PLATFORM_FUNDING', currency: 'CNY' });
  const wallets = await Promise.all(
    ['a', 'b', 'c'].map((suffix) => ledger.openAccount({ ownerKind: 'USER', ownerId: `${owner}-${suffix}`, type: 'WALLET', currency: 'CNY' })),
  );
  const ids = wallets.map((w) => w.id);
  // Concurrent submissions land in the same group commit: one account gets several entries in one batch.
  await Promise.all(
    Array.from({ length: 30 }, (_, i) =>
      ledger.transfer({ id: uniq('fund'), debitAccountId: funding.id, creditAccountId: ids[i % 3]!, amountMinor: 1000n + BigInt(i), currency: 'CNY', code: 'recharge' }),
    ),
  );
  await Promise.all(
    Array.from({ length: 12 }, (_, i) =>
      ledger.transfer({ id: uniq('move'), debitAccountId: ids[i % 3]!, creditAccountId: ids[(i + 1) % 3]!, amountMinor: 7n, currency: 'CNY', code: 'transfer' }),
    ),
  );
  const hold = await ledger.transfer({ id: uniq('hold'), debitAccountId: ids[0]!, creditAccountId: funding.id, amountMinor: 500n, currency: 'CNY', code: 'withdraw', pending: {} });
  await ledger.postPending({ id: uniq('post'), pendingId: hold.id, amountMinor: 300n });
  return { wallet: ids[0]!, wallets: ids };
}

/** Recomputes one entry's stored hash from its fields and the previous link, as the database would. */
function rehash(accountId: string, seq: number) {
  return sql`update ledger_entries e set hash = ledger_entry_hash(p.hash, e.account_id, e.seq, e.transfer_id, e.direction, e.amount,
                                                                  e.balance_before, e.balance_after, e.code, e.currency, e.created_at)
             from ledger_entries p where p.account_id = e.account_id and p.seq = e.seq - 1 and e.account_id = ${accountId} and e.seq = ${seq}`;
}

/** What an attacker with database access does: switch the append-only guard off and edit the journal. */
async function behindTheLedger(db: Kysely<unknown>, statement: ReturnType<typeof sql>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`alter table ledger_entries disable trigger ledger_entries_no_change`.execute(trx);
    await statement.execute(trx);
    await sql`alter table ledger_entries enable trigger ledger_entries_no_change`.execute(trx);
  });
}

for (const { kind, skip } of await testStoreKinds()) {
  describe(`journal hash chains (${kind})`, { skip }, () => {
    let store: TestStore;
    let ledger: LedgerService;

    before(async () => {
      store = await openTestStore(kind);
      ledger = ledgerOn(store.db as Kysely<unknown>);
    });
    after(async () => store?.dispose());

    test('what the database chains, the offline verifier accepts', async () => {
      await writeHistory(ledger);
      const report = await ledger.verifyChain();
      assert.equal(report.ok, true, JSON.stringify(report.firstBreak));
      assert.ok(report.entries >= 2 * 43, `walked ${report.entries} entries`);
      assert.equal(report.breaks, 0);
    });

    test('an altered entry is named as the first broken link, and only it', async () => {
      const { wallet } = await writeHistory(ledger);
      const db = store.db as Kysely<unknown>;
      await behindTheLedger(db, sql`update ledger_entries set amount = amount + 100 where account_id = ${wallet} and seq = 3`);
      let report = await ledger.verifyChain();
      assert.equal(report.ok, false);
      assert.deepEqual([report.firstBreak?.accountId, report.firstBreak?.seq, report.firstBreak?.reason], [wallet, '3', 'hash_mismatch']);
      assert.equal(report.breaks, 1);

      // A forger who knows the formula re-hashes the entry: the next link no longer fits.
      await behindTheLedger(db, rehash(wallet, 3));
      report = await ledger.verifyChain();
      assert.deepEqual([report.firstBreak?.accountId, report.firstBreak?.seq, report.firstBreak?.reason], [wallet, '4', 'hash_mismatch']);
      assert.equal(report.breaks, 1);

      // Put back as it was (the hash is a function of the fields): the chain holds again.
      await behindTheLedger(db, sql`update ledger_entries set amount = amount - 100 where account_id = ${wallet} and seq = 3`);
      await behindTheLedger(db, rehash(wallet, 3));
      assert.equal((await ledger.verifyChain()).ok, true);
    });

    test("a removed tail shows against the account's chain head", async () => {
      const { wallets } = await writeHistory(ledger);
      const victim = wallets[1]!;
      const db = store.db as Kysely<unknown>;
      await behindTheLedger(db, sql`delete from ledger_entries where account_id = ${victim} and seq = (select max(seq) from ledger_entries where account_id = ${victim})`);
      const report = await ledger.verifyChain();
      const { rows } = await sql<{ entrySeq: string }>`select entry_seq::text as "entrySeq" from ledger_accounts where id = ${victim}`.execute(db);
      assert.deepEqual(report.firstBreak && [report.firstBreak.accountId, report.firstBreak.seq, report.firstBreak.reason], [victim, rows[0]!.entrySeq, 'head_mismatch']);
      assert.equal(report.breaks, 1);
    });
  });
}

describe('entries written before the chain existed', () => {
  test('are chained by the migration, oldest first per account', async () => {
    const store = await openStore({});
    try {
      const db = store.db as Kysely<unknown>;
      const names = Object.keys(migrations).sort();
      const before = names.filter((name) => name < '2026_12_04_0300_ledger_hash_chain').at(-1)!;
      const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
      assert.equal((await migrator.migrateTo(before)).error, undefined);
      await writeHistory(ledgerOn(db));
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from ledger_entries`.execute(db);
      assert.ok(rows[0]!.n > 0);
      assert.equal((await migrator.migrateToLatest()).error, undefined);
      const report = await ledgerOn(db).verifyChain();
      assert.equal(report.ok, true, JSON.stringify(report.firstBreak));
      assert.equal(report.entries, rows[0]!.n);
    } finally {
      await store.close();
    }
  });
});
