import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.ts';
import { DomainError } from '../errors.ts';

/** Who is acting as an administrator on this request. */
export interface AdminPrincipal {
  /** How they proved it, e.g. 'admin-token'; operator sessions will add their own kind. */
  kind: string;
  id: string;
}

/**
 * One way of recognising an administrator. `denied` means a credential of this
 * verifier's kind was offered and is wrong; `abstain` means none was offered,
 * so the next verifier gets its turn.
 */
export type AdminVerdict =
  | { outcome: 'granted'; principal: AdminPrincipal }
  | { outcome: 'denied'; detail: string }
  /** The credential is valid and known to this verifier, but is not an admin's (403, not 401). */
  | { outcome: 'forbidden'; detail: string }
  | { outcome: 'abstain' };

export type AdminVerifier = (request: FastifyRequest) => AdminVerdict | Promise<AdminVerdict>;

export type AdminGuard = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `requireAdmin` on the routes it guards; null elsewhere. */
    admin: AdminPrincipal | null;
  }
  interface FastifyInstance {
    /** The admin guard for this server: `{ preHandler: app.requireAdmin }`. */
    requireAdmin: AdminGuard;
  }
}

/** Put on admin routes' schemas so OpenAPI shows the lock: `schema: { security: adminSecurity }`. */
export const adminSecurity = [{ adminToken: [] }];

export const BOOTSTRAP_ADMIN: AdminPrincipal = { kind: 'admin-token', id: 'bootstrap-admin' };

export function bearerTokenOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer +(\S+) *$/i.exec(header) : null;
  return match?.[1];
}

/**
 * Both sides are hashed first so the comparison takes the same time whatever
 * the offered token's length (timingSafeEqual itself needs equal lengths).
 */
function sameSecret(offered: string, expectedDigest: Buffer): boolean {
  return timingSafeEqual(createHash('sha256').update(offered).digest(), expectedDigest);
}

export function adminTokenVerifier(adminToken: string | undefined): AdminVerifier {
  if (adminToken === undefined) {
    const detail = 'No admin credential is configured on this server (ADMIN_TOKEN is not set)';
    return () => ({ outcome: 'denied', detail });
  }
  const expectedDigest = createHash('sha256').update(adminToken).digest();
  return (request) => {
    const offered = bearerTokenOf(request);
    if (offered === undefined) return { outcome: 'abstain' };
    if (sameSecret(offered, expectedDigest)) return { outcome: 'granted', principal: BOOTSTRAP_ADMIN };
    return { outcome: 'denied', detail: 'The bearer token is not a valid admin credential' };
  };
}

/**
 * A preHandler that lets a request through when any verifier grants it. The
 * ADMIN_TOKEN verifier always runs first; operator sessions plug in as more
 * verifiers later without touching the routes.
 */
export function requireAdmin(config: Pick<Config, 'adminToken'>, moreVerifiers: AdminVerifier[] = []): AdminGuard {
  const verifiers = [adminTokenVerifier(config.adminToken), ...moreVerifiers];
  return async function adminGuard(request, reply) {
    let refusal: string | undefined;
    let forbidden: string | undefined;
    for (const verify of verifiers) {
      const verdict = await verify(request);
      if (verdict.outcome === 'granted') {
        request.admin = verdict.principal;
        return;
      }
      if (verdict.outcome === 'denied') refusal ??= verdict.detail;
      if (verdict.outcome === 'forbidden') forbidden ??= verdict.detail;
    }
    // Someone recognised the caller (say, a logged-in operator without the admin role): 403 says so.
    if (forbidden !== undefined) throw new DomainError('FORBIDDEN', forbidden);
    reply.header('www-authenticate', 'Bearer realm="coffer"');
    throw new DomainError('UNAUTHORIZED', refusal ?? 'Send an admin credential: Authorization: Bearer <ADMIN_TOKEN>');
  };
}
