import { ProblemSchema } from '../../platform/http/problem.ts';
import { keepRawBody } from '../../platform/http/raw-body.ts';
import type { HttpModule } from '../../platform/http/server.ts';
import { currentMerchant, merchantScope, merchantSecurity } from '../merchants/index.ts';
import * as s from './webhooks.schemas.ts';
import type { WebhooksService } from './webhooks.service.ts';
import type { WebhookDelivery, WebhookEndpoint } from './webhooks.types.ts';

const problems = { 400: ProblemSchema, 401: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema, 422: ProblemSchema };

function endpointView(endpoint: WebhookEndpoint) {
  return { id: endpoint.id, url: endpoint.url, createdAt: endpoint.createdAt.toISOString() };
}

function deliveryView(delivery: WebhookDelivery) {
  return {
    id: delivery.id,
    eventId: delivery.eventId,
    eventType: delivery.eventType,
    endpointId: delivery.endpointId,
    url: delivery.url,
    status: delivery.status,
    attemptCount: delivery.attemptCount,
    nextAttemptAt: delivery.nextAttemptAt ? delivery.nextAttemptAt.toISOString() : null,
    giveUpAt: delivery.giveUpAt.toISOString(),
    deliveredAt: delivery.deliveredAt ? delivery.deliveredAt.toISOString() : null,
    createdAt: delivery.createdAt.toISOString(),
    attempts: delivery.attempts.map((a) => ({ ...a, at: a.at.toISOString() })),
  };
}

/** The merchant API for webhooks (SPEC 5): endpoints, secret rotation, deliveries and resend. Every route is signed. */
export function webhooksHttpModule(webhooks: WebhooksService): HttpModule {
  return {
    name: 'webhooks',
    register(app) {
      keepRawBody(app);
      const tags = ['webhooks'];
      const security = merchantSecurity;
      const idem = app.idempotent(merchantScope);

      app.post(
        '/v1/webhook-endpoints',
        {
          // No Idempotency-Key here: the answer holds the secret, which must not be stored anywhere in clear.
          preValidation: app.requireMerchant,
          schema: { tags, security, summary: 'Adds a webhook endpoint; its secret is in this answer only', body: s.CreateEndpointBody, response: { 201: s.EndpointWithSecret, ...problems } },
        },
        async (request, reply) => {
          const created = await webhooks.createEndpoint(currentMerchant(request).merchantId, request.body.url);
          return reply.code(201).send({ ...endpointView(created), secret: created.secret });
        },
      );

      app.get(
        '/v1/webhook-endpoints',
        { preValidation: app.requireMerchant, schema: { tags, security, summary: "The merchant's webhook endpoints (never their secrets)", response: { 200: s.EndpointList, ...problems } } },
        async (request) => ({ data: (await webhooks.listEndpoints(currentMerchant(request).merchantId)).map(endpointView) }),
      );

      app.delete(
        '/v1/webhook-endpoints/:id',
        { preValidation: app.requireMerchant, schema: { tags, security, summary: 'Removes an endpoint; deliveries still due to it are cancelled', params: s.EndpointIdParams, response: { 204: { type: 'null' }, ...problems } } },
        async (request, reply) => {
          await webhooks.deleteEndpoint(currentMerchant(request).merchantId, request.params.id);
          return reply.code(204).send(null);
        },
      );

      app.post(
        '/v1/webhook-endpoints/:id/rotate-secret',
        {
          preValidation: app.requireMerchant,
          schema: { tags, security, summary: 'A new secret; the previous one keeps signing too for 24 h', params: s.EndpointIdParams, response: { 200: s.RotatedSecret, ...problems } },
        },
        async (request) => {
          const rotated = await webhooks.rotateSecret(currentMerchant(request).merchantId, request.params.id);
          return { ...endpointView(rotated), secret: rotated.secret, previousSecretExpiresAt: rotated.previousSecretExpiresAt.toISOString() };
        },
      );

      app.get(
        '/v1/webhook-deliveries',
        { preValidation: app.requireMerchant, schema: { tags, security, summary: 'Deliveries with every attempt, newest first', querystring: s.DeliveriesQuery, response: { 200: s.DeliveryPage, ...problems } } },
        async (request) => {
          const { eventId, status, startingAfter, limit } = request.query;
          const page = await webhooks.listDeliveries({
            merchantId: currentMerchant(request).merchantId,
            limit: limit ?? 20,
            ...(eventId !== undefined ? { eventId } : {}),
            ...(status !== undefined ? { status } : {}),
            ...(startingAfter !== undefined ? { startingAfter } : {}),
          });
          return { data: page.data.map(deliveryView), hasMore: page.hasMore };
        },
      );

      app.post(
        '/v1/webhook-deliveries/:id/resend',
        {
          preValidation: app.requireMerchant,
          preHandler: idem.preHandler,
          onSend: idem.onSend,
          schema: { tags, security, summary: 'Attempts the delivery once now (a DEAD one too) and answers with it', params: s.DeliveryIdParams, response: { 200: s.DeliveryView, ...problems } },
        },
        async (request) => deliveryView(await webhooks.resend(currentMerchant(request).merchantId, request.params.id)),
      );
    },
  };
}
