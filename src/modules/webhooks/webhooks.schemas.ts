import { Type } from 'typebox';

const DateTime = Type.String({ format: 'date-time' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

export const CreateEndpointBody = Type.Object(
  { url: Type.String({ minLength: 1, maxLength: 2048, description: 'An http(s) URL that receives the events', examples: ['https://example.com/coffer/webhooks'] }) },
  { additionalProperties: false },
);

export const EndpointIdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
export const DeliveryIdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

export const EndpointView = Type.Object({ id: Type.String(), url: Type.String(), createdAt: DateTime });

export const EndpointWithSecret = Type.Object({
  id: Type.String(),
  url: Type.String(),
  createdAt: DateTime,
  secret: Type.String({ description: 'whsec_...: shown in this answer only. Verify X-Coffer-Signature with it.' }),
});

export const RotatedSecret = Type.Object({
  id: Type.String(),
  url: Type.String(),
  createdAt: DateTime,
  secret: Type.String({ description: 'The new secret, shown in this answer only' }),
  previousSecretExpiresAt: Type.String({ format: 'date-time', description: 'Until then deliveries are signed with both secrets (two v1= values)' }),
});

export const EndpointList = Type.Object({ data: Type.Array(EndpointView) });

const DeliveryStatus = Type.Union([Type.Literal('PENDING'), Type.Literal('DELIVERED'), Type.Literal('DEAD'), Type.Literal('CANCELLED')]);

export const DeliveriesQuery = Type.Object(
  {
    eventId: Type.Optional(Type.String({ maxLength: 64 })),
    status: Type.Optional(DeliveryStatus),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    startingAfter: Type.Optional(Type.String({ maxLength: 64, description: 'The id of the last delivery of the previous page (newest first)' })),
  },
  { additionalProperties: false },
);

const AttemptView = Type.Object({
  attempt: Type.Integer(),
  at: DateTime,
  durationMs: Type.Integer(),
  httpStatus: Nullable(Type.Integer()),
  error: Nullable(Type.String({ description: 'A network error or timeout, when no HTTP answer came' })),
  responseBody: Nullable(Type.String({ description: 'The start of the answer (truncated)' })),
});

export const DeliveryView = Type.Object({
  id: Type.String(),
  eventId: Type.String(),
  eventType: Type.String(),
  endpointId: Type.String(),
  url: Type.String(),
  status: DeliveryStatus,
  attemptCount: Type.Integer(),
  nextAttemptAt: Nullable(DateTime),
  giveUpAt: DateTime,
  deliveredAt: Nullable(DateTime),
  createdAt: DateTime,
  attempts: Type.Array(AttemptView),
});

export const DeliveryPage = Type.Object({ data: Type.Array(DeliveryView), hasMore: Type.Boolean() });
