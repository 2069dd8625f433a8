import type { Id } from '../../platform/ids.ts';

export type UserId = Id<'usr'>;
export type SessionId = Id<'ses'>;

export const userStatuses = ['ACTIVE', 'FROZEN'] as const;
export type UserStatus = (typeof userStatuses)[number];

/** A user row as the module sees it; the password hash never leaves the module. */
export interface User {
  id: UserId;
  mobile: string;
  status: UserStatus;
  failedLogins: number;
  lockedUntil: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** Who is logged in on a request: what `request.user` holds on routes behind `app.requireUser`. */
export interface AuthenticatedUser {
  id: UserId;
  mobile: string;
  status: UserStatus;
  /** The session the request came with (logout revokes it). */
  sessionId: SessionId;
}

export interface Session {
  token: string;
  expiresAt: Date;
}

export interface Page<T> {
  data: T[];
  hasMore: boolean;
}
