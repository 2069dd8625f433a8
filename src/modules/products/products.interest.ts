/**
 * The savings products' money maths (SPEC 7), on integers only.
 *
 * A rate is kept in parts per million of the principal per year (ppm): the
 * percent string "3.65" is 36 500 ppm, so four decimals of a percent are exact.
 * Interest = amountMinor x ratePpm x termDays / (1 000 000 x daysInYear),
 * rounded half-up once, at the end, to the minor unit. "ACT" is the actual
 * number of days held (termDays); the day count names the year's length.
 */
import { DomainError } from '../../platform/errors.ts';

export const dayCounts = ['ACT/365', 'ACT/360'] as const;
export type DayCount = (typeof dayCounts)[number];

const PPM_PER_UNIT = 1_000_000n;
const MS_PER_DAY = 86_400_000;
/** Rates above 100 % a year are refused: a typo, not a savings product. */
export const MAX_RATE_PPM = 1_000_000;
const PERCENT = /^(0|[1-9]\d{0,2})(?:\.(\d{1,4}))?$/;

export function daysInYear(dayCount: DayCount): bigint {
  return dayCount === 'ACT/360' ? 360n : 365n;
}

/** "3.65" (percent, up to 4 decimals) -> 36500 ppm. */
export function parseRatePercent(text: string): number {
  const match = typeof text === 'string' ? PERCENT.exec(text) : null;
  if (!match) throw new DomainError('VALIDATION_FAILED', `annualRate must be a percent such as "3.65" (at most 4 decimals), got ${JSON.stringify(text)}`);
  const ppm = Number(match[1]) * 10_000 + Number((match[2] ?? '').padEnd(4, '0'));
  if (ppm <= 0 || ppm > MAX_RATE_PPM) throw new DomainError('VALIDATION_FAILED', 'annualRate must be above 0 and at most 100 (percent)');
  return ppm;
}

/** 36500 ppm -> "3.65": at least two decimals, trailing zeros beyond them dropped. */
export function formatRatePercent(ratePpm: number): string {
  const whole = Math.floor(ratePpm / 10_000);
  let fraction = String(ratePpm % 10_000).padStart(4, '0');
  while (fraction.length > 2 && fraction.endsWith('0')) fraction = fraction.slice(0, -1);
  return `${whole}.${fraction}`;
}

/** floor((2n + d) / 2d): n / d rounded half-up, for n >= 0 and d > 0. */
export function divideHalfUp(numerator: bigint, denominator: bigint): bigint {
  if (numerator < 0n || denominator <= 0n) throw new RangeError('divideHalfUp takes n >= 0 and d > 0');
  return (numerator * 2n + denominator) / (denominator * 2n);
}

export interface InterestTerms {
  ratePpm: number;
  termDays: number;
  dayCount: DayCount;
}

/** The interest of the whole term, rounded half-up once. */
export function interestMinor(amountMinor: bigint, terms: InterestTerms): bigint {
  return divideHalfUp(amountMinor * BigInt(terms.ratePpm) * BigInt(terms.termDays), PPM_PER_UNIT * daysInYear(terms.dayCount));
}

/**
 * Earned after `daysHeld` days: accrued linearly and floored (never shows more
 * than will be paid); the whole interest once the term is over.
 */
export function earnedMinor(amountMinor: bigint, terms: InterestTerms, daysHeld: number): bigint {
  if (daysHeld <= 0) return 0n;
  if (daysHeld >= terms.termDays) return interestMinor(amountMinor, terms);
  return (amountMinor * BigInt(terms.ratePpm) * BigInt(daysHeld)) / (PPM_PER_UNIT * daysInYear(terms.dayCount));
}

// ---- dates: calendar days in UTC, written yyyy-mm-dd ---------------------------------------

/** The UTC calendar day of an instant. */
export function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

export function addDays(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00.000Z`) + days * MS_PER_DAY).toISOString().slice(0, 10);
}

/** Whole days from `from` to `to` (negative when `to` is earlier). */
export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00.000Z`) - Date.parse(`${from}T00:00:00.000Z`)) / MS_PER_DAY);
}

export interface Schedule {
  /** T+1: interest starts the calendar day after the order is paid (UTC). */
  valueDate: string;
  /** valueDate + termDays: principal and interest are paid that day. */
  maturityDate: string;
}

export function scheduleFor(paidAt: Date, termDays: number): Schedule {
  const valueDate = addDays(utcDay(paidAt), 1);
  return { valueDate, maturityDate: addDays(valueDate, termDays) };
}
