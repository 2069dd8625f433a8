import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';
import type { Logger } from './log.ts';

export interface IntervalJob {
  stop(): Promise<void>;
}

/**
 * Runs `work` every `intervalMs`, never two runs at once; a failing run is
 * logged and the next one comes as usual. Work that must not run twice across
 * processes guards itself in the database (row locks, idempotent ids).
 */
export function startIntervalJob(name: string, intervalMs: number, work: () => Promise<unknown>, logger: Logger): IntervalJob {
  let running: Promise<void> | undefined;
  let stopped = false;
  const tick = () => {
    if (running || stopped) return;
    running = work()
      .then(
        () => undefined,
        (err: unknown) => logger.error({ err, job: name }, `job ${name} failed`),
      )
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Executor = Kysely<any>;

/**
 * Work that one process at a time should do (a whole-journal check, a purge,
 * a sweep of old holds): every process ticks, but only the holder of the
 * job's lease runs it. The holder renews its lease each tick; another process
 * takes over once a dead holder's lease ends (two intervals and 10 s later),
 * or at once after the holder stopped in order. The lease lives on the
 * database clock, so skewed hosts cannot cut it short. It saves work, it does
 * not guard money: the work must stay safe to run twice (as it would be when
 * a run outlasts its lease).
 */
export function startSingletonJob(db: Executor, name: string, intervalMs: number, work: () => Promise<unknown>, logger: Logger): IntervalJob {
  const holder = randomUUID();
  const leaseMs = 2 * intervalMs + 10_000;
  const job = startIntervalJob(name, intervalMs, async () => ((await holdJobLease(db, name, holder, leaseMs)) ? work() : undefined), logger);
  return {
    async stop() {
      await job.stop();
      // A process that stops in order hands the job on at once.
      await sql`delete from job_leases where job = ${name} and holder = ${holder}`.execute(db).catch((err: unknown) => logger.warn({ err, job: name }, 'could not hand the job lease on'));
    },
  };
}

/** Takes the job's lease, or renews it for its holder: false while another process holds it. */
export async function holdJobLease(db: Executor, job: string, holder: string, leaseMs: number): Promise<boolean> {
  const { rows } = await sql`
    insert into job_leases (job, holder, lease_until) values (${job}, ${holder}, now() + ${leaseMs} * interval '1 millisecond')
    on conflict (job) do update set holder = excluded.holder, lease_until = excluded.lease_until
      where job_leases.holder = excluded.holder or job_leases.lease_until < now()
    returning job`.execute(db);
  return rows.length === 1;
}

export const jobLeaseMigrations: Record<string, Migration> = {
  '2026_12_07_0300_job_leases': {
    async up(db: Kysely<unknown>) {
      await sql`create table job_leases (job text primary key, holder text not null, lease_until timestamptz not null)`.execute(db);
    },
    async down(db: Kysely<unknown>) {
      await sql`drop table job_leases`.execute(db);
    },
  },
};
