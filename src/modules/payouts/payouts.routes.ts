import { ProblemSchema } from '../../platform/http/problem.ts';
import { keepRawBody } from '../../platform/http/raw-body.ts';
import type { HttpModule } from '../../platform/http/server.ts';
import { currentMerchant, merchantScope, merchantSecurity } from '../merchants/index.ts';
import * as s from './payouts.schemas.ts';
import { payoutView, type PayoutsService } from './payouts.service.ts';
import type { PayoutStatus } from './payouts.types.ts';

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema, 422: ProblemSchema };

/** The merchant payout API (SPEC 5, signed) and the bank's payout notifications. */
export function payoutsHttpModule(payouts: PayoutsService): HttpModule {
  return {
    name: 'payouts',
    register(app) {
      keepRawBody(app);
      const tags = ['merchant API'];
      const idem = app.idempotent(merchantScope);

      app.post(
        '/v1/payouts',
        {
          preHandler: [app.requireMerchant, idem.preHandler],
          onSend: idem.onSend,
          schema: {
            tags,
            security: merchantSecurity,
            summary: 'Pay a beneficiary: amount + fee are held at once, the payout is ACCEPTED and sent to the bank',
            description: 'Accepts an `Idempotency-Key` header. 409 DUPLICATE_MERCHANT_ORDER_NO names the existing payout in `payoutId`.',
            body: s.CreatePayoutBody,
            response: { 202: s.PayoutView, ...problems },
          },
        },
        async (request, reply) => {
          const payout = await payouts.accept(currentMerchant(request).merchantId, request.body);
          return reply.code(202).send(payoutView(payout));
        },
      );

      app.get(
        '/v1/payouts/:id',
        {
          preHandler: app.requireMerchant,
          schema: { tags, security: merchantSecurity, summary: 'One of your payouts', params: s.PayoutParams, response: { 200: s.PayoutView, ...problems } },
        },
        async (request) => payoutView(await payouts.get(currentMerchant(request).merchantId, request.params.id)),
      );

      app.get(
        '/v1/payouts',
        {
          preHandler: app.requireMerchant,
          schema: {
            tags,
            security: merchantSecurity,
            summary: 'Your payouts, newest first: filter by merchantOrderNo or status; cursor paging with startingAfter',
            querystring: s.ListQuery,
            response: { 200: s.PayoutPage, ...problems },
          },
        },
        async (request) => {
          const page = await payouts.list(currentMerchant(request).merchantId, {
            ...request.query,
            status: request.query.status as PayoutStatus | undefined,
          });
          return { data: page.data.map(payoutView), hasMore: page.hasMore };
        },
      );

      app.get(
        '/channel/payout-notifications',
        {
          schema: {
            tags: ['bank channel'],
            summary: "The bank's signed payout result (serviceName=PAYOUT): verified, applied once, answered OK",
            querystring: s.NotificationQuery,
          },
        },
        async (request, reply) => {
          await payouts.receiveNotification(request.query);
          return reply.type('text/plain').send('OK');
        },
      );
    },
  };
}
