import { sql } from 'kysely';
import { Type } from 'typebox';
import type { EventBus } from '../bus/index.ts';
import type { Store } from '../db/store.ts';
import { DomainError, errorCatalogue, outcomeCatalogue } from '../errors.ts';
import type { Metrics } from '../metrics.ts';
import { ProblemSchema } from './problem.ts';
import type { CofferApp } from './server.ts';

/** A database that takes longer than this to answer `select 1` is not ready for traffic. */
const READINESS_TIMEOUT_MS = 2000;

const StatusSchema = Type.Object({ status: Type.Literal('ok') });

const ReadinessSchema = Type.Object({
  status: Type.Literal('ok'),
  bus: Type.Optional(
    Type.Object(
      { kind: Type.Union([Type.Literal('outbox'), Type.Literal('nats')]), connected: Type.Boolean() },
      { description: 'The event bus. connected: false still serves: messages wait in the outbox until the broker is back' },
    ),
  ),
});

const CatalogueSchema = Type.Array(
  Type.Object({
    code: Type.String(),
    kind: Type.Union([Type.Literal('problem'), Type.Literal('outcome')], {
      description: "problem: an HTTP error response's code; outcome: a failed record's errorCode",
    }),
    status: Type.Optional(Type.Integer({ description: 'The HTTP status (problems only)' })),
    source: Type.Optional(Type.String({ description: 'Who decides the outcome: coffer, bank or channel (outcomes only)' })),
    title: Type.String(),
  }),
);

const catalogue = [
  ...Object.entries(errorCatalogue).map(([code, { status, title }]) => ({ code, kind: 'problem' as const, status, title })),
  ...Object.entries(outcomeCatalogue).map(([code, { source, title }]) => ({ code, kind: 'outcome' as const, source, title })),
];

async function databaseAnswers(store: Store): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${READINESS_TIMEOUT_MS} ms`)), READINESS_TIMEOUT_MS);
  });
  try {
    await Promise.race([sql`select 1`.execute(store.db), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function registerPlatformRoutes(app: CofferApp, deps: { store: Store; metrics: Metrics; bus?: Pick<EventBus, 'state'> }): void {
  app.get(
    '/healthz',
    { schema: { tags: ['platform'], summary: 'The process is up', response: { 200: StatusSchema } } },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['platform'],
        summary: 'The database answers, so requests can be served (and how the event bus is)',
        response: { 200: ReadinessSchema, 503: ProblemSchema },
      },
    },
    async (request) => {
      try {
        await databaseAnswers(deps.store);
      } catch (err) {
        request.log.warn({ err }, 'readiness check: database not answering');
        throw new DomainError('SERVICE_UNAVAILABLE', 'The database is not answering');
      }
      const bus = deps.bus?.state();
      if (bus && !bus.connected) request.log.warn({ bus: bus.kind }, 'readiness check: event broker away; messages wait in the outbox');
      return { status: 'ok' as const, ...(bus ? { bus } : {}) };
    },
  );

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  app.get(
    '/errors',
    {
      schema: { tags: ['platform'], summary: 'The catalogue of error codes', response: { 200: CatalogueSchema } },
    },
    async () => catalogue,
  );
}
