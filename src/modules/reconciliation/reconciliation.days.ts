import { DomainError } from '../../platform/errors.ts';

/** UTC days as `yyyy-mm-dd` text: they sort as they run and never meet a local time zone. */

const DAY_MS = 86_400_000;
const DAY_FORMAT = /^(\d{4})-(\d{2})-(\d{2})$/;

export function dayOf(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/** A real calendar day in `yyyy-mm-dd`, or RECONCILIATION_DATE_INVALID. */
export function parseDay(text: string): string {
  const match = DAY_FORMAT.exec(text);
  const ms = match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : NaN;
  if (!match || Number.isNaN(ms) || dayOf(new Date(ms)) !== text || Number(match[1]) < 2000) {
    throw new DomainError('RECONCILIATION_DATE_INVALID', `"${text.slice(0, 40)}" is not a date in the form yyyy-mm-dd (UTC, year 2000 or later)`);
  }
  return text;
}

export function nextDay(day: string): string {
  return dayOf(new Date(Date.parse(`${day}T00:00:00.000Z`) + DAY_MS));
}

/** Day D closes at D+1 00:00 UTC + closeAfterS: lines arriving later for D go to the first open day. */
export function closesAt(day: string, closeAfterS: number): Date {
  return new Date(Date.parse(`${day}T00:00:00.000Z`) + DAY_MS + closeAfterS * 1000);
}

export function isClosedAt(day: string, now: Date, closeAfterS: number): boolean {
  return now.getTime() >= closesAt(day, closeAfterS).getTime();
}

/** The earliest day still open at `now` (every day before it has closed). */
export function firstOpenDay(now: Date, closeAfterS: number): string {
  return dayOf(new Date(now.getTime() - closeAfterS * 1000));
}
