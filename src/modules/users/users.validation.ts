import type { Violation } from '../../platform/http/problem.ts';

/**
 * Mobile numbers: a mainland China mobile (11 digits starting 13-19, e.g.
 * 13800138000) or any E.164 number (`+` then 8-15 digits). `+86` followed by a
 * China mobile is stored as the 11-digit form, so one phone is one user
 * whichever way it was written. Nothing else (spaces, dashes) is accepted.
 */
const CN_MOBILE = /^1[3-9]\d{9}$/;
const E164 = /^\+[1-9]\d{7,14}$/;

export function normalizeMobile(raw: string): string | undefined {
  if (CN_MOBILE.test(raw)) return raw;
  if (!E164.test(raw)) return undefined;
  if (raw.startsWith('+86') && CN_MOBILE.test(raw.slice(3))) return raw.slice(3);
  return raw;
}

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;
/** From this length a passphrase of one character class is long enough. */
const PASSPHRASE_LENGTH = 16;

/**
 * Password policy: 8-128 characters and at least two classes of lower case,
 * upper case, digits and others (or 16+ characters of any kind), and not the
 * mobile number. Returns what is wrong, or undefined when acceptable.
 */
export function passwordProblem(password: string, mobile: string | undefined): string | undefined {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) return `must be at least ${PASSWORD_MIN_LENGTH} characters`;
  if (length > PASSWORD_MAX_LENGTH) return `must be at most ${PASSWORD_MAX_LENGTH} characters`;
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^a-zA-Z0-9]/].filter((re) => re.test(password)).length;
  if (classes < 2 && length < PASSPHRASE_LENGTH) {
    return `must mix at least two of lower case, upper case, digits and symbols (or be ${PASSPHRASE_LENGTH}+ characters)`;
  }
  if (mobile !== undefined && password.includes(mobile)) return 'must not contain the mobile number';
  return undefined;
}

export function registrationViolations(mobile: string, password: string): { normalized?: string; errors: Violation[] } {
  const errors: Violation[] = [];
  const normalized = normalizeMobile(mobile);
  if (normalized === undefined) {
    errors.push({ path: '/body/mobile', message: 'must be a China mobile number (13800138000) or E.164 (+447700900123)' });
  }
  const problem = passwordProblem(password, normalized);
  if (problem) errors.push({ path: '/body/password', message: problem });
  return normalized === undefined ? { errors } : { normalized, errors };
}
