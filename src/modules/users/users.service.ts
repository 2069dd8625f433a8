import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../../platform/clock.ts';
import { DomainError } from '../../platform/errors.ts';
import { isId, newId } from '../../platform/ids.ts';
import { DEFAULT_SCRYPT_PARAMS, dummyHash, hashPassword, needsRehash, verifyPassword, type ScryptParams } from './users.password.ts';
import * as repo from './users.repository.ts';
import type { AuthenticatedUser, Page, Session, User, UserId, UserStatus } from './users.types.ts';
import { normalizeMobile, registrationViolations } from './users.validation.ts';

export interface UsersOptions {
  /** How long a login session lasts. Default 24 h. */
  sessionTtlMs: number;
  /** Consecutive wrong passwords that lock the account. Default 5. */
  maxFailedLogins: number;
  /** How long a lock lasts. Default 15 min. */
  lockoutMs: number;
  /** Cost of new password hashes; older hashes are upgraded at their next login. */
  scrypt: ScryptParams;
}

export const DEFAULT_USERS_OPTIONS: UsersOptions = {
  sessionTtlMs: 24 * 60 * 60 * 1000,
  maxFailedLogins: 5,
  lockoutMs: 15 * 60 * 1000,
  scrypt: DEFAULT_SCRYPT_PARAMS,
};

export interface UsersDeps {
  db: repo.Executor;
  clock: Clock;
  options?: Partial<UsersOptions>;
}

/** Session tokens: 32 random bytes, base64url, behind a prefix that makes a leaked one easy to spot (secret scanners). */
export const SESSION_TOKEN_PREFIX = 'cs_';
const TOKEN_FORMAT = /^cs_[A-Za-z0-9_-]{43}$/;

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

const INVALID_CREDENTIALS = 'The mobile number or password is wrong';

/** The frozen-user rule in one place: a frozen user can log in and look, but moves no money. */
export function assertCanMoveMoney(user: { status: UserStatus; id?: string }): void {
  if (user.status === 'FROZEN') {
    throw new DomainError('USER_FROZEN', 'This user is frozen: they can look, but not move money');
  }
}

export class UsersService {
  readonly options: UsersOptions;
  private dummy: Promise<string> | undefined;

  constructor(private readonly deps: UsersDeps) {
    this.options = { ...DEFAULT_USERS_OPTIONS, ...deps.options };
    // Made now, so the first unknown mobile does not take twice as long as a wrong password.
    void this.dummyHash().catch(() => {});
  }

  async register(input: { mobile: string; password: string }): Promise<{ userId: UserId }> {
    const { normalized, errors } = registrationViolations(input.mobile, input.password);
    if (normalized === undefined || errors.length > 0) {
      const count = errors.length === 1 ? '1 problem' : `${errors.length} problems`;
      throw new DomainError('VALIDATION_FAILED', `The request body has ${count}`, { errors });
    }
    const passwordHash = await hashPassword(input.password, this.options.scrypt);
    const id = newId('usr') as UserId;
    const inserted = await repo.insertUser(this.deps.db, { id, mobile: normalized, passwordHash, now: this.deps.clock.now() });
    if (!inserted) throw new DomainError('MOBILE_ALREADY_REGISTERED', 'This mobile number is already registered');
    return { userId: id };
  }

  /**
   * Checks the password and opens a session. Wrong mobile and wrong password
   * give the same error after the same work (an unknown mobile is checked
   * against a dummy hash). A locked account is refused even with the right
   * password, and nothing is counted while it is locked.
   */
  async login(input: { mobile: string; password: string }): Promise<Session & { userId: UserId }> {
    const mobile = normalizeMobile(input.mobile);
    const user = mobile === undefined ? undefined : await repo.findUserByMobile(this.deps.db, mobile);
    if (!user) {
      await verifyPassword(input.password, await this.dummyHash());
      throw new DomainError('INVALID_CREDENTIALS', INVALID_CREDENTIALS);
    }
    const now = this.deps.clock.now();
    if (user.lockedUntil && user.lockedUntil > now) throw locked(user.lockedUntil, now);

    if (!(await verifyPassword(input.password, user.passwordHash))) {
      const after = this.deps.clock.now();
      const counted = await repo.recordFailure(
        this.deps.db,
        user.id,
        this.options.maxFailedLogins,
        new Date(after.getTime() + this.options.lockoutMs),
        after,
      );
      if (!counted) {
        const fresh = await repo.findUserByMobile(this.deps.db, user.mobile);
        throw locked(fresh?.lockedUntil ?? after, after);
      }
      throw new DomainError('INVALID_CREDENTIALS', INVALID_CREDENTIALS);
    }

    const upgraded = needsRehash(user.passwordHash, this.options.scrypt)
      ? await hashPassword(input.password, this.options.scrypt)
      : undefined;
    const at = this.deps.clock.now();
    if (!(await repo.recordSuccess(this.deps.db, user.id, at, upgraded))) {
      // Another request's failures locked the account while this password was being checked.
      const fresh = await repo.findUserByMobile(this.deps.db, user.mobile);
      throw locked(fresh?.lockedUntil ?? at, at);
    }
    const token = SESSION_TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const expiresAt = new Date(at.getTime() + this.options.sessionTtlMs);
    await repo.insertSession(this.deps.db, {
      id: newId('ses') as AuthenticatedUser['sessionId'],
      userId: user.id,
      tokenHash: hashToken(token),
      createdAt: at,
      expiresAt,
    });
    return { token, expiresAt, userId: user.id };
  }

  /** The user behind a live session token, or undefined (unknown, expired, revoked or malformed). */
  async authenticate(token: string): Promise<AuthenticatedUser | undefined> {
    if (!TOKEN_FORMAT.test(token)) return undefined;
    return repo.findLiveSession(this.deps.db, hashToken(token), this.deps.clock.now());
  }

  /** Revokes the session of this token; false if there was no live one (logging out twice is harmless). */
  async logout(token: string): Promise<boolean> {
    if (!TOKEN_FORMAT.test(token)) return false;
    return repo.revokeSessionByHash(this.deps.db, hashToken(token), this.deps.clock.now());
  }

  async getUser(id: string): Promise<User> {
    const user = isId(id, 'usr') ? await repo.findUser(this.deps.db, id) : undefined;
    if (!user) throw new DomainError('USER_NOT_FOUND', `No user ${id}`);
    return this.current(user);
  }

  async findByMobile(mobile: string): Promise<User | undefined> {
    const normalized = normalizeMobile(mobile);
    if (normalized === undefined) return undefined;
    const found = await repo.findUserByMobile(this.deps.db, normalized);
    if (!found) return undefined;
    const { passwordHash: _hidden, ...user } = found;
    return this.current(user);
  }

  async listUsers(options: { limit?: number; startingAfter?: string } = {}): Promise<Page<User>> {
    const limit = Math.min(Math.max(options.limit ?? 50, 1), 200);
    const rows = await repo.listUsers(this.deps.db, limit + 1, options.startingAfter);
    return { data: rows.slice(0, limit).map((user) => this.current(user)), hasMore: rows.length > limit };
  }

  /** Freezing and unfreezing are idempotent: freezing a frozen user changes nothing. */
  async setStatus(id: string, status: UserStatus): Promise<User> {
    const user = isId(id, 'usr') ? await repo.setStatus(this.deps.db, id, status, this.deps.clock.now()) : undefined;
    if (!user) throw new DomainError('USER_NOT_FOUND', `No user ${id}`);
    return this.current(user);
  }

  freeze(id: string): Promise<User> {
    return this.setStatus(id, 'FROZEN');
  }

  unfreeze(id: string): Promise<User> {
    return this.setStatus(id, 'ACTIVE');
  }

  /**
   * For other modules, inside the transaction that moves the money: throws
   * USER_FROZEN (or USER_NOT_FOUND) and otherwise holds a share lock on the
   * user row, so a freeze cannot commit in the middle of the movement.
   */
  async assertUserCanMoveMoney(userId: string, tx: repo.Executor = this.deps.db): Promise<void> {
    const status = isId(userId, 'usr') ? await repo.statusForShare(tx, userId) : undefined;
    if (status === undefined) throw new DomainError('USER_NOT_FOUND', `No user ${userId}`);
    assertCanMoveMoney({ status });
  }

  /**
   * Deletes sessions that ended (expired or logged out) more than `keepMs` ago;
   * they authenticate nothing and only grow the table. Returns how many.
   */
  purgeEndedSessions(keepMs = 7 * 24 * 60 * 60 * 1000): Promise<number> {
    return repo.deleteEndedSessions(this.deps.db, new Date(this.deps.clock.now().getTime() - keepMs));
  }

  /** A lock that has run out is shown as none (the row keeps the old time until the next login). */
  private current(user: User): User {
    return user.lockedUntil && user.lockedUntil <= this.deps.clock.now() ? { ...user, lockedUntil: null } : user;
  }

  private dummyHash(): Promise<string> {
    this.dummy ??= dummyHash(this.options.scrypt);
    return this.dummy;
  }
}

function locked(until: Date, now: Date): DomainError {
  const retryAfterS = Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000));
  return new DomainError('ACCOUNT_LOCKED', 'Too many wrong passwords: this account is locked for a while', {
    lockedUntil: until.toISOString(),
    retryAfterS,
  });
}
