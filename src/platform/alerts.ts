import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';
import { Type } from 'typebox';
import { newId } from './ids.ts';
import { adminSecurity } from './http/auth.ts';
import { ProblemSchema } from './http/problem.ts';
import type { HttpModule } from './http/server.ts';
import type { JsonValue } from './audit.ts';

/**
 * Admin alerts: something an operator must look at now (the books broke, a
 * queue is stuck). A source raises an alert under a key; raising it again while
 * it is open only counts and refreshes it, so a monitor that runs every few
 * minutes keeps one row per problem. The source resolves its alerts when the
 * problem is gone. Listed at GET /admin/alerts and in the console.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Executor = Kysely<any>;

export interface AlertInput {
  /** Who raises it, e.g. 'ledger.monitor'. */
  source: string;
  /** What it is about, unique among the source's open alerts, e.g. the broken check's name. */
  key: string;
  message: string;
  details: JsonValue;
}

export interface Alert extends AlertInput {
  id: string;
  firstSeenAt: Date;
  lastSeenAt: Date;
  occurrences: number;
  resolvedAt: Date | null;
}

const m001: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`
      create table admin_alerts (
        id text primary key,
        source text not null,
        key text not null,
        message text not null,
        details jsonb not null,
        first_seen_at timestamptz not null,
        last_seen_at timestamptz not null,
        occurrences int not null default 1,
        resolved_at timestamptz
      )`.execute(db);
    await sql`create unique index admin_alerts_open on admin_alerts (source, key) where resolved_at is null`.execute(db);
    await sql`create index admin_alerts_recent on admin_alerts (last_seen_at desc)`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`drop table admin_alerts`.execute(db);
  },
};

export const alertsMigrations: Record<string, Migration> = {
  '2026_12_04_0310_admin_alerts': m001,
};

/** Opens the alert, or counts one more occurrence of the open one with the same source and key. */
export async function raiseAlert(db: Executor, alert: AlertInput, now: Date): Promise<void> {
  await sql`
    insert into admin_alerts (id, source, key, message, details, first_seen_at, last_seen_at)
    values (${newId('alr', now.getTime())}, ${alert.source}, ${alert.key}, ${alert.message}, ${JSON.stringify(alert.details)}::jsonb, ${now}, ${now})
    on conflict (source, key) where resolved_at is null
    do update set message = excluded.message, details = excluded.details, last_seen_at = excluded.last_seen_at,
                  occurrences = admin_alerts.occurrences + 1`.execute(db);
}

/** Resolves the source's open alerts whose key is not among `stillOpen`. */
export async function resolveAlerts(db: Executor, source: string, stillOpen: string[], now: Date): Promise<void> {
  await sql`
    update admin_alerts set resolved_at = ${now}
    where source = ${source} and resolved_at is null and not (key = any(${stillOpen}::text[]))`.execute(db);
}

interface AlertRow {
  id: string;
  source: string;
  key: string;
  message: string;
  details: JsonValue;
  firstSeenAt: Date;
  lastSeenAt: Date;
  occurrences: number;
  resolvedAt: Date | null;
}

export async function listAlerts(db: Executor, options: { open?: boolean; limit?: number } = {}): Promise<Alert[]> {
  const { rows } = await sql<AlertRow>`
    select id, source, key, message, details, first_seen_at as "firstSeenAt", last_seen_at as "lastSeenAt",
           occurrences, resolved_at as "resolvedAt"
    from admin_alerts
    ${options.open ? sql`where resolved_at is null` : sql``}
    order by last_seen_at desc, id desc limit ${options.limit ?? 100}`.execute(db);
  return rows;
}

const AlertView = Type.Object({
  id: Type.String(),
  source: Type.String(),
  key: Type.String(),
  message: Type.String(),
  details: Type.Unknown(),
  firstSeenAt: Type.String({ format: 'date-time' }),
  lastSeenAt: Type.String({ format: 'date-time' }),
  occurrences: Type.Integer(),
  resolvedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

export function alertView(alert: Alert) {
  return {
    ...alert,
    firstSeenAt: alert.firstSeenAt.toISOString(),
    lastSeenAt: alert.lastSeenAt.toISOString(),
    resolvedAt: alert.resolvedAt?.toISOString() ?? null,
  };
}

/** GET /admin/alerts[?open=true]: newest first (the latest 100). */
export function alertsHttpModule(db: Executor): HttpModule {
  return {
    name: 'alerts',
    register(app) {
      app.get(
        '/admin/alerts',
        {
          preHandler: app.requireAdmin,
          schema: {
            tags: ['alerts (admin)'],
            security: adminSecurity,
            summary: 'What needs an operator now: open alerts and recently resolved ones (newest first)',
            querystring: Type.Object({ open: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
            response: { 200: Type.Object({ data: Type.Array(AlertView) }), 400: ProblemSchema, 401: ProblemSchema },
          },
        },
        async (request) => ({ data: (await listAlerts(db, { open: request.query.open === true })).map(alertView) }),
      );
    },
  };
}
