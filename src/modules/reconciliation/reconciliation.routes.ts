import { Type } from 'typebox';
import { ProblemSchema } from '../../platform/http/problem.ts';
import { keepRawBody } from '../../platform/http/raw-body.ts';
import type { HttpModule } from '../../platform/http/server.ts';
import { currentMerchant, merchantSecurity } from '../merchants/index.ts';
import type { ReconciliationService } from './reconciliation.service.ts';

const problems = { 400: ProblemSchema, 401: ProblemSchema, 404: ProblemSchema, 422: ProblemSchema };

/** Says whether the file may still change (`provisional`) or never will (`closed`). */
export const STATE_HEADER = 'x-coffer-reconciliation';
export const SHA256_HEADER = 'x-coffer-reconciliation-sha256';

/** The merchant API for reconciliation files (SPEC 5), signed like every /v1 route. */
export function reconciliationHttpModule(reconciliation: ReconciliationService): HttpModule {
  return {
    name: 'reconciliation',
    register(app) {
      keepRawBody(app);
      const tags = ['merchant API'];

      app.get(
        '/v1/reconciliation/:date',
        {
          preValidation: app.requireMerchant,
          schema: {
            tags,
            security: merchantSecurity,
            summary: "A UTC day's final payouts, fees and reversals as CSV, with summary lines (counts and sums per currency)",
            description:
              '`text/csv`. `X-Coffer-Reconciliation: provisional` until the day closes (next day 00:00 UTC + RECONCILIATION_CLOSE_AFTER_S), ' +
              'then `closed`: the file is stored and never changes (`X-Coffer-Reconciliation-Sha256`, also the ETag). ' +
              'A day not yet begun is 422 RECONCILIATION_DAY_NOT_STARTED; a malformed date 400 RECONCILIATION_DATE_INVALID.',
            params: Type.Object({ date: Type.String({ description: 'yyyy-mm-dd (UTC)', maxLength: 40 }) }),
            produces: ['text/csv'],
            response: { 200: Type.String({ description: 'The CSV file (text/csv)' }), ...problems },
          },
        },
        async (request, reply) => {
          const { date } = request.params;
          const file = await reconciliation.file(currentMerchant(request).merchantId, date);
          reply
            .type('text/csv; charset=utf-8')
            .header('content-disposition', `attachment; filename="reconciliation-${date}.csv"`)
            .header(STATE_HEADER, file.closed ? 'closed' : 'provisional');
          if (file.sha256) reply.header(SHA256_HEADER, file.sha256).header('etag', `"${file.sha256}"`).header('cache-control', 'private, max-age=86400');
          else reply.header('cache-control', 'no-store');
          return reply.send(file.csv);
        },
      );

      app.get(
        '/v1/reconciliation',
        {
          preValidation: app.requireMerchant,
          schema: {
            tags,
            security: merchantSecurity,
            summary: 'Your reconciliation days, newest first: whether each is closed and how many lines it has',
            querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 366 })) }),
            response: {
              200: Type.Object({ data: Type.Array(Type.Object({ date: Type.String(), closed: Type.Boolean(), lines: Type.Integer() })) }),
              ...problems,
            },
          },
        },
        async (request) => ({ data: await reconciliation.days(currentMerchant(request).merchantId, { limit: request.query.limit ?? 30 }) }),
      );
    },
  };
}
