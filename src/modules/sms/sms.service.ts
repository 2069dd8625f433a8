import type { Clock } from '../../platform/clock.ts';
import { DomainError } from '../../platform/errors.ts';
import { isId, newId } from '../../platform/ids.ts';
import type { Logger } from '../../platform/log.ts';
import { codeMatches, hashCode, isCodeFormat, newCode } from './sms.code.ts';
import * as repo from './sms.repository.ts';
import type { ChallengeId, Page, SendCodeInput, SentCode, SinkMessage, SmsMessageId, VerifyContext } from './sms.types.ts';

export interface SmsOptions {
  /** How long a code verifies. Default 5 min. */
  codeTtlMs: number;
  /** Attempts per challenge; the right code counts as one. Default 5. */
  maxAttempts: number;
  /** Minimum time between two codes of one (purpose, subject). Default 60 s. */
  resendCooldownMs: number;
}

export const DEFAULT_SMS_OPTIONS: SmsOptions = {
  codeTtlMs: 5 * 60_000,
  maxAttempts: 5,
  resendCooldownMs: 60_000,
};

/** A text message to one phone. */
export interface SmsMessage {
  mobile: string;
  text: string;
  purpose: string | null;
  challengeId: string | null;
}

/**
 * Where messages go. Only the development sink exists now; a real provider
 * implements this too. It is called inside the transaction that creates the
 * challenge: a provider that talks to the network should instead queue the
 * message (e.g. publish it on the outbox) and send after commit.
 */
export interface SmsSender {
  readonly name: string;
  send(message: SmsMessage, executor: repo.Executor): Promise<void>;
}

/** Sandbox mode: keeps every message, code included, for the admin console and GET /sandbox/sms. */
export class SandboxSmsSink implements SmsSender {
  readonly name = 'sandbox-sink';
  constructor(private readonly clock: Clock) {}
  async send(message: SmsMessage, executor: repo.Executor): Promise<void> {
    const id = newId('sms') as SmsMessageId;
    await repo.insertSinkMessage(executor, { id, ...message, now: this.clock.now() });
  }
}

/** Non-sandbox mode with no provider configured: the text is neither stored nor logged (it holds a code). */
export class NoSmsProvider implements SmsSender {
  readonly name = 'none';
  constructor(private readonly logger: Pick<Logger, 'warn'>) {}
  async send(message: SmsMessage): Promise<void> {
    this.logger.warn({ mobile: maskMobile(message.mobile), purpose: message.purpose }, 'No SMS provider is configured: the message was dropped');
  }
}

export interface SmsDeps {
  db: repo.Executor;
  clock: Clock;
  sender: SmsSender;
  /** HMAC key for stored code hashes (see sms.code.ts). */
  codeKey: Buffer;
  options?: Partial<SmsOptions>;
}

const PURPOSE = /^[A-Z][A-Z0-9_]{0,31}$/;
const SUBJECT = /^[A-Za-z0-9_:-]{1,64}$/;
const MOBILE = /^\+?\d{6,20}$/;

/** A phone number without spaces, dashes or brackets; undefined if it is not one. */
export function normalizeSmsMobile(mobile: string): string | undefined {
  const compact = mobile.replace(/[\s()-]/g, '');
  return MOBILE.test(compact) ? compact : undefined;
}

export function maskMobile(mobile: string): string {
  return mobile.length <= 7 ? '*'.repeat(mobile.length) : `${mobile.slice(0, 3)}****${mobile.slice(-4)}`;
}

/**
 * One-time SMS codes (SPEC 6): send a 6-digit code for a purpose and subject,
 * verify it once. Codes are stored as keyed hashes, expire, allow a few
 * attempts, and are not re-sent within the cool-down.
 */
export class SmsService {
  readonly options: SmsOptions;

  constructor(private readonly deps: SmsDeps) {
    this.options = { ...DEFAULT_SMS_OPTIONS, ...deps.options };
  }

  /**
   * Sends a new code and returns the challenge to verify it against. Pass the
   * caller's transaction to create the challenge together with the caller's
   * own record. Any older pending code of the same purpose and subject stops
   * working. Within the cool-down: SMS_RESEND_TOO_SOON (with retryAfterS).
   */
  async sendCode(input: SendCodeInput, trx?: repo.Executor): Promise<SentCode> {
    const purpose = validPurpose(input.purpose);
    const subjectId = validSubject(input.subjectId);
    const mobile = normalizeSmsMobile(String(input.mobile ?? ''));
    if (mobile === undefined) throw new DomainError('VALIDATION_FAILED', 'mobile must be a phone number: 6-20 digits, optionally after +');
    return this.inTransaction(trx, async (tx) => {
      const now = this.deps.clock.now();
      const cutoff = new Date(now.getTime() - this.options.resendCooldownMs);
      if (!(await repo.takeSendSlot(tx, { purpose, subjectId, now, cutoff }))) {
        const last = (await repo.lastSentAt(tx, purpose, subjectId)) ?? now;
        const retryAfterS = Math.max(1, Math.ceil((last.getTime() + this.options.resendCooldownMs - now.getTime()) / 1000));
        throw new DomainError('SMS_RESEND_TOO_SOON', `A code was sent for ${purpose} moments ago; ask again in ${retryAfterS} s`, { retryAfterS });
      }
      await repo.supersedePending(tx, purpose, subjectId);
      const challengeId = newId('smc') as ChallengeId;
      const code = newCode();
      const expiresAt = new Date(now.getTime() + this.options.codeTtlMs);
      await repo.insertChallenge(tx, {
        id: challengeId,
        purpose,
        subjectId,
        mobile,
        codeHash: hashCode(this.deps.codeKey, challengeId, code),
        maxAttempts: this.options.maxAttempts,
        expiresAt,
        now,
      });
      const minutes = Math.max(1, Math.round(this.options.codeTtlMs / 60_000));
      const text = `[Coffer] ${code} is your verification code for ${purpose}. It expires in ${minutes} minute${minutes === 1 ? '' : 's'}. Never share it with anyone.`;
      await this.deps.sender.send({ mobile, text, purpose, challengeId }, tx);
      return { challengeId, expiresAt };
    });
  }

  /** What sendCode answered for this challenge (undefined for an unknown id): for a retry whose first answer was lost. */
  async sentCode(challengeId: string): Promise<SentCode | undefined> {
    const challenge = isId(challengeId, 'smc') ? await repo.findChallenge(this.deps.db, challengeId) : undefined;
    return challenge && { challengeId: challenge.id, expiresAt: challenge.expiresAt };
  }

  /**
   * Checks a code. Succeeds once per challenge; otherwise throws:
   * SMS_CHALLENGE_NOT_FOUND (unknown id, or another purpose or subject: never
   * verifies and counts nothing), SMS_CODE_ALREADY_USED, SMS_CODE_EXPIRED (also
   * when a newer code was sent), SMS_CODE_ATTEMPTS_EXCEEDED (the wrong code that
   * uses the last attempt, and every try after it), SMS_CODE_INVALID (with
   * attemptsLeft). Every counted try is one guarded UPDATE, so concurrent
   * verifications cannot both succeed or count past the limit.
   */
  async verifyCode(challengeId: string, code: string, context: VerifyContext, trx?: repo.Executor): Promise<{ challengeId: ChallengeId; verifiedAt: Date }> {
    const db = trx ?? this.deps.db;
    const challenge = isId(challengeId, 'smc') ? await repo.findChallenge(db, challengeId) : undefined;
    if (!challenge || challenge.purpose !== context.purpose || challenge.subjectId !== context.subjectId) {
      throw new DomainError('SMS_CHALLENGE_NOT_FOUND', `No SMS code challenge ${challengeId} for ${context.purpose} of this subject`);
    }
    const now = this.deps.clock.now();
    const right = isCodeFormat(code) && codeMatches(this.deps.codeKey, challenge.id, code, challenge.codeHash);
    if (right) {
      if (await repo.markVerified(db, challenge.id, now)) return { challengeId: challenge.id, verifiedAt: now };
    } else {
      const counted = await repo.countWrongAttempt(db, challenge.id, now);
      if (counted) {
        const attemptsLeft = counted.maxAttempts - counted.attempts;
        if (attemptsLeft <= 0) throw exceeded(counted.maxAttempts);
        throw new DomainError('SMS_CODE_INVALID', `The code is wrong; ${attemptsLeft} attempt${attemptsLeft === 1 ? '' : 's'} left`, { attemptsLeft });
      }
    }
    // Nothing changed: the challenge was not live (read again, it may have moved meanwhile).
    const current = (await repo.findChallenge(db, challenge.id)) ?? challenge;
    if (current.status === 'VERIFIED') throw new DomainError('SMS_CODE_ALREADY_USED', 'This code was already used');
    if (current.status === 'EXHAUSTED' || current.attempts >= current.maxAttempts) throw exceeded(current.maxAttempts);
    if (current.status === 'SUPERSEDED') throw new DomainError('SMS_CODE_EXPIRED', 'A newer code was sent; use that one');
    throw new DomainError('SMS_CODE_EXPIRED', `The code expired at ${current.expiresAt.toISOString()}; ask for a new one`);
  }

  /** The development sink, newest first (empty outside sandbox mode: nothing is kept there). */
  async sinkMessages(options: { mobile?: string; limit?: number; startingAfter?: string } = {}): Promise<Page<SinkMessage>> {
    const limit = Math.min(Math.max(options.limit ?? 50, 1), 200);
    let mobile: string | undefined;
    if (options.mobile !== undefined) {
      mobile = normalizeSmsMobile(options.mobile);
      if (mobile === undefined) return { data: [], hasMore: false };
    }
    const rows = await repo.listSinkMessages(this.deps.db, mobile, limit + 1, options.startingAfter);
    return { data: rows.slice(0, limit), hasMore: rows.length > limit };
  }

  /**
   * Deletes what can no longer matter: challenges expired over `keepMs` ago
   * (default 7 days), sink messages and cool-down slots older than that.
   */
  purgeOld(keepMs = 7 * 24 * 60 * 60 * 1000): Promise<number> {
    return repo.deleteOld(this.deps.db, new Date(this.deps.clock.now().getTime() - keepMs));
  }

  private inTransaction<T>(trx: repo.Executor | undefined, work: (tx: repo.Executor) => Promise<T>): Promise<T> {
    if (trx !== undefined) return work(trx);
    return this.deps.db.transaction().execute(work);
  }
}

function exceeded(maxAttempts: number): DomainError {
  return new DomainError('SMS_CODE_ATTEMPTS_EXCEEDED', `${maxAttempts} wrong codes: this code no longer works; ask for a new one`, { attemptsLeft: 0 });
}

function validPurpose(purpose: unknown): string {
  if (typeof purpose !== 'string' || !PURPOSE.test(purpose)) {
    throw new DomainError('VALIDATION_FAILED', 'purpose must be 1-32 upper case letters, digits or underscores, starting with a letter (e.g. WITHDRAW)');
  }
  return purpose;
}

function validSubject(subjectId: unknown): string {
  if (typeof subjectId !== 'string' || !SUBJECT.test(subjectId)) {
    throw new DomainError('VALIDATION_FAILED', 'subjectId must be 1-64 letters, digits, _, : or -');
  }
  return subjectId;
}
