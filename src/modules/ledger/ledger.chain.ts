/**
 * Verifies the journal's hash chains (see ledger_entry_hash in the migrations)
 * without trusting the database's own function: the link text is rebuilt here
 * and hashed with node:crypto. Entries are read in the primary key's order in
 * pages, so a hot account with millions of entries is streamed, not loaded.
 */
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { Executor } from './ledger.repository.ts';

export type ChainBreakReason =
  /** The entry's stored hash is not the hash of its fields and the previous link. */
  | 'hash_mismatch'
  /** Sequence numbers skip or repeat: an entry was removed or inserted. */
  | 'sequence_gap'
  /** The account's chain head (count or last hash) is not its last entry: a tail was removed or the head forged. */
  | 'head_mismatch';

export interface ChainBreak {
  accountId: string;
  /** The first link that does not hold (for head_mismatch: the account's entry count as recorded). */
  seq: string;
  reason: ChainBreakReason;
  expected: string | null;
  found: string | null;
}

export interface ChainReport {
  ok: boolean;
  checkedAt: string;
  accounts: number;
  entries: number;
  /** The first break in (account, seq) order; every break is counted in `breaks`. */
  firstBreak: ChainBreak | null;
  breaks: number;
}

export interface ChainEntryFields {
  accountId: string;
  seq: bigint;
  transferId: string;
  direction: string;
  amount: bigint;
  balanceBefore: bigint;
  balanceAfter: bigint;
  code: string;
  currency: string;
  /** created_at in microseconds since the epoch, as the database stores it. */
  createdAtMicros: bigint;
}

/** The link hash, exactly as ledger_entry_hash computes it. */
export function entryHash(previous: Buffer | null, entry: ChainEntryFields): Buffer {
  const text = [
    previous ? previous.toString('hex') : '',
    entry.accountId,
    entry.seq,
    entry.transferId,
    entry.direction,
    entry.amount,
    entry.balanceBefore,
    entry.balanceAfter,
    entry.code,
    entry.currency,
    entry.createdAtMicros,
  ].join('|');
  return createHash('sha256').update(text, 'utf8').digest();
}

interface EntryRow extends ChainEntryFields {
  hash: Buffer;
  headSeq: bigint;
  headHash: Buffer | null;
}

const PAGE = 5000;

function hex(value: Buffer | null): string | null {
  return value ? value.toString('hex') : null;
}

async function readPage(db: Executor, after: { accountId: string; seq: bigint } | null): Promise<EntryRow[]> {
  const { rows } = await sql<EntryRow>`
    select e.account_id as "accountId", e.seq, e.transfer_id as "transferId", e.direction, e.amount,
           e.balance_before as "balanceBefore", e.balance_after as "balanceAfter", e.code, e.currency,
           (extract(epoch from e.created_at) * 1000000)::int8 as "createdAtMicros", e.hash,
           a.entry_seq as "headSeq", a.last_entry_hash as "headHash"
    from ledger_entries e join ledger_accounts a on a.id = e.account_id
    ${after ? sql`where (e.account_id, e.seq) > (${after.accountId}, ${after.seq})` : sql``}
    order by e.account_id, e.seq
    limit ${PAGE}`.execute(db);
  // The embedded store answers bytea as a Uint8Array, pg as a Buffer.
  return rows.map((row) => ({ ...row, hash: Buffer.from(row.hash), headHash: row.headHash && Buffer.from(row.headHash) }));
}

/** Accounts that claim a chain head but have no entries at all. */
async function headsWithoutEntries(db: Executor): Promise<ChainBreak[]> {
  const { rows } = await sql<{ id: string; entrySeq: bigint; head: Buffer | null }>`
    select a.id, a.entry_seq as "entrySeq", a.last_entry_hash as head from ledger_accounts a
    where (a.entry_seq <> 0 or a.last_entry_hash is not null)
      and not exists (select 1 from ledger_entries e where e.account_id = a.id)
    order by a.id`.execute(db);
  return rows.map((row) => ({ accountId: row.id, seq: String(row.entrySeq), reason: 'head_mismatch', expected: null, found: hex(row.head && Buffer.from(row.head)) }));
}

/** Walks entries in (account, seq) order, one account's chain after another. */
class ChainWalk {
  accounts = 0;
  entries = 0;
  readonly breaks: ChainBreak[] = [];
  /** The last entry seen of the account being walked. */
  private last: EntryRow | null = null;

  visit(row: EntryRow): void {
    const sameAccount = row.accountId === this.last?.accountId;
    if (!sameAccount) {
      this.finish();
      this.accounts += 1;
    }
    const previous = sameAccount ? this.last : null;
    this.entries += 1;
    const expectedSeq = (previous?.seq ?? 0n) + 1n;
    if (row.seq !== expectedSeq) this.fail(row.accountId, row.seq, 'sequence_gap', String(expectedSeq), String(row.seq));
    // Each link is checked against the stored previous hash, so one altered entry is named once, not with every one after it.
    const expected = entryHash(previous?.hash ?? null, row);
    if (!expected.equals(row.hash)) this.fail(row.accountId, row.seq, 'hash_mismatch', hex(expected), hex(row.hash));
    this.last = row;
  }

  /** Checks the walked account's head against its last entry. */
  finish(): void {
    const last = this.last;
    if (!last) return;
    if (last.headSeq !== last.seq || !last.headHash?.equals(last.hash)) {
      this.fail(last.accountId, last.headSeq, 'head_mismatch', `${last.seq}:${hex(last.hash)}`, `${last.headSeq}:${hex(last.headHash)}`);
    }
    this.last = null;
  }

  private fail(accountId: string, seq: bigint, reason: ChainBreakReason, expected: string | null, found: string | null): void {
    this.breaks.push({ accountId, seq: String(seq), reason, expected, found });
  }
}

export async function verifyChain(db: Executor, now: Date = new Date()): Promise<ChainReport> {
  const walk = new ChainWalk();
  let extra: ChainBreak[] = [];
  // One snapshot, so transfers committing meanwhile cannot look like a break.
  await db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute(async (trx) => {
    let after: { accountId: string; seq: bigint } | null = null;
    for (;;) {
      const page = await readPage(trx, after);
      for (const row of page) walk.visit(row);
      if (page.length < PAGE) break;
      const last = page[page.length - 1]!;
      after = { accountId: last.accountId, seq: last.seq };
    }
    walk.finish();
    extra = await headsWithoutEntries(trx);
  });
  const breaks = [...walk.breaks, ...extra];
  return {
    ok: breaks.length === 0,
    checkedAt: now.toISOString(),
    accounts: walk.accounts,
    entries: walk.entries,
    firstBreak: breaks[0] ?? null,
    breaks: breaks.length,
  };
}

export function formatChainReport(report: ChainReport): string {
  const head = `Checked ${report.entries} entries in ${report.accounts} account chains.`;
  if (report.ok) return `${head}\nThe journal's hash chains are intact.`;
  const b = report.firstBreak!;
  return [
    head,
    `JOURNAL CHAIN BROKEN: ${report.breaks} break(s). First: account ${b.accountId}, entry ${b.seq} (${b.reason})`,
    `  expected ${b.expected ?? '-'}`,
    `  found    ${b.found ?? '-'}`,
  ].join('\n');
}
