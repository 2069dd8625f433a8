import { type CurrencyCode, formatMinor } from '../../platform/money/index.ts';
import { type FiredRule, type RiskLevel, riskLevels, type Rule, type VerificationStep } from './risk.types.ts';

/**
 * The rules' arithmetic, pure: no database, no clock. The service gathers the
 * figures (from the risk module's own tables) and this decides what fires.
 */

/** What the rules look at for one request. "Counted" decisions: not rejected, not released. */
export interface Figures {
  amountMinor: bigint;
  currency: CurrencyCode;
  /** Counted decisions of this subject and flow since the start of the risk day (this request excluded). */
  todayCount: number;
  /** Their sum in this request's currency (this request excluded). */
  todayAmountMinor: bigint;
  /** Counted decisions within the last N minutes, per N of the VELOCITY rules (this request excluded). */
  recentCount: ReadonlyMap<number, number>;
  /** Whether the subject used this card or account before; undefined when the request names none. */
  beneficiaryKnown: boolean | undefined;
}

/** Evaluates one rule; the fired record, or undefined. Thresholds are inclusive (>=), and "today" includes this request. */
export function evaluateRule(rule: Rule, f: Figures): FiredRule | undefined {
  const fired = (detail: string): FiredRule => ({ ruleId: rule.id, name: rule.name, type: rule.type, level: rule.level, version: rule.version, detail });
  const money = (minor: bigint) => `${formatMinor(minor, f.currency)} ${f.currency}`;
  switch (rule.type) {
    case 'AMOUNT_THRESHOLD':
      if (rule.currency === f.currency && f.amountMinor >= rule.thresholdMinor) {
        return fired(`amount ${money(f.amountMinor)} >= ${money(rule.thresholdMinor)}`);
      }
      return undefined;
    case 'DAILY_AMOUNT': {
      const total = f.todayAmountMinor + f.amountMinor;
      if (rule.currency === f.currency && total >= rule.thresholdMinor) {
        return fired(`today's amount with this one ${money(total)} >= ${money(rule.thresholdMinor)}`);
      }
      return undefined;
    }
    case 'DAILY_COUNT': {
      const total = f.todayCount + 1;
      return total >= rule.count ? fired(`today's requests with this one ${total} >= ${rule.count}`) : undefined;
    }
    case 'VELOCITY': {
      const total = (f.recentCount.get(rule.windowMinutes) ?? 0) + 1;
      return total >= rule.count ? fired(`${total} requests within ${rule.windowMinutes} minutes >= ${rule.count}`) : undefined;
    }
    case 'NEW_BENEFICIARY':
      return f.beneficiaryKnown === false ? fired('first use of this card or account by this subject') : undefined;
  }
}

export function evaluateRules(rules: readonly Rule[], figures: Figures): FiredRule[] {
  return rules.flatMap((rule) => {
    const fired = rule.enabled ? evaluateRule(rule, figures) : undefined;
    return fired ? [fired] : [];
  });
}

/** The highest level any fired rule raises to; LOW when none fired. */
export function levelOf(fired: readonly FiredRule[]): RiskLevel {
  let index = 0;
  for (const rule of fired) index = Math.max(index, riskLevels.indexOf(rule.level));
  return riskLevels[index]!;
}

/**
 * What the person must pass at each level (SPEC 6, seed 003): LOW, the
 * transaction password at the bank only; MEDIUM, also an SMS code; HIGH, also
 * a manual review; REJECT, nothing: the request is refused.
 */
export function verificationFor(level: RiskLevel): VerificationStep[] {
  switch (level) {
    case 'LOW':
      return ['TRANSACTION_PASSWORD'];
    case 'MEDIUM':
      return ['TRANSACTION_PASSWORD', 'SMS_CODE'];
    case 'HIGH':
      return ['TRANSACTION_PASSWORD', 'SMS_CODE', 'MANUAL_REVIEW'];
    case 'REJECT':
      return [];
  }
}

/**
 * Where the risk day containing `now` starts, for a day that begins at
 * midnight `offsetMinutes` east of UTC (480: China, no daylight saving).
 */
export function riskDayStart(now: Date, offsetMinutes: number): Date {
  const DAY_MS = 86_400_000;
  const offsetMs = offsetMinutes * 60_000;
  return new Date(Math.floor((now.getTime() + offsetMs) / DAY_MS) * DAY_MS - offsetMs);
}

/** Card, account and ID numbers as stored and compared: upper case, no spaces or dashes. */
export function normalizeNumber(value: string): string {
  return value.replace(/[\s-]/g, '').toUpperCase();
}

/** 6222020000001234 -> 6222********1234; short values keep only their last two characters. */
export function maskNumber(value: string): string {
  if (value.length > 8) return `${value.slice(0, 4)}${'*'.repeat(value.length - 8)}${value.slice(-4)}`;
  return `${'*'.repeat(Math.max(0, value.length - 2))}${value.slice(-2)}`;
}
