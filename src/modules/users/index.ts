/**
 * The users module's whole public surface.
 *
 * Other modules' routes require a logged-in user with `app.requireUser` (the
 * root app is decorated by `userAuthPlugin`, registered before any module):
 *
 *   app.get('/my/things', { preHandler: app.requireUser, schema: { security: userSecurity } }, async (request) => {
 *     const user = currentUser(request);      // { id, mobile, status, sessionId }
 *     assertCanMoveMoney(user);               // before moving money: USER_FROZEN if frozen
 *   });
 *
 * Inside a money-moving transaction, `users.assertUserCanMoveMoney(userId, tx)`
 * re-reads the status with a share lock so a freeze cannot slip in meanwhile.
 */
export {
  UsersService,
  assertCanMoveMoney,
  DEFAULT_USERS_OPTIONS,
  SESSION_TOKEN_PREFIX,
  type UsersDeps,
  type UsersOptions,
} from './users.service.ts';
export { userAuthPlugin, userGuard, currentUser, userSecurity, SESSION_COOKIE, type UserGuard } from './users.auth.ts';
export { usersHttpModule } from './users.routes.ts';
export { usersMigrations } from './users.migrations.ts';
export { normalizeMobile } from './users.validation.ts';
export type { AuthenticatedUser, User, UserId, UserStatus } from './users.types.ts';
/** The login-password hashing (scrypt, PHC strings), for other principals' logins (merchant operators). */
export { hashPassword, verifyPassword, dummyHash, needsRehash, DEFAULT_SCRYPT_PARAMS, type ScryptParams } from './users.password.ts';
