import { adminIdempotencyScope } from '../../platform/http/idempotency.ts';
import { Type } from 'typebox';
import { adminSecurity } from '../../platform/http/auth.ts';
import { ProblemSchema } from '../../platform/http/problem.ts';
import type { HttpModule } from '../../platform/http/server.ts';
import { assertCanMoveMoney, currentUser, userSecurity } from '../users/index.ts';
import * as s from './payments.schemas.ts';
import type { PaymentsService } from './payments.service.ts';
import { cardView, paymentView } from './payments.views.ts';

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema, 422: ProblemSchema, 429: ProblemSchema, 503: ProblemSchema };

/** The payment core's HTTP (contract.md): the user's cards, payments and coupons; the admin's coupons, channels and decisions. */
export function paymentsHttpModule(payments: PaymentsService): HttpModule {
  return {
    name: 'payments',
    register(app) {
      const mine = { preHandler: app.requireUser };
      const user = { tags: ['payments'], security: userSecurity };
      const guarded = { preHandler: app.requireAdmin };
      const couponIdempotency = app.idempotent(adminIdempotencyScope);
      const admin = { tags: ['payments (admin)'], security: adminSecurity };

      // ---- cards
      app.post(
        '/my/payment-cards',
        { ...mine, schema: { ...user, summary: 'Add a card to pay with (Luhn-checked, stored sealed, shown masked)', body: s.AddCardBody, response: { 201: s.CardView, ...problems } } },
        async (request, reply) => reply.code(201).send(cardView(await payments.addCard(currentUser(request).id, request.body))),
      );
      app.get(
        '/my/payment-cards',
        { ...mine, schema: { ...user, summary: 'My payment cards, masked', response: { 200: Type.Array(s.CardView), ...problems } } },
        async (request) => (await payments.cards(currentUser(request).id)).map(cardView),
      );
      app.delete(
        '/my/payment-cards/:id',
        { ...mine, schema: { ...user, summary: 'Remove a payment card', params: s.CardParams, response: { 204: Type.Null(), ...problems } } },
        async (request, reply) => {
          await payments.removeCard(currentUser(request).id, request.params.id);
          return reply.code(204).send(null);
        },
      );

      // ---- payments
      app.get(
        '/my/payments',
        { ...mine, schema: { ...user, summary: 'My payments, newest first', querystring: s.PageQuery, response: { 200: s.PaymentPage, ...problems } } },
        async (request) => {
          const page = await payments.listPayments({ ...request.query, userId: currentUser(request).id });
          return { data: page.data.map(paymentView), hasMore: page.hasMore };
        },
      );
      app.get(
        '/my/payments/:payOrderNo',
        { ...mine, schema: { ...user, summary: 'One of my payments: where it stands', params: s.PayOrderParams, response: { 200: s.PaymentView, ...problems } } },
        async (request) => paymentView(await payments.myPayment(currentUser(request).id, request.params.payOrderNo)),
      );
      app.post(
        '/my/payments/:payOrderNo/sms',
        {
          ...mine,
          schema: {
            ...user,
            summary: 'Send the SMS code: by a quick-pay channel, or (fallback) by Coffer for a direct debit',
            description: 'Again to re-send, or to change the card or coupon before confirming.',
            params: s.PayOrderParams,
            body: s.SendSmsBody,
            response: { 200: s.PaymentView, ...problems },
          },
        },
        async (request) => {
          const me = currentUser(request);
          assertCanMoveMoney(me);
          return paymentView(await payments.sendSms(me.id, request.params.payOrderNo, request.body));
        },
      );
      app.post(
        '/my/payments/:payOrderNo/confirm',
        {
          ...mine,
          schema: {
            ...user,
            summary: 'Confirm with the SMS code: SUCCESS, FAIL, or DOING (UNKNOWN_OUTCOME) while a channel time-out is queried',
            description: 'Safe to repeat: a finished payment answers its final state; a payment another confirm holds answers DOING.',
            params: s.PayOrderParams,
            body: s.ConfirmBody,
            response: { 200: s.PaymentView, ...problems },
          },
        },
        async (request) => {
          const me = currentUser(request);
          assertCanMoveMoney(me);
          return paymentView(await payments.confirm(me.id, request.params.payOrderNo, request.body.smsCode));
        },
      );

      // ---- coupons
      app.get(
        '/my/coupons',
        { ...mine, schema: { ...user, summary: 'My coupons (EXPIRED: AVAILABLE past its expiry)', querystring: s.MyCouponsQuery, response: { 200: Type.Array(s.CouponView), ...problems } } },
        async (request) => {
          const page = await payments.coupons({ userId: currentUser(request).id, status: request.query.status, limit: 100 });
          return page.data.map((c) => payments.couponView(c));
        },
      );
      app.post(
        '/admin/coupons',
        {
          preHandler: [app.requireAdmin, couponIdempotency.preHandler],
          onSend: couponIdempotency.onSend,
          schema: {
            ...admin,
            summary: 'Issue a coupon to a user',
            description: 'Accepts an `Idempotency-Key` header: the same key and body again answers the first coupon, and issues no second one.',
            body: s.IssueCouponBody,
            response: { 201: s.CouponView, ...problems },
          },
        },
        async (request, reply) => {
          const by = request.admin ? `${request.admin.kind}:${request.admin.id}` : 'unknown';
          return reply.code(201).send(payments.couponView(await payments.issueCoupon(by, request.body)));
        },
      );
      app.get(
        '/admin/coupons',
        { ...guarded, schema: { ...admin, summary: 'Coupons, newest first', querystring: s.AdminCouponsQuery, response: { 200: s.CouponPage, ...problems } } },
        async (request) => {
          const page = await payments.coupons(request.query);
          return { data: page.data.map((c) => payments.couponView(c)), hasMore: page.hasMore };
        },
      );

      // ---- channels, routing, payments (admin)
      app.get(
        '/admin/channels',
        { ...guarded, schema: { ...admin, summary: 'Payment channels with their configuration and circuit state', response: { 200: Type.Array(s.ChannelView), ...problems } } },
        async () => payments.channels(),
      );
      app.put(
        '/admin/channels/:code',
        {
          ...guarded,
          schema: { ...admin, summary: "Edit a channel's routing configuration (version-guarded)", params: s.ChannelParams, body: s.EditChannelBody, response: { 200: s.ChannelView, ...problems } },
        },
        async (request) => payments.updateChannel(request.params.code, request.body),
      );
      app.get(
        '/admin/routing-decisions',
        { ...guarded, schema: { ...admin, summary: 'Routing decisions, newest first: candidates, why each was ineligible, the order, the channel chosen', querystring: s.DecisionsQuery, response: { 200: s.DecisionPage, ...problems } } },
        async (request) => payments.decisions(request.query),
      );
      app.get(
        '/admin/payments',
        { ...guarded, schema: { ...admin, summary: 'Payments, newest first', querystring: s.AdminPaymentsQuery, response: { 200: s.PaymentPage, ...problems } } },
        async (request) => {
          const page = await payments.listPayments(request.query);
          return { data: page.data.map(paymentView), hasMore: page.hasMore };
        },
      );
      app.get(
        '/admin/payments/:payOrderNo',
        { ...guarded, schema: { ...admin, summary: 'One payment', params: s.PayOrderParams, response: { 200: s.PaymentView, ...problems } } },
        async (request) => payments.getPayment(request.params.payOrderNo),
      );
    },
  };
}
