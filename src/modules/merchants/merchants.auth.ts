import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../platform/errors.ts';
import { type AdminVerifier, bearerTokenOf } from '../../platform/http/auth.ts';
import type { HttpModule } from '../../platform/http/server.ts';
import type { Actor, MerchantsService } from './merchants.service.ts';
import { KEY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './merchants.signing.ts';
import type { AuthenticatedMerchant, AuthenticatedOperator, OperatorRole } from './merchants.types.ts';
import { isOperatorToken, type OperatorsService } from './operators.service.ts';

export type Guard = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `app.requireMerchant` (a verified signed request); null elsewhere. */
    merchant: AuthenticatedMerchant | null;
    /** Set by `app.requireOperator(...)`, or by `requireAdmin` when an admin operator's session was used. */
    operator: AuthenticatedOperator | null;
  }
  interface FastifyInstance {
    /**
     * The merchant API guard (SPEC 5 signing): `{ preValidation: app.requireMerchant }`
     * (before body validation, so strangers get 401 and no schema hints; it also
     * works as a preHandler), then `currentMerchant(request)`. The route's scope
     * must call `keepRawBody` (the signature covers the raw body bytes).
     */
    requireMerchant: Guard;
    /** An operator session with one of `roles`: `{ preHandler: app.requireOperator(['maker']) }`. */
    requireOperator(roles: readonly OperatorRole[]): Guard;
  }
}

/** OpenAPI: signed merchant requests need all three headers. */
export const merchantSecurity: Record<string, string[]>[] = [{ merchantKey: [], merchantTimestamp: [], merchantSignature: [] }];
export const operatorSecurity: Record<string, string[]>[] = [{ operatorSession: [] }];

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
}

export function merchantGuard(merchants: MerchantsService): Guard {
  return async function requireMerchant(request, reply) {
    if (request.rawBody === null && request.body !== undefined && request.body !== null) {
      // A route outside a keepRawBody scope: its signature could only be checked against a re-serialised body.
      throw new Error(`${request.method} ${request.routeOptions.url}: requireMerchant needs keepRawBody on the route's scope`);
    }
    try {
      request.merchant = await merchants.verifySignedRequest({
        keyId: header(request, KEY_HEADER),
        timestamp: header(request, TIMESTAMP_HEADER),
        signature: header(request, SIGNATURE_HEADER),
        method: request.method,
        url: request.url,
        body: request.rawBody ?? Buffer.alloc(0),
      });
    } catch (err) {
      reply.header('www-authenticate', 'CofferSignature realm="coffer-merchant"');
      throw err;
    }
    reply.header('cache-control', 'private, no-store');
  };
}

export function operatorGuard(operators: OperatorsService, roles: readonly OperatorRole[]): Guard {
  return async function requireOperator(request, reply) {
    const token = bearerTokenOf(request);
    const operator = token === undefined ? undefined : await operators.authenticate(token);
    if (!operator) {
      reply.header('www-authenticate', 'Bearer realm="coffer-operator"');
      throw new DomainError('UNAUTHORIZED', 'Log in as an operator: Authorization: Bearer <token from POST /operators/login>');
    }
    if (!roles.includes(operator.role)) {
      throw new DomainError('FORBIDDEN', `This needs an operator with role ${roles.join(' or ')}; you are ${operator.role}`);
    }
    request.operator = operator;
    reply.header('cache-control', 'private, no-store');
  };
}

/**
 * Plugs operator sessions into `requireAdmin` (platform/http/auth.ts). It
 * looks only at operator tokens (`co_...`; any other bearer token is left to
 * the other verifiers): a live admin operator is granted, a live operator of
 * another role is forbidden (403), a dead session is denied (401).
 */
export function operatorAdminVerifier(operators: OperatorsService): AdminVerifier {
  return async (request) => {
    const token = bearerTokenOf(request);
    if (token === undefined || !isOperatorToken(token)) return { outcome: 'abstain' };
    const operator = await operators.authenticate(token);
    if (!operator) return { outcome: 'denied', detail: 'The operator session is unknown, expired or logged out: log in again' };
    if (operator.role !== 'admin') return { outcome: 'forbidden', detail: `Only an admin operator may do this; this operator is ${operator.role}` };
    request.operator = operator;
    return { outcome: 'granted', principal: { kind: 'operator', id: operator.id } };
  };
}

/** Root-level plugin: `request.merchant`, `request.operator`, `request.rawBody`, `app.requireMerchant`, `app.requireOperator`. */
export function merchantAuthPlugin(merchants: MerchantsService, operators: OperatorsService): HttpModule {
  return {
    name: 'merchants.auth',
    register(app) {
      app.decorateRequest('merchant', null);
      app.decorateRequest('operator', null);
      app.decorateRequest('rawBody', null);
      app.decorate('requireMerchant', merchantGuard(merchants));
      app.decorate('requireOperator', (roles: readonly OperatorRole[]) => operatorGuard(operators, roles));
    },
  };
}

/** The verified merchant on a route behind `app.requireMerchant`. */
export function currentMerchant(request: FastifyRequest): AuthenticatedMerchant {
  if (!request.merchant) throw new DomainError('MERCHANT_AUTH_REQUIRED', 'Sign the request');
  return request.merchant;
}

/** The logged-in operator on a route behind `app.requireOperator(...)`. */
export function currentOperator(request: FastifyRequest): AuthenticatedOperator {
  if (!request.operator) throw new DomainError('UNAUTHORIZED', 'Log in as an operator');
  return request.operator;
}

/** Who is acting on an admin route (behind `requireAdmin`), for the audit log. */
export function adminActor(request: FastifyRequest): Actor {
  if (!request.admin) throw new DomainError('UNAUTHORIZED', 'Send an admin credential');
  return { principal: { kind: request.admin.kind, id: request.admin.id }, requestId: request.id };
}

/** Who is acting on a signed merchant route, for the audit log. */
export function merchantActor(request: FastifyRequest): Actor {
  const merchant = currentMerchant(request);
  return { principal: { kind: 'merchant-key', id: merchant.keyId }, requestId: request.id };
}
