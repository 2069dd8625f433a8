import type { Id } from '../../platform/ids.ts';

export type ChallengeId = Id<'smc'>;
export type SmsMessageId = Id<'sms'>;

/**
 * A challenge's life: PENDING until the right code is given (VERIFIED), the
 * attempts run out (EXHAUSTED) or a newer code for the same purpose and subject
 * replaces it (SUPERSEDED). Expiry is a time, not a status: a PENDING row past
 * expires_at is simply dead. Each move is a guarded UPDATE ... WHERE status = 'PENDING'.
 */
export const challengeStatuses = ['PENDING', 'VERIFIED', 'EXHAUSTED', 'SUPERSEDED'] as const;
export type ChallengeStatus = (typeof challengeStatuses)[number];

export const Transitions: Record<ChallengeStatus, readonly ChallengeStatus[]> = {
  PENDING: ['VERIFIED', 'EXHAUSTED', 'SUPERSEDED'],
  VERIFIED: [],
  EXHAUSTED: [],
  SUPERSEDED: [],
};

export interface SendCodeInput {
  /** What the code authorises, e.g. WITHDRAW, PAYOUT, QUICK_PAY: upper case letters, digits, underscores. */
  purpose: string;
  /** Who it is for (a user or merchant id); a code never verifies for another subject. */
  subjectId: string;
  mobile: string;
}

export interface SentCode {
  challengeId: ChallengeId;
  expiresAt: Date;
}

export interface VerifyContext {
  purpose: string;
  subjectId: string;
}

export interface Challenge {
  id: ChallengeId;
  purpose: string;
  subjectId: string;
  mobile: string;
  codeHash: string;
  status: ChallengeStatus;
  attempts: number;
  maxAttempts: number;
  expiresAt: Date;
  createdAt: Date;
  verifiedAt: Date | null;
}

/** One message as the development sink keeps it (sandbox mode only). */
export interface SinkMessage {
  id: SmsMessageId;
  challengeId: string | null;
  purpose: string | null;
  mobile: string;
  text: string;
  createdAt: Date;
}

export interface Page<T> {
  data: T[];
  hasMore: boolean;
}
