/**
 * The UI's ports wired to the modules' public surfaces (their index.ts only).
 */
import type { UsersService } from '../modules/users/index.ts';
import type { WebUsers } from './ports.ts';

export function usersPort(users: UsersService): WebUsers {
  return {
    async register(mobile, password) {
      await users.register({ mobile, password });
    },
    async login(mobile, password) {
      const session = await users.login({ mobile, password });
      return { token: session.token, expiresAt: session.expiresAt };
    },
    async logout(token) {
      await users.logout(token);
    },
    async userForSession(token) {
      const user = await users.authenticate(token);
      return user && { id: user.id, mobile: user.mobile, status: user.status };
    },
  };
}
