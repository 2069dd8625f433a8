import type { Config } from '../../platform/config.ts';
import { adminSecurity } from '../../platform/http/auth.ts';
import { ProblemSchema } from '../../platform/http/problem.ts';
import type { HttpModule } from '../../platform/http/server.ts';
import { DomainError } from '../../platform/errors.ts';
import { clearedSessionCookie, crossSiteWrite, currentUser, offeredSessionToken, sessionCookie, userSecurity } from './users.auth.ts';
import * as s from './users.schemas.ts';
import type { UsersService } from './users.service.ts';
import type { User } from './users.types.ts';

const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema, 423: ProblemSchema };

function adminView(user: User) {
  return {
    userId: user.id,
    mobile: user.mobile,
    status: user.status,
    failedLogins: user.failedLogins,
    lockedUntil: user.lockedUntil ? user.lockedUntil.toISOString() : null,
    createdAt: user.createdAt.toISOString(),
    updatedAt: user.updatedAt.toISOString(),
  };
}

/** Registration, login and logout, the user's profile, and the admin's user list and freezing. */
export function usersHttpModule(users: UsersService, config: Pick<Config, 'publicUrl'>): HttpModule {
  const secureCookie = config.publicUrl.startsWith('https:');
  return {
    name: 'users',
    register(app) {
      const tags = ['users'];
      const adminTags = ['users (admin)'];
      const guarded = { preHandler: app.requireAdmin };

      app.post(
        '/auth/register',
        { schema: { tags, summary: 'Register with a mobile number and a login password', body: s.RegisterBody, response: { 201: s.RegisterResult, ...problems } } },
        async (request, reply) => reply.code(201).send(await users.register(request.body)),
      );

      app.post(
        '/auth/login',
        {
          schema: {
            tags,
            summary: 'Log in: a session token (and, with `cookie: true`, the session cookie)',
            description: `Wrong mobile or password: 401 INVALID_CREDENTIALS. After ${users.options.maxFailedLogins} wrong passwords in a row the account is locked for ${users.options.lockoutMs / 60_000} minutes: 423 ACCOUNT_LOCKED, even with the right password.`,
            body: s.LoginBody,
            response: { 200: s.LoginResult, ...problems },
          },
        },
        async (request, reply) => {
          try {
            const session = await users.login(request.body);
            if (request.body.cookie) reply.header('set-cookie', sessionCookie(session.token, session.expiresAt, secureCookie));
            reply.header('cache-control', 'no-store');
            return { token: session.token, expiresAt: session.expiresAt.toISOString() };
          } catch (err) {
            const retryAfterS = (err as { extra?: { retryAfterS?: unknown } }).extra?.retryAfterS;
            if (typeof retryAfterS === 'number') reply.header('retry-after', String(retryAfterS));
            throw err;
          }
        },
      );

      app.post(
        '/auth/logout',
        {
          schema: {
            tags,
            security: userSecurity,
            summary: 'End this session (its token stops working) and clear the cookie',
            description: 'Safe to retry: a token that is already logged out or expired is answered 204 too. Without any token: 401.',
            response: { 204: { type: 'null' }, ...problems },
          },
        },
        async (request, reply) => {
          const offered = offeredSessionToken(request);
          if (offered === undefined || offered === 'malformed') {
            throw new DomainError('UNAUTHORIZED', 'Send the session to end: Authorization: Bearer <token> or the session cookie');
          }
          if (offered.via === 'cookie' && crossSiteWrite(request)) {
            throw new DomainError('FORBIDDEN', 'A cookie-authenticated write must come from this site');
          }
          await users.logout(offered.token);
          reply.header('set-cookie', clearedSessionCookie(secureCookie));
          return reply.code(204).send(null);
        },
      );

      app.get(
        '/my/profile',
        { preHandler: app.requireUser, schema: { tags, security: userSecurity, summary: 'Who is logged in', response: { 200: s.ProfileView, ...problems } } },
        async (request) => {
          const user = currentUser(request);
          return { userId: user.id, mobile: user.mobile, status: user.status };
        },
      );

      app.get(
        '/admin/users',
        { ...guarded, schema: { tags: adminTags, security: adminSecurity, summary: 'Users, oldest first, or the one with `mobile`', querystring: s.AdminUsersQuery, response: { 200: s.AdminUserPage, ...problems } } },
        async (request) => {
          const { mobile, limit, startingAfter } = request.query;
          if (mobile !== undefined) {
            const user = await users.findByMobile(mobile);
            return { data: user ? [adminView(user)] : [], hasMore: false };
          }
          const page = await users.listUsers({
            ...(limit !== undefined ? { limit } : {}),
            ...(startingAfter !== undefined ? { startingAfter } : {}),
          });
          return { data: page.data.map(adminView), hasMore: page.hasMore };
        },
      );

      app.get(
        '/admin/users/:id',
        { ...guarded, schema: { tags: adminTags, security: adminSecurity, summary: 'One user', params: s.UserIdParams, response: { 200: s.AdminUserView, ...problems } } },
        async (request) => adminView(await users.getUser(request.params.id)),
      );

      for (const action of ['freeze', 'unfreeze'] as const) {
        app.post(
          `/admin/users/:id/${action}`,
          {
            ...guarded,
            schema: {
              tags: adminTags,
              security: adminSecurity,
              summary: action === 'freeze' ? 'Freeze a user: they can still log in and look, but move no money' : 'Unfreeze a user',
              params: s.UserIdParams,
              response: { 200: s.AdminUserView, ...problems },
            },
          },
          async (request) => {
            const id = request.params.id;
            return adminView(action === 'freeze' ? await users.freeze(id) : await users.unfreeze(id));
          },
        );
      }
    },
  };
}
