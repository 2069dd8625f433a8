import { type RawBuilder, sql } from 'kysely';
import type { Executor } from './ledger.repository.ts';

export interface InvariantCheck {
  name: string;
  description: string;
  ok: boolean;
  /** Up to 20 offending rows, values as strings. */
  violations: Record<string, string | null>[];
}

export interface InvariantReport {
  ok: boolean;
  checkedAt: string;
  checks: InvariantCheck[];
}

const LIMIT = 20;

/** Each query returns the rows that break one invariant; an empty result means it holds. */
const checks: { name: string; description: string; query: RawBuilder<Record<string, unknown>> }[] = [
  {
    name: 'references_exist',
    description: 'Every transfer names existing accounts (and pending transfer); every entry an existing account and transfer',
    query: sql`
      select 'transfer' as row_kind, t.id as id, t.debit_account_id as debit, t.credit_account_id as credit, t.pending_id as pending
      from ledger_transfers t
      where not exists (select 1 from ledger_accounts a where a.id = t.debit_account_id)
         or not exists (select 1 from ledger_accounts a where a.id = t.credit_account_id)
         or (t.pending_id is not null and not exists (select 1 from ledger_transfers p where p.id = t.pending_id and p.kind = 'PENDING'))
      union all
      select 'entry', e.account_id || ':' || e.seq, e.account_id, e.transfer_id, null
      from ledger_entries e
      where not exists (select 1 from ledger_accounts a where a.id = e.account_id)
         or not exists (select 1 from ledger_transfers t where t.id = e.transfer_id)`,
  },
  {
    name: 'entries_balance_per_currency',
    description: 'Per currency, the sum of all debit entries equals the sum of all credit entries',
    query: sql`
      select currency, coalesce(sum(amount) filter (where direction = 'DEBIT'), 0)::text as debits,
             coalesce(sum(amount) filter (where direction = 'CREDIT'), 0)::text as credits
      from ledger_entries group by currency
      having coalesce(sum(amount) filter (where direction = 'DEBIT'), 0) <> coalesce(sum(amount) filter (where direction = 'CREDIT'), 0)`,
  },
  {
    name: 'accounts_balance_per_currency',
    description: 'Per currency, the posted debits of all accounts equal their posted credits',
    query: sql`
      select currency, sum(posted_debits)::text as debits, sum(posted_credits)::text as credits
      from ledger_accounts group by currency having sum(posted_debits) <> sum(posted_credits)`,
  },
  {
    name: 'account_totals_match_entries',
    description: "Each account's posted totals and entry count equal the sums of its entries",
    query: sql`
      select a.id as account, a.posted_debits::text as posted_debits, coalesce(e.debits, 0)::text as entry_debits,
             a.posted_credits::text as posted_credits, coalesce(e.credits, 0)::text as entry_credits,
             a.entry_seq::text as entry_seq, coalesce(e.n, 0)::text as entries
      from ledger_accounts a
      left join (
        select account_id, count(*) as n, max(seq) as max_seq,
               sum(amount) filter (where direction = 'DEBIT') as debits, sum(amount) filter (where direction = 'CREDIT') as credits
        from ledger_entries group by account_id
      ) e on e.account_id = a.id
      where a.posted_debits <> coalesce(e.debits, 0) or a.posted_credits <> coalesce(e.credits, 0)
         or a.entry_seq <> coalesce(e.n, 0) or a.entry_seq <> coalesce(e.max_seq, 0)`,
  },
  {
    name: 'entry_chain',
    description: "Each account's entries chain: seq 1, 2, 3...; balance before = previous balance after; after = before +/- amount",
    query: sql`
      select account_id as account, seq::text as seq, balance_before::text as balance_before,
             prev_after::text as previous_balance_after, balance_after::text as balance_after, amount::text as amount, direction
      from (
        select e.*, lag(balance_after) over w as prev_after, lag(seq) over w as prev_seq
        from ledger_entries e window w as (partition by account_id order by seq)
      ) x
      where balance_before <> coalesce(prev_after, 0) or seq <> coalesce(prev_seq, 0) + 1
         or balance_after <> balance_before + case when direction = 'CREDIT' then amount else -amount end`,
  },
  {
    name: 'no_overdraft_never_negative',
    description: 'No user or merchant account is negative, now or in any entry',
    query: sql`
      select a.id as account, a.posted_credits::text as posted_credits, a.posted_debits::text as posted_debits,
             a.pending_debits::text as pending_debits, min(e.balance_after)::text as lowest_entry_balance
      from ledger_accounts a left join ledger_entries e on e.account_id = a.id
      where a.no_overdraft
      group by a.id
      having a.posted_debits + a.pending_debits > a.posted_credits or min(e.balance_after) < 0`,
  },
  {
    name: 'pending_totals_match_open_holds',
    description: "Each account's pending debits and credits equal the sums of its open pending transfers",
    query: sql`
      select a.id as account, a.pending_debits::text as pending_debits, coalesce(d.total, 0)::text as open_debit_holds,
             a.pending_credits::text as pending_credits, coalesce(c.total, 0)::text as open_credit_holds
      from ledger_accounts a
      left join (select debit_account_id as id, sum(amount) as total from ledger_transfers where state = 'PENDING' group by 1) d on d.id = a.id
      left join (select credit_account_id as id, sum(amount) as total from ledger_transfers where state = 'PENDING' group by 1) c on c.id = a.id
      where a.pending_debits <> coalesce(d.total, 0) or a.pending_credits <> coalesce(c.total, 0)`,
  },
  {
    name: 'transfers_have_their_entries',
    description: 'Each transfer that moved posted money has exactly one debit and one credit entry of its amount; holds and voids have none',
    query: sql`
      select t.id as transfer, t.kind, t.amount::text as amount, coalesce(e.n, 0)::text as entries,
             e.debits::text as entry_debits, e.credits::text as entry_credits
      from ledger_transfers t
      left join (
        select le.transfer_id, count(*) as n,
               sum(le.amount) filter (where le.direction = 'DEBIT') as debits,
               sum(le.amount) filter (where le.direction = 'CREDIT') as credits,
               bool_and((le.direction = 'DEBIT') = (le.account_id = t2.debit_account_id)) as sides_right
        from ledger_entries le join ledger_transfers t2 on t2.id = le.transfer_id group by le.transfer_id
      ) e on e.transfer_id = t.id
      where case when t.kind = 'POSTED' or (t.kind = 'POST_PENDING' and t.amount > 0)
                 then e.n is distinct from 2 or e.debits <> t.amount or e.credits <> t.amount or not e.sides_right
                 else e.n is not null end`,
  },
];

export async function checkInvariants(db: Executor): Promise<InvariantReport> {
  const results: InvariantCheck[] = [];
  // One snapshot for every check, so a transfer committing midway cannot look like a break.
  await db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute(async (trx) => {
    for (const check of checks) {
      const { rows } = await sql<Record<string, unknown>>`select * from (${check.query}) broken limit ${LIMIT}`.execute(trx);
      results.push({
        name: check.name,
        description: check.description,
        ok: rows.length === 0,
        violations: rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v == null ? null : String(v)]))),
      });
    }
  });
  return { ok: results.every((c) => c.ok), checkedAt: new Date().toISOString(), checks: results };
}

export function formatReport(report: InvariantReport): string {
  const lines = report.checks.map((check) => {
    const head = `${check.ok ? 'ok  ' : 'FAIL'} ${check.name}: ${check.description}`;
    return [head, ...check.violations.map((v) => `       ${JSON.stringify(v)}`)].join('\n');
  });
  lines.push(report.ok ? 'All ledger invariants hold.' : 'LEDGER INVARIANTS BROKEN.');
  return lines.join('\n');
}
