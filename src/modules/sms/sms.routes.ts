import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../platform/config.ts';
import { DomainError } from '../../platform/errors.ts';
import { adminSecurity, bearerTokenOf } from '../../platform/http/auth.ts';
import { ProblemSchema } from '../../platform/http/problem.ts';
import type { HttpModule } from '../../platform/http/server.ts';
import * as s from './sms.schemas.ts';
import type { SmsService } from './sms.service.ts';
import type { SinkMessage } from './sms.types.ts';

const problems = { 400: ProblemSchema, 401: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema, 422: ProblemSchema, 429: ProblemSchema };

function view(message: SinkMessage) {
  return { ...message, createdAt: message.createdAt.toISOString() };
}

/**
 * Like the bank simulator's sandbox controls: 404 outside sandbox mode; when
 * ADMIN_TOKEN is set it is required as a bearer token, otherwise open.
 */
function sandboxGuard(config: Pick<Config, 'sandbox' | 'adminToken'>) {
  const expected = config.adminToken === undefined ? undefined : createHash('sha256').update(config.adminToken).digest();
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (!config.sandbox) throw new DomainError('NOT_FOUND', 'Sandbox endpoints are off (SANDBOX=false)');
    if (expected === undefined) return;
    const offered = bearerTokenOf(request);
    if (offered === undefined || !timingSafeEqual(createHash('sha256').update(offered).digest(), expected)) {
      reply.header('www-authenticate', 'Bearer realm="coffer"');
      throw new DomainError('UNAUTHORIZED', 'Sandbox endpoints need Authorization: Bearer <ADMIN_TOKEN>');
    }
  };
}

/** The development sink: for the admin console, and for automation in sandbox mode. */
export function smsHttpModule(sms: SmsService, config: Pick<Config, 'sandbox' | 'adminToken'>): HttpModule {
  return {
    name: 'sms',
    register(app) {
      const description = config.sandbox
        ? 'Messages the development sink kept, code included, newest first.'
        : 'This server is not in sandbox mode: the sink keeps nothing, so this list is empty.';
      app.get(
        '/admin/sms/messages',
        {
          preHandler: app.requireAdmin,
          schema: { tags: ['sms (admin)'], security: adminSecurity, summary: 'The SMS development sink', description, querystring: s.SinkQuery, response: { 200: s.SinkPage, ...problems } },
        },
        async (request) => {
          const page = await sms.sinkMessages(request.query);
          return { data: page.data.map(view), hasMore: page.hasMore };
        },
      );

      // Internal (like the depository agent's /l/ endpoints): for callers in other processes
      // holding the admin credential; flows in this process call SmsService directly.
      const internal = { preHandler: app.requireAdmin };
      const tags = ['sms (internal)'];
      app.post(
        '/l/sms/codes',
        {
          ...internal,
          schema: {
            tags,
            security: adminSecurity,
            summary: 'Send a one-time code to a phone for a purpose and subject',
            description: 'Within the resend cool-down of the same purpose and subject: 429 SMS_RESEND_TOO_SOON with Retry-After.',
            body: s.SendCodeBody,
            response: { 201: s.SentCodeView, ...problems },
          },
        },
        async (request, reply) => {
          try {
            const sent = await sms.sendCode(request.body);
            return reply.code(201).send({ challengeId: sent.challengeId, expiresAt: sent.expiresAt.toISOString() });
          } catch (err) {
            const retryAfterS = (err as { extra?: { retryAfterS?: unknown } }).extra?.retryAfterS;
            if (typeof retryAfterS === 'number') reply.header('retry-after', String(retryAfterS));
            throw err;
          }
        },
      );
      app.post(
        '/l/sms/codes/:challengeId/verify',
        {
          ...internal,
          schema: {
            tags,
            security: adminSecurity,
            summary: 'Check a one-time code (succeeds once)',
            description:
              '422 SMS_CODE_INVALID (attemptsLeft), SMS_CODE_EXPIRED, SMS_CODE_ATTEMPTS_EXCEEDED; 409 SMS_CODE_ALREADY_USED; 404 SMS_CHALLENGE_NOT_FOUND (also for another purpose or subject).',
            params: s.ChallengeParams,
            body: s.VerifyCodeBody,
            response: { 200: s.VerifiedView, ...problems },
          },
        },
        async (request) => {
          const { code, purpose, subjectId } = request.body;
          const ok = await sms.verifyCode(request.params.challengeId, code, { purpose, subjectId });
          return { challengeId: ok.challengeId, verified: true as const, verifiedAt: ok.verifiedAt.toISOString() };
        },
      );

      // Not registered at all outside sandbox mode would also answer 404; the guard says why.
      app.get(
        '/sandbox/sms',
        {
          preHandler: sandboxGuard(config),
          schema: {
            tags: ['sandbox'],
            security: adminSecurity,
            summary: 'The SMS development sink (sandbox mode only; ADMIN_TOKEN bearer when set)',
            querystring: s.SinkQuery,
            response: { 200: s.SinkPage, ...problems },
          },
        },
        async (request) => {
          const page = await sms.sinkMessages(request.query);
          return { data: page.data.map(view), hasMore: page.hasMore };
        },
      );
    },
  };
}
