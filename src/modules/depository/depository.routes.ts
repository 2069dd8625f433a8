import { Type } from 'typebox';
import { adminSecurity } from '../../platform/http/auth.ts';
import { ProblemSchema } from '../../platform/http/problem.ts';
import type { HttpModule } from '../../platform/http/server.ts';
import { currencyCode, parseMoney } from '../../platform/money/index.ts';
import * as s from './depository.schemas.ts';
import type { DepositoryAgent } from './depository.service.ts';

const problems = { 400: ProblemSchema, 401: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema, 422: ProblemSchema, 503: ProblemSchema };

/**
 * The agent's HTTP surface: the seed's internal endpoints (/l/..., for internal
 * callers holding the admin credential; the user center calls the agent in
 * process) and the bank's notification endpoint GET /gateway (SPEC 4, contract).
 */
export function depositoryHttpModule(agent: DepositoryAgent, defaults: { currency: string; withdrawFee: string }): HttpModule {
  return {
    name: 'depository',
    register(app) {
      const internal = { preHandler: app.requireAdmin };
      const tags = ['depository agent (internal)'];

      app.post(
        '/l/recharges',
        { ...internal, schema: { tags, security: adminSecurity, summary: 'Save a RECHARGE transaction record and sign its request', body: s.RechargeBody, response: { 201: s.GatewayRequestView, ...problems } } },
        async (request, reply) => {
          const { userNo, amount, callbackUrl } = request.body;
          const currency = currencyCode(request.body.currency ?? defaults.currency);
          const gateway = await agent.prepare('RECHARGE', { userNo, amountMinor: parseMoney(amount, currency).amountMinor, currency, callbackUrl });
          return reply.code(201).send(gateway);
        },
      );

      app.post(
        '/l/withdraw',
        { ...internal, schema: { tags, security: adminSecurity, summary: 'Save a WITHDRAW transaction record and sign its request', body: s.WithdrawBody, response: { 201: s.GatewayRequestView, ...problems } } },
        async (request, reply) => {
          const { userNo, amount, callbackUrl, cardNumberMasked } = request.body;
          const currency = currencyCode(request.body.currency ?? defaults.currency);
          const gateway = await agent.prepare('WITHDRAW', {
            userNo,
            amountMinor: parseMoney(amount, currency).amountMinor,
            feeMinor: parseMoney(request.body.fee ?? defaults.withdrawFee, currency, { allowZero: true }).amountMinor,
            currency,
            callbackUrl,
            ...(cardNumberMasked !== undefined ? { cardNumberMasked } : {}),
          });
          return reply.code(201).send(gateway);
        },
      );

      app.get(
        '/gateway',
        {
          schema: {
            tags: ['depository gateway (bank)'],
            summary: "The bank's signed asynchronous notification; answers the plain text OK once recorded",
            querystring: s.GatewayQuery,
            response: { 200: Type.String(), ...problems },
          },
        },
        async (request, reply) => {
          await agent.receiveNotification(request.query);
          return reply.code(200).type('text/plain; charset=utf-8').send('OK');
        },
      );
    },
  };
}
