/**
 * The SMS module's whole public surface: one-time codes (SPEC 6) and the
 * development sink.
 *
 *   const { challengeId, expiresAt } = await sms.sendCode({ purpose: 'WITHDRAW', subjectId: userId, mobile }, trx);
 *   ...
 *   await sms.verifyCode(challengeId, code, { purpose: 'WITHDRAW', subjectId: userId }, trx); // throws DomainError SMS_*
 */
export {
  SmsService,
  SandboxSmsSink,
  NoSmsProvider,
  DEFAULT_SMS_OPTIONS,
  normalizeSmsMobile,
  maskMobile,
  type SmsDeps,
  type SmsOptions,
  type SmsSender,
  type SmsMessage,
} from './sms.service.ts';
export { loadCodeKey } from './sms.code.ts';
export { smsHttpModule } from './sms.routes.ts';
export { smsMigrations } from './sms.migrations.ts';
export type { ChallengeId, SendCodeInput, SentCode, SinkMessage, VerifyContext } from './sms.types.ts';
