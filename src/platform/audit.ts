import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';
import { Type } from 'typebox';
import { DomainError } from './errors.ts';
import { newId } from './ids.ts';
import { adminSecurity } from './http/auth.ts';
import { ProblemSchema } from './http/problem.ts';
import type { HttpModule } from './http/server.ts';

/**
 * The audit log: who did what to which subject, when, with the subject's state
 * before and after. A module writes its entry with `recordAudit(tx, ...)` on
 * the transaction that makes the change, so a change and its entry commit or
 * roll back together: there is no change without its entry, and no entry for
 * a change that did not happen. Append-only (a trigger refuses updates and
 * deletes), like the ledger's journal.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Executor = Kysely<any>;

/** Who acted: an admin credential, an operator, a merchant's API key, or the system itself. */
export interface Principal {
  /** 'admin-token' | 'operator' | 'merchant-key' | 'system' (open: later modules may add kinds). */
  kind: string;
  id: string;
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface AuditInput {
  principal: Principal;
  /** What happened, `subject.verb`: 'merchant.create', 'merchant.activate', 'api_key.revoke', ... */
  action: string;
  subject: { kind: string; id: string };
  before: JsonValue | null;
  after: JsonValue | null;
  /** The HTTP request that caused it, when there was one. */
  requestId?: string | undefined;
}

export interface AuditEntry extends AuditInput {
  id: string;
  at: Date;
}

const m001: Migration = {
  async up(db: Kysely<unknown>) {
    await sql`
      create table audit_log (
        seq bigint generated always as identity unique,
        id text primary key,
        at timestamptz not null,
        principal_kind text not null check (principal_kind <> ''),
        principal_id text not null check (principal_id <> ''),
        action text not null check (action <> ''),
        subject_kind text not null,
        subject_id text not null,
        before jsonb,
        after jsonb,
        request_id text
      )`.execute(db);
    await sql`create index audit_log_subject on audit_log (subject_id, seq)`.execute(db);
    await sql`
      create function audit_log_append_only() returns trigger language plpgsql as $$
      begin
        raise exception 'audit_log is append-only';
      end $$`.execute(db);
    await sql`
      create trigger audit_log_append_only before update or delete on audit_log
      for each row execute function audit_log_append_only()`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await sql`drop table audit_log`.execute(db);
    await sql`drop function audit_log_append_only`.execute(db);
  },
};

export const auditMigrations: Record<string, Migration> = {
  '2026_11_22_0400_audit': m001,
};

function json(value: JsonValue | null): string | null {
  return value === null ? null : JSON.stringify(value);
}

/** Writes one entry on `tx`: call it inside the transaction that makes the change. */
export async function recordAudit(tx: Executor, entry: AuditInput, at: Date): Promise<string> {
  const id = newId('aud', at.getTime());
  await sql`
    insert into audit_log (id, at, principal_kind, principal_id, action, subject_kind, subject_id, before, after, request_id)
    values (${id}, ${at}, ${entry.principal.kind}, ${entry.principal.id}, ${entry.action},
      ${entry.subject.kind}, ${entry.subject.id}, ${json(entry.before)}::jsonb, ${json(entry.after)}::jsonb,
      ${entry.requestId ?? null})`.execute(tx);
  return id;
}

interface AuditRow {
  id: string;
  at: Date;
  principalKind: string;
  principalId: string;
  action: string;
  subjectKind: string;
  subjectId: string;
  before: JsonValue | null;
  after: JsonValue | null;
  requestId: string | null;
}

export interface AuditQuery {
  limit?: number | undefined;
  /** The id of the last entry of the previous page (pages go newest first). */
  startingAfter?: string | undefined;
  subjectId?: string | undefined;
  action?: string | undefined;
}

/**
 * Entries newest first, in the order they were written (`seq`, an identity:
 * ids are only millisecond-ordered). The cursor is the last entry's id.
 */
export async function listAudit(db: Executor, query: AuditQuery = {}): Promise<{ data: AuditEntry[]; hasMore: boolean }> {
  const limit = Math.min(Math.max(query.limit ?? 50, 1), 200);
  const { rows } = await sql<AuditRow>`
    select id, at, principal_kind as "principalKind", principal_id as "principalId", action,
      subject_kind as "subjectKind", subject_id as "subjectId", before, after, request_id as "requestId"
    from audit_log
    where ${query.startingAfter === undefined ? sql`true` : sql`seq < (select seq from audit_log where id = ${query.startingAfter})`}
      and ${query.subjectId === undefined ? sql`true` : sql`subject_id = ${query.subjectId}`}
      and ${query.action === undefined ? sql`true` : sql`action = ${query.action}`}
    order by seq desc limit ${limit + 1}`.execute(db);
  return {
    data: rows.slice(0, limit).map((row) => ({
      id: row.id,
      at: row.at,
      principal: { kind: row.principalKind, id: row.principalId },
      action: row.action,
      subject: { kind: row.subjectKind, id: row.subjectId },
      before: row.before,
      after: row.after,
      requestId: row.requestId ?? undefined,
    })),
    hasMore: rows.length > limit,
  };
}

const AuditEntryView = Type.Object({
  id: Type.String(),
  at: Type.String({ format: 'date-time' }),
  principal: Type.Object({ kind: Type.String(), id: Type.String() }),
  action: Type.String(),
  subject: Type.Object({ kind: Type.String(), id: Type.String() }),
  before: Type.Unknown(),
  after: Type.Unknown(),
  requestId: Type.Union([Type.String(), Type.Null()]),
});

const AuditQuerySchema = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
    startingAfter: Type.Optional(Type.String({ maxLength: 64, description: 'The id of the last entry of the previous page' })),
    subjectId: Type.Optional(Type.String({ maxLength: 64 })),
    action: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);

/** GET /admin/audit-log: newest first, cursor paged, filterable by subject and action. */
export function auditHttpModule(db: Executor): HttpModule {
  return {
    name: 'audit',
    register(app) {
      app.get(
        '/admin/audit-log',
        {
          preHandler: app.requireAdmin,
          schema: {
            tags: ['audit (admin)'],
            security: adminSecurity,
            summary: 'Who did what, when, with before and after (newest first)',
            querystring: AuditQuerySchema,
            response: { 200: Type.Object({ data: Type.Array(AuditEntryView), hasMore: Type.Boolean() }), 400: ProblemSchema, 401: ProblemSchema },
          },
        },
        async (request) => {
          const { startingAfter } = request.query;
          if (startingAfter !== undefined && !startingAfter.startsWith('aud_')) {
            throw new DomainError('VALIDATION_FAILED', 'startingAfter must be the id of an audit entry');
          }
          const page = await listAudit(db, request.query);
          return {
            data: page.data.map((entry) => ({
              id: entry.id,
              at: entry.at.toISOString(),
              principal: entry.principal,
              action: entry.action,
              subject: entry.subject,
              before: entry.before,
              after: entry.after,
              requestId: entry.requestId ?? null,
            })),
            hasMore: page.hasMore,
          };
        },
      );
    },
  };
}
