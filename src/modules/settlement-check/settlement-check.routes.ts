import { Type } from 'typebox';
import { adminSecurity } from '../../platform/http/auth.ts';
import { adminIdempotencyScope } from '../../platform/http/idempotency.ts';
import { ProblemSchema } from '../../platform/http/problem.ts';
import type { HttpModule } from '../../platform/http/server.ts';
import { breaksCsv } from './settlement-check.csv.ts';
import * as s from './settlement-check.schemas.ts';
import type { DayResult, SettlementCheckService } from './settlement-check.service.ts';
import type { Run } from './settlement-check.types.ts';

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema, 422: ProblemSchema, 502: ProblemSchema, 503: ProblemSchema };

function runView(run: Run) {
  return { ...run, startedAt: run.startedAt.toISOString(), finishedAt: run.finishedAt?.toISOString() ?? null };
}

function dayView(day: DayResult) {
  return { run: runView(day.run), breaks: day.breaks, pending: day.pending };
}

/** The admin API of the three-way settlement check. */
export function settlementCheckHttpModule(checks: SettlementCheckService): HttpModule {
  return {
    name: 'settlement-check',
    register(app) {
      const schema = { tags: ['settlement check (admin)'], security: adminSecurity };
      const idem = app.idempotent(adminIdempotencyScope);
      app.post(
        '/admin/settlement-checks',
        {
          preHandler: [app.requireAdmin, idem.preHandler],
          onSend: idem.onSend,
          schema: {
            ...schema,
            summary: "Check a day now: ledger vs Coffer's records vs the bank's signed statement",
            description:
              'Re-checking a day replaces its findings (the same sources give the same breaks). Takes an `Idempotency-Key`. ' +
              '409 SETTLEMENT_CHECK_RUNNING while another run holds the day; 502 BANK_STATEMENT_UNVERIFIED when the statement is not signed by the bank.',
            body: s.RunBody,
            response: { 200: s.DayView, ...problems },
          },
        },
        async (request) => dayView(await checks.run(request.body.date)),
      );
      app.get(
        '/admin/settlement-checks',
        { preHandler: app.requireAdmin, schema: { ...schema, summary: 'Checked days, newest first, with their counts', querystring: s.RunsQuery, response: { 200: Type.Object({ data: Type.Array(s.RunView) }), ...problems } } },
        async (request) => ({ data: (await checks.runs(request.query)).map(runView) }),
      );
      app.get(
        '/admin/settlement-checks/:date',
        {
          preHandler: app.requireAdmin,
          schema: {
            ...schema,
            summary: "A checked day's breaks and in-flight items; `{date}.csv` for the breaks as CSV",
            params: s.DayParams,
            produces: ['application/json', 'text/csv'],
            response: { 200: Type.Union([s.DayView, Type.String({ description: 'The CSV (text/csv)' })]), ...problems },
          },
        },
        async (request, reply) => {
          const { date } = request.params;
          if (!date.endsWith('.csv')) return dayView(await checks.day(date));
          const day = date.slice(0, -'.csv'.length);
          const found = await checks.day(day);
          return reply
            .type('text/csv; charset=utf-8')
            .header('content-disposition', `attachment; filename="settlement-check-${day}.csv"`)
            .header('cache-control', 'no-store')
            .send(breaksCsv(day, found.breaks));
        },
      );
    },
  };
}
