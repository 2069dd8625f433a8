import { Type } from 'typebox';
import { adminSecurity } from '../../platform/http/auth.ts';
import { ProblemSchema } from '../../platform/http/problem.ts';
import type { HttpModule } from '../../platform/http/server.ts';
import { currencyCode } from '../../platform/money/index.ts';
import { TRANSFER_IN_NOTIFY_PATH } from '../../protocol/transfer-in.ts';
import { type FundingService, transferInView } from './merchants.funding.ts';
import { balanceView } from './merchants.routes.ts';
import { MerchantIdParams } from './merchants.schemas.ts';
import type { MerchantsService } from './merchants.service.ts';

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 422: ProblemSchema };

const TransferInView = Type.Object({
  transferNo: Type.String(),
  status: Type.Union([Type.Literal('CREDITED'), Type.Literal('UNMATCHED')]),
  merchantId: Type.Union([Type.String(), Type.Null()]),
  payeeAccountNo: Type.String(),
  accountId: Type.String(),
  amount: Type.String(),
  currency: Type.String(),
  payerName: Type.String(),
  bankTimestamp: Type.String(),
  ledgerTransferId: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  postedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

const SettlementAccountView = Type.Object({
  accountId: Type.String(),
  accountNo: Type.String({ description: 'What a payer names to fund this merchant by bank transfer' }),
  currency: Type.String(),
  balance: Type.String(),
  available: Type.String(),
  pendingDebits: Type.String(),
  status: Type.String(),
});

/** Funding by bank transfer: the bank's TRANSFER_IN notifications, the admin list, and opening a settlement account to wire to. */
export function fundingHttpModule(funding: FundingService, merchants: MerchantsService): HttpModule {
  return {
    name: 'merchants.funding',
    register(app) {
      app.get(
        TRANSFER_IN_NOTIFY_PATH,
        {
          schema: {
            tags: ['bank channel'],
            summary: "The bank's signed notice of money wired in (serviceName=TRANSFER_IN): verified, credited once, answered OK",
            querystring: Type.Object(
              {
                serviceName: Type.Optional(Type.String()),
                platformNo: Type.Optional(Type.String()),
                signature: Type.Optional(Type.String()),
                reqData: Type.Optional(Type.String()),
              },
              { additionalProperties: true },
            ),
          },
        },
        async (request, reply) => {
          await funding.receiveNotification(request.query);
          return reply.type('text/plain').send('OK');
        },
      );

      app.get(
        '/admin/transfers-in',
        {
          preHandler: app.requireAdmin,
          schema: {
            tags: ['merchants (admin)'],
            security: adminSecurity,
            summary: 'Incoming bank transfers, newest first: UNMATCHED ones named no settlement account and sit in suspense',
            querystring: Type.Object({
              status: Type.Optional(Type.String()),
              merchantId: Type.Optional(Type.String({ maxLength: 64 })),
              limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
              startingAfter: Type.Optional(Type.String({ maxLength: 64 })),
            }),
            response: { 200: Type.Object({ data: Type.Array(TransferInView), hasMore: Type.Boolean() }), ...problems },
          },
        },
        async (request) => {
          const page = await funding.list(request.query);
          return { data: page.data.map(transferInView), hasMore: page.hasMore };
        },
      );

      app.post(
        '/admin/merchants/:id/settlement-accounts',
        {
          preHandler: app.requireAdmin,
          schema: {
            tags: ['merchants (admin)'],
            security: adminSecurity,
            summary: 'Open (or show) the settlement account of a currency: its accountNo is what the merchant wires money to',
            description: 'Safe to repeat: an account that exists is answered as it is.',
            params: MerchantIdParams,
            body: Type.Object({ currency: Type.String({ minLength: 3, maxLength: 3 }) }),
            response: { 200: SettlementAccountView, ...problems },
          },
        },
        async (request) => balanceView(await merchants.settlementAccount(request.params.id, currencyCode(request.body.currency))),
      );
    },
  };
}
