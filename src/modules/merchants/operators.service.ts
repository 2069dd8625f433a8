import { createHash, randomBytes } from 'node:crypto';
import { type JsonValue, recordAudit } from '../../platform/audit.ts';
import type { Clock } from '../../platform/clock.ts';
import { DomainError } from '../../platform/errors.ts';
import { isId, newId } from '../../platform/ids.ts';
import { DEFAULT_SCRYPT_PARAMS, dummyHash, hashPassword, type ScryptParams, verifyPassword } from '../users/index.ts';
import * as repo from './merchants.repository.ts';
import type { Actor } from './merchants.service.ts';
import {
  type AuthenticatedOperator,
  type MerchantId,
  type Operator,
  type OperatorId,
  type OperatorRole,
  operatorRoles,
  type Page,
} from './merchants.types.ts';

export interface OperatorsOptions {
  sessionTtlMs: number;
  maxFailedLogins: number;
  lockoutMs: number;
  scrypt: ScryptParams;
}

export const DEFAULT_OPERATORS_OPTIONS: OperatorsOptions = {
  sessionTtlMs: 12 * 60 * 60 * 1000,
  maxFailedLogins: 5,
  lockoutMs: 15 * 60 * 1000,
  scrypt: DEFAULT_SCRYPT_PARAMS,
};

export interface OperatorsDeps {
  db: repo.Executor;
  clock: Clock;
  options?: Partial<OperatorsOptions>;
}

/** Operator session tokens: a prefix of their own, so an operator token is never taken for a user's (`cs_`). */
export const OPERATOR_TOKEN_PREFIX = 'co_';
const TOKEN_FORMAT = /^co_[A-Za-z0-9_-]{43}$/;
const USERNAME_FORMAT = /^[a-z0-9][a-z0-9._-]{2,63}$/;
const INVALID = 'The username or password is wrong';

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function operatorAuditView(operator: Operator): JsonValue {
  return { operatorId: operator.id, username: operator.username, role: operator.role, merchantId: operator.merchantId, status: operator.status };
}

function validation(detail: string, path: string): DomainError {
  return new DomainError('VALIDATION_FAILED', detail, { errors: [{ path, message: detail }] });
}

/**
 * Operators (SPEC 5): the people of the admin console and the merchant portal.
 * `admin` runs the platform (and passes `requireAdmin`); `maker`, `checker`
 * and `viewer` work for one merchant (a viewer may also be a platform viewer,
 * with no merchant). Their logins and sessions are separate from users': own
 * table, own token prefix, same scrypt hashing and lockout rule.
 */
export class OperatorsService {
  readonly options: OperatorsOptions;
  private dummy: Promise<string> | undefined;

  constructor(private readonly deps: OperatorsDeps) {
    this.options = { ...DEFAULT_OPERATORS_OPTIONS, ...deps.options };
  }

  async create(
    input: { username: string; password: string; role: string; merchantId?: string | undefined },
    actor: Actor,
  ): Promise<Operator> {
    const username = input.username.trim().toLowerCase();
    if (!USERNAME_FORMAT.test(username)) throw validation('username is 3-64 of a-z, 0-9, . _ - and starts with a letter or digit', '/body/username');
    if (input.password.length < 10 || input.password.length > 1024) throw validation('password must be 10-1024 characters', '/body/password');
    const role = input.role as OperatorRole;
    if (!operatorRoles.includes(role)) throw validation(`role must be one of ${operatorRoles.join(', ')}`, '/body/role');
    const merchantId = (input.merchantId ?? null) as MerchantId | null;
    if (role === 'admin' && merchantId !== null) throw validation('an admin runs the platform and belongs to no merchant', '/body/merchantId');
    if ((role === 'maker' || role === 'checker') && merchantId === null) throw validation(`a ${role} works for one merchant: give merchantId`, '/body/merchantId');
    const passwordHash = await hashPassword(input.password, this.options.scrypt);
    const now = this.deps.clock.now();
    const operator: Operator = { id: newId('op', now.getTime()) as OperatorId, username, role, merchantId, status: 'ACTIVE', createdAt: now, updatedAt: now };
    await this.deps.db.transaction().execute(async (trx) => {
      if (merchantId !== null && !(isId(merchantId, 'mch') && (await repo.findMerchant(trx, merchantId, 'share')))) {
        throw new DomainError('MERCHANT_NOT_FOUND', `No merchant ${merchantId}`);
      }
      if (!(await repo.insertOperator(trx, operator, passwordHash))) {
        throw new DomainError('OPERATOR_ALREADY_EXISTS', `An operator named ${username} exists`);
      }
      await recordAudit(
        trx,
        { principal: actor.principal, action: 'operator.create', subject: { kind: 'operator', id: operator.id }, before: null, after: operatorAuditView(operator), requestId: actor.requestId },
        now,
      );
    });
    return operator;
  }

  async get(id: string): Promise<Operator> {
    const operator = isId(id, 'op') ? await repo.findOperator(this.deps.db, id) : undefined;
    if (!operator) throw new DomainError('OPERATOR_NOT_FOUND', `No operator ${id}`);
    return operator;
  }

  async list(query: { limit?: number | undefined; startingAfter?: string | undefined } = {}): Promise<Page<Operator>> {
    const limit = Math.min(Math.max(query.limit ?? 50, 1), 200);
    const rows = await repo.listOperators(this.deps.db, limit + 1, query.startingAfter);
    return { data: rows.slice(0, limit), hasMore: rows.length > limit };
  }

  /**
   * Disables or re-enables an operator. A disabled operator's sessions stop
   * working at once (sessions are only live for ACTIVE operators) and it
   * cannot log in. Asking for the status it has is a no-op; nobody disables
   * themselves (an admin could otherwise lock the console out).
   */
  async setStatus(id: string, status: Operator['status'], actor: Actor): Promise<Operator> {
    const before = await this.get(id);
    if (before.status === status) return before;
    if (status === 'DISABLED' && actor.principal.kind === 'operator' && actor.principal.id === before.id) {
      throw new DomainError('FORBIDDEN', 'An operator cannot disable themselves');
    }
    const now = this.deps.clock.now();
    return this.deps.db.transaction().execute(async (trx) => {
      const after = await repo.setOperatorStatus(trx, before.id, before.status, status, now);
      if (!after) return this.get(id); // changed meanwhile by another request: answer what it is now
      await recordAudit(
        trx,
        {
          principal: actor.principal,
          action: status === 'DISABLED' ? 'operator.disable' : 'operator.enable',
          subject: { kind: 'operator', id: before.id },
          before: operatorAuditView(before),
          after: operatorAuditView(after),
          requestId: actor.requestId,
        },
        now,
      );
      return after;
    });
  }

  /**
   * Same rules as users' login: an unknown username costs a dummy hash (no
   * timing oracle), wrong passwords lock the login for a while, a locked
   * login is refused even with the right password.
   */
  async login(input: { username: string; password: string }, requestId?: string): Promise<{ token: string; expiresAt: Date; operator: Operator }> {
    const row = await repo.findOperatorByUsername(this.deps.db, input.username.trim().toLowerCase());
    if (!row || row.status !== 'ACTIVE') {
      await verifyPassword(input.password, await this.dummyHash());
      throw new DomainError('INVALID_OPERATOR_CREDENTIALS', INVALID);
    }
    const now = this.deps.clock.now();
    if (row.lockedUntil && row.lockedUntil > now) throw locked(row.lockedUntil, now);
    // Logins of known operators are audited too (who got in, who was refused); attempts on
    // unknown names are not, so a password typed into the username field is never kept.
    const loginAudit = (action: string, at: Date) => ({
      principal: { kind: 'operator', id: row.id },
      action,
      subject: { kind: 'operator', id: row.id },
      before: null,
      after: null,
      requestId: requestId,
    });
    if (!(await verifyPassword(input.password, row.passwordHash))) {
      const after = this.deps.clock.now();
      const counted = await this.deps.db.transaction().execute(async (trx) => {
        const ok = await repo.recordOperatorFailure(trx, row.id, this.options.maxFailedLogins, new Date(after.getTime() + this.options.lockoutMs), after);
        if (ok) await recordAudit(trx, loginAudit('operator.login_failed', after), after);
        return ok;
      });
      if (!counted) throw locked(new Date(after.getTime() + this.options.lockoutMs), after);
      throw new DomainError('INVALID_OPERATOR_CREDENTIALS', INVALID);
    }
    const at = this.deps.clock.now();
    const token = OPERATOR_TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const expiresAt = new Date(at.getTime() + this.options.sessionTtlMs);
    await this.deps.db.transaction().execute(async (trx) => {
      if (!(await repo.recordOperatorSuccess(trx, row.id, at))) throw locked(new Date(at.getTime() + this.options.lockoutMs), at);
      await repo.insertOperatorSession(trx, { id: newId('ops', at.getTime()), operatorId: row.id, tokenHash: hashToken(token), createdAt: at, expiresAt });
      await recordAudit(trx, loginAudit('operator.login', at), at);
    });
    const { passwordHash: _hash, lockedUntil: _locked, ...operator } = row;
    return { token, expiresAt, operator };
  }

  /** The operator behind a live session token; undefined for anything else (including a user's token). */
  async authenticate(token: string): Promise<AuthenticatedOperator | undefined> {
    if (!TOKEN_FORMAT.test(token)) return undefined;
    return repo.findLiveOperatorSession(this.deps.db, hashToken(token), this.deps.clock.now());
  }

  async logout(token: string): Promise<boolean> {
    if (!TOKEN_FORMAT.test(token)) return false;
    return repo.revokeOperatorSession(this.deps.db, hashToken(token), this.deps.clock.now());
  }

  purgeEndedSessions(keepMs = 7 * 24 * 60 * 60 * 1000): Promise<number> {
    return repo.deleteEndedOperatorSessions(this.deps.db, new Date(this.deps.clock.now().getTime() - keepMs));
  }

  private dummyHash(): Promise<string> {
    this.dummy ??= dummyHash(this.options.scrypt);
    return this.dummy;
  }
}

export function isOperatorToken(token: string): boolean {
  return token.startsWith(OPERATOR_TOKEN_PREFIX);
}

function locked(until: Date, now: Date): DomainError {
  const retryAfterS = Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000));
  return new DomainError('ACCOUNT_LOCKED', 'Too many wrong passwords: this login is locked for a while', { lockedUntil: until.toISOString(), retryAfterS });
}
