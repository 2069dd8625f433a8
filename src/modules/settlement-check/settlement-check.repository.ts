import { type Kysely, sql } from 'kysely';
import type { Break, Run, RunStatus } from './settlement-check.types.ts';

/** SQL only; the same statements run on PGlite and a PostgreSQL server. */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Executor = Kysely<any>;

/** A stored finding: a break, or an item still in flight (type PENDING). */
export type Finding = Omit<Break, 'type'> & { type: Break['type'] | 'PENDING' };

const runColumns = sql`
  date, status, items, matched, pending, breaks, runs, error, statement_sha256 as "statementSha256",
  started_at as "startedAt", finished_at as "finishedAt"`;

/**
 * Claims the day for one run: the row is created if new, and leased (on the
 * database clock) unless another run holds an unexpired lease. False: another
 * process is checking that day now.
 */
export async function claimDay(db: Executor, date: string, token: string, leaseMs: number, now: Date): Promise<boolean> {
  await sql`
    insert into settlement_check_runs (date, status, started_at) values (${date}, 'RUNNING', ${now})
    on conflict (date) do nothing`.execute(db);
  const { rows } = await sql<{ date: string }>`
    update settlement_check_runs
    set lease_token = ${token}, lease_until = now() + ${leaseMs}::float8 * interval '1 millisecond', started_at = ${now}
    where date = ${date} and (lease_until is null or lease_until < now())
    returning date`.execute(db);
  return rows.length === 1;
}

export interface RunResult {
  status: Exclude<RunStatus, 'RUNNING'>;
  items: number;
  matched: number;
  pending: number;
  breaks: number;
  error: string | null;
  statementSha256: string | null;
}

/**
 * Records a run's result and, unless it failed, replaces the day's findings,
 * fenced by the lease token: false (and nothing written) when the lease was
 * lost to another process meanwhile.
 */
export async function finishRun(db: Executor, date: string, token: string, result: RunResult, findings: Finding[] | undefined, now: Date): Promise<boolean> {
  const { rows } = await sql<{ date: string }>`
    update settlement_check_runs
    set status = ${result.status}, items = ${result.items}, matched = ${result.matched}, pending = ${result.pending},
        breaks = ${result.breaks}, error = ${result.error}, statement_sha256 = coalesce(${result.statementSha256}, statement_sha256),
        runs = runs + 1, finished_at = ${now}, lease_token = null, lease_until = null
    where date = ${date} and lease_token = ${token}
    returning date`.execute(db);
  if (rows.length === 0) return false;
  if (findings) {
    await sql`delete from settlement_check_findings where date = ${date}`.execute(db);
    if (findings.length > 0) {
      await sql`
        insert into settlement_check_findings (date, seq, type, kind, business_id, odd, ledger, records, bank, detail)
        select ${date}, f.seq, f.type, f.kind, f.business_id, f.odd, f.ledger, f.records, f.bank, f.detail
        from unnest(${findings.map((_, i) => i + 1)}::int[], ${findings.map((f) => f.type)}::text[], ${findings.map((f) => f.kind)}::text[],
                    ${findings.map((f) => f.businessId)}::text[], ${findings.map((f) => f.odd)}::text[], ${findings.map((f) => f.ledger)}::text[],
                    ${findings.map((f) => f.records)}::text[], ${findings.map((f) => f.bank)}::text[], ${findings.map((f) => f.detail)}::text[])
          as f(seq, type, kind, business_id, odd, ledger, records, bank, detail)`.execute(db);
    }
  }
  return true;
}

export async function findRun(db: Executor, date: string): Promise<Run | undefined> {
  const { rows } = await sql<Run>`select ${runColumns} from settlement_check_runs where date = ${date}`.execute(db);
  return rows[0];
}

/** Newest day first; `before` (a date) pages on. */
export async function listRuns(db: Executor, limit: number, before?: string): Promise<Run[]> {
  const { rows } = await sql<Run>`
    select ${runColumns} from settlement_check_runs
    ${before ? sql`where date < ${before}` : sql``}
    order by date desc limit ${limit}`.execute(db);
  return rows;
}

export async function findingsOf(db: Executor, date: string): Promise<Finding[]> {
  const { rows } = await sql<Finding>`
    select type, kind, business_id as "businessId", odd, ledger, records, bank, detail
    from settlement_check_findings where date = ${date} order by seq`.execute(db);
  return rows;
}

/**
 * Days from `since` on whose latest result is not final yet (items in flight, or the run failed)
 * and was recorded before `finishedBefore`, and days whose first run died (its lease ran out
 * with nothing recorded), oldest first.
 */
export async function daysToRecheck(db: Executor, since: string, finishedBefore: Date): Promise<string[]> {
  const { rows } = await sql<{ date: string }>`
    select date from settlement_check_runs
    where date >= ${since}
      and ((status in ('PENDING', 'ERROR') and finished_at < ${finishedBefore}) or (status = 'RUNNING' and lease_until < now()))
    order by date`.execute(db);
  return rows.map((r) => r.date);
}

/** Days whose latest run found breaks (their alerts stay open). */
export async function brokenDays(db: Executor): Promise<string[]> {
  const { rows } = await sql<{ date: string }>`select date from settlement_check_runs where status = 'BROKEN'`.execute(db);
  return rows.map((r) => r.date);
}
