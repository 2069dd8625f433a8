import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { EventBus } from '../bus/index.ts';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import type { Config } from '../config.ts';
import type { Store } from '../db/store.ts';
import { DomainError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { requireAdmin, type AdminVerifier } from './auth.ts';
import { findUnstorableString } from './input-safety.ts';
import { rejectUnconvertedBigInts } from './json-safety.ts';
import { registerOpenApi } from './openapi.ts';
import { registerPlatformRoutes } from './platform-routes.ts';
import { notFoundHandler, problemErrorHandler } from './problem.ts';
import { requestIdFor } from './request-id.ts';

/** The Fastify instance every module registers its routes on, typed by TypeBox schemas. */
export type CofferApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/**
 * A module's HTTP surface. `register` runs inside its own Fastify scope, so
 * hooks it adds (say, merchant signature checks) stay on its own routes.
 */
export interface HttpModule {
  name: string;
  register(app: CofferApp): void | Promise<void>;
}

export interface HttpServerDeps {
  config: Config;
  store: Store;
  logger: Logger;
  metrics: Metrics;
  modules: HttpModule[];
  /**
   * App-wide setup registered on the root app itself, before any module and
   * without encapsulation: decorators and guards every module may use, such as
   * the users module's `app.requireUser` and `request.user`.
   */
  plugins?: HttpModule[];
  /** Ways to recognise an admin besides ADMIN_TOKEN (operator sessions, later). */
  adminVerifiers?: AdminVerifier[];
  /** The event bus, whose state /readyz reports. */
  bus?: Pick<EventBus, 'state'>;
}

const BODY_LIMIT_BYTES = 1024 * 1024;

/**
 * One policy for every response: API answers need none of it, and /docs
 * (swagger-ui) needs only its own scripts, inline styles and data: images.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

async function addResponseHeaders(request: FastifyRequest, reply: FastifyReply, payload: unknown) {
  reply.header('x-request-id', request.id);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'no-referrer');
  // A route serving its own pages (the web UI, later) may set a policy of its own.
  if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
  return payload;
}

function recordDuration(metrics: Metrics) {
  return async function onResponse(request: FastifyRequest, reply: FastifyReply) {
    // The route pattern, never the raw URL: ids in paths would make a series per request.
    const route = request.is404 ? 'unmatched' : (request.routeOptions.url ?? 'unmatched');
    metrics.httpRequestDuration
      .labels({ route, method: request.method, status: String(reply.statusCode) })
      .observe(reply.elapsedTime / 1000);
  };
}

/** Refuses, as a 400, any string in the params, query or body that the database cannot store. */
async function refuseUnstorableStrings(request: FastifyRequest) {
  const parts = { params: request.params, querystring: request.query, body: request.body };
  for (const [part, value] of Object.entries(parts)) {
    const at = findUnstorableString(value);
    if (at === undefined) continue;
    const path = `/${part}${at}`;
    throw new DomainError('VALIDATION_FAILED', `The request ${part} has 1 problem`, {
      errors: [{ path, message: 'contains U+0000 or an unpaired surrogate, which cannot be stored' }],
    });
  }
}

function createApp(logger: Logger, publicUrl: string): CofferApp {
  const handleError = problemErrorHandler(publicUrl);
  return Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    genReqId: requestIdFor,
    requestIdHeader: false, // requestIdFor reads it, and refuses unsafe values
    bodyLimit: BODY_LIMIT_BYTES,
    // A URL the router refuses (bad percent-encoding, an over-long path segment) is a problem+json too.
    frameworkErrors: (error, request, reply) => {
      reply.header('x-request-id', request.id);
      return handleError(error, request, reply);
    },
  }).withTypeProvider<TypeBoxTypeProvider>();
}

export async function buildHttpServer(deps: HttpServerDeps): Promise<CofferApp> {
  const app = createApp(deps.logger, deps.config.publicUrl);
  // TypeBox's compiler never coerces a body (ajv's default would turn 100.5 into "100.5"
  // and let a float through as an amount); query strings and params are still converted.
  app.setValidatorCompiler(TypeBoxValidatorCompiler);
  app.setErrorHandler(problemErrorHandler(deps.config.publicUrl));
  app.setNotFoundHandler(notFoundHandler(deps.config.publicUrl));
  app.addHook('preValidation', refuseUnstorableStrings);
  app.addHook('onSend', addResponseHeaders);
  app.addHook('preSerialization', rejectUnconvertedBigInts);
  app.addHook('onResponse', recordDuration(deps.metrics));
  app.decorateRequest('admin', null);
  app.decorate('requireAdmin', requireAdmin(deps.config, deps.adminVerifiers));
  for (const plugin of deps.plugins ?? []) await plugin.register(app);

  await registerOpenApi(app, deps.config);
  registerPlatformRoutes(app, deps);
  for (const module of deps.modules) {
    await app.register(async (scope) => module.register(scope));
  }
  return app;
}
